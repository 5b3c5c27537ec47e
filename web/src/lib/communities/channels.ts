/**
 * The channel sidebar's order: channels without a category first, then each category with its
 * channels, each sorted by position then id (as the api worker's compareChannels). Moving a
 * channel gives a new tree whose flat order is the body of PUT .../channels/order.
 */
import type { Channel } from "$shared/communities";

export interface CategoryNode {
  category: Channel;
  children: Channel[];
}

export interface ChannelTree {
  /** Channels in no category. */
  top: Channel[];
  categories: CategoryNode[];
}

function compare(a: Channel, b: Channel): number {
  return a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function channelTree(channels: readonly Channel[]): ChannelTree {
  const sorted = [...channels].sort(compare);
  const categories = sorted.filter((c) => c.kind === "category").map((category) => ({ category, children: [] as Channel[] }));
  const byId = new Map(categories.map((n) => [n.category.id, n]));
  const top: Channel[] = [];
  for (const c of sorted) {
    if (c.kind === "category") continue;
    const parent = c.parentId ? byId.get(c.parentId) : undefined;
    if (parent) parent.children.push(c);
    else top.push(c);
  }
  return { top, categories };
}

/** Every channel in display order with its parent, as PUT /api/communities/:id/channels/order takes it. */
export function flatOrder(tree: ChannelTree): { id: string; parentId: string | null }[] {
  const out: { id: string; parentId: string | null }[] = tree.top.map((c) => ({ id: c.id, parentId: null }));
  for (const n of tree.categories) {
    out.push({ id: n.category.id, parentId: null });
    for (const c of n.children) out.push({ id: c.id, parentId: n.category.id });
  }
  return out;
}

/** The first text channel in display order. */
export function firstTextChannel(channels: readonly Channel[]): Channel | undefined {
  const tree = channelTree(channels);
  return [...tree.top, ...tree.categories.flatMap((n) => n.children)].find((c) => c.kind === "text");
}

function clone(tree: ChannelTree): ChannelTree {
  return { top: [...tree.top], categories: tree.categories.map((n) => ({ category: n.category, children: [...n.children] })) };
}

/** Where a dragged channel goes. */
export type DropTarget =
  /** Before this channel (a non-category), in its list. */
  | { before: string }
  /** At the end of this category, or of the uncategorized list for null. */
  | { end: string | null }
  /** Before this category (only for categories). */
  | { beforeCategory: string }
  /** After the last category (only for categories). */
  | { endCategories: true };

function listOf(tree: ChannelTree, parentId: string | null): Channel[] | undefined {
  if (parentId === null) return tree.top;
  return tree.categories.find((n) => n.category.id === parentId)?.children;
}

function removeChannel(tree: ChannelTree, id: string): Channel | undefined {
  for (const list of [tree.top, ...tree.categories.map((n) => n.children)]) {
    const i = list.findIndex((c) => c.id === id);
    if (i >= 0) return list.splice(i, 1)[0];
  }
  return undefined;
}

/** The tree after dropping `id` on `target`, or null when nothing would change or it is not allowed. */
export function dropChannel(tree: ChannelTree, id: string, target: DropTarget): ChannelTree | null {
  const next = clone(tree);
  const isCategory = next.categories.some((n) => n.category.id === id);
  if (isCategory) {
    const i = next.categories.findIndex((n) => n.category.id === id);
    const [node] = next.categories.splice(i, 1);
    if (!node) return null;
    if ("beforeCategory" in target) {
      if (target.beforeCategory === id) return null;
      const j = next.categories.findIndex((n) => n.category.id === target.beforeCategory);
      if (j < 0) return null;
      next.categories.splice(j, 0, node);
    } else if ("endCategories" in target) {
      next.categories.push(node);
    } else return null;
    return same(tree, next) ? null : next;
  }
  if ("beforeCategory" in target || "endCategories" in target) return null;
  if ("before" in target && target.before === id) return null;
  const moved = removeChannel(next, id);
  if (!moved) return null;
  if ("before" in target) {
    for (const list of [next.top, ...next.categories.map((n) => n.children)]) {
      const j = list.findIndex((c) => c.id === target.before);
      if (j >= 0) {
        list.splice(j, 0, moved);
        return same(tree, next) ? null : next;
      }
    }
    return null;
  }
  const list = listOf(next, target.end);
  if (!list) return null;
  list.push(moved);
  return same(tree, next) ? null : next;
}

/**
 * The keyboard alternative to dragging: one step up or down. A channel at the edge of its
 * category moves into the neighbouring category (or out of the first one); a category swaps
 * with its neighbour.
 */
export function moveChannel(tree: ChannelTree, id: string, dir: -1 | 1): ChannelTree | null {
  const next = clone(tree);
  const ci = next.categories.findIndex((n) => n.category.id === id);
  if (ci >= 0) {
    const j = ci + dir;
    if (j < 0 || j >= next.categories.length) return null;
    const a = next.categories[ci]!;
    next.categories[ci] = next.categories[j]!;
    next.categories[j] = a;
    return next;
  }
  // The lists in display order: uncategorized, then each category's.
  const lists: { parentId: string | null; list: Channel[] }[] = [
    { parentId: null, list: next.top },
    ...next.categories.map((n) => ({ parentId: n.category.id, list: n.children })),
  ];
  const li = lists.findIndex((l) => l.list.some((c) => c.id === id));
  if (li < 0) return null;
  const { list } = lists[li]!;
  const i = list.findIndex((c) => c.id === id);
  const j = i + dir;
  if (j >= 0 && j < list.length) {
    const a = list[i]!;
    list[i] = list[j]!;
    list[j] = a;
    return next;
  }
  const other = lists[li + dir];
  if (!other) return null;
  const [moved] = list.splice(i, 1);
  if (dir < 0) other.list.push(moved!);
  else other.list.unshift(moved!);
  return next;
}

function same(a: ChannelTree, b: ChannelTree): boolean {
  return JSON.stringify(flatOrder(a)) === JSON.stringify(flatOrder(b));
}

/** The tree with each channel's parent and position set as the server will after the reorder. */
export function applyOrder(channels: readonly Channel[], tree: ChannelTree): Channel[] {
  const byId = new Map(channels.map((c) => [c.id, c]));
  const counters = new Map<string | null, number>();
  const out: Channel[] = [];
  for (const o of flatOrder(tree)) {
    const c = byId.get(o.id);
    if (!c) continue;
    const position = counters.get(o.parentId) ?? 0;
    counters.set(o.parentId, position + 1);
    out.push({ ...c, parentId: o.parentId, position });
  }
  return out;
}
