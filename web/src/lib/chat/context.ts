/**
 * What every part of a channel's chat shares: who is viewing, the members' names and colours,
 * permissions, and the actions a message row can ask for. Set by ChannelView as a context.
 */
import { getContext, setContext } from "svelte";
import type { Message } from "$shared/chat";
import type { MyThread } from "$shared/threads";
import type { MentionNames } from "$lib/markdown/render";
import type { MentionRole } from "./mentions";

export interface ChatMember {
  id: string;
  username: string;
  displayName: string;
  nickname: string | null;
  /** 0xRRGGBB of the member's top coloured role, or null. */
  color: number | null;
}

export interface ChatMe {
  id: string;
  username: string;
  displayName: string;
}

export interface ChatPerms {
  send: boolean;
  attach: boolean;
  react: boolean;
  readHistory: boolean;
  mentionEveryone: boolean;
  manageMessages: boolean;
  /** Pinning: MANAGE_MESSAGES in a community, anyone in a DM. */
  pin: boolean;
}

export interface ChatActions {
  reply(m: Message): void;
  startEdit(m: Message): void;
  requestDelete(m: Message, immediately: boolean): void;
  togglePin(m: Message): void;
  toggleReaction(m: Message, emoji: string): void;
  openEmojiPicker(anchor: HTMLElement, onpick: (emoji: string) => void): void;
  /** Opens a person's profile card by their name or avatar (docs/profiles-and-emoji.md). */
  openProfile?(userId: string, anchor: HTMLElement, fallback?: { id: string; username: string; displayName: string }): void;
  jumpToSeq(seq: number): void;
  /** Report the message to the community's moderators (docs/moderation.md); absent where there are none (DMs). */
  report?(m: Message): void;
  /** Removes one link preview from a message (its author, or MANAGE_MESSAGES). */
  removePreview(m: Message, url: string): void;
}

/** Threads of the channel (lib/threads; text channels of a community only, never inside a thread). */
export interface ChatThreads {
  /** The thread started from this message, if any. */
  of(messageId: string): MyThread | undefined;
  /** CREATE_THREADS (and READ_HISTORY) here. */
  readonly canCreate: boolean;
  /** Opens the message's thread beside the chat, or the form to start one. */
  open(m: Message): void;
}

export interface ChatContext {
  readonly me: ChatMe;
  readonly channelId: string;
  readonly communityId: string | null;
  readonly perms: ChatPerms;
  readonly names: MentionNames;
  readonly locale: string;
  readonly members: readonly ChatMember[];
  /** The community's roles, for role mentions (none in a DM). */
  readonly roles: readonly MentionRole[];
  /** Id of the message being edited inline, if any. */
  readonly editingId: string | null;
  member(id: string): ChatMember | undefined;
  /** How a user is shown: nickname, else the member's or the message's display name. */
  nameOf(userId: string, fallback?: string): string;
  colorOf(userId: string): string | null;
  actions: ChatActions;
  finishEdit(m: Message, content: string | null): void;
  readonly threads?: ChatThreads | null;
}

const KEY = Symbol("woxly.chat");

export function setChatContext(ctx: ChatContext): void {
  setContext(KEY, ctx);
}

export function chatContext(): ChatContext {
  return getContext<ChatContext>(KEY);
}

/** `#rrggbb` for a role colour integer. */
export function roleColor(color: number | null): string | null {
  return color === null ? null : `#${color.toString(16).padStart(6, "0")}`;
}
