/**
 * Call-stage geometry, pure: how many columns make the tiles largest for a tile count and a
 * stage size, and which tile is in focus (a pinned one, else the newest screen share).
 */

export interface Grid {
  cols: number;
  rows: number;
  /** px */
  tileWidth: number;
  /** px */
  tileHeight: number;
}

/**
 * The grid with the largest tiles of aspect `aspect` (width / height) for `count` tiles in a
 * `width` × `height` px stage with `gap` px between tiles.
 */
export function bestGrid(count: number, width: number, height: number, gap = 8, aspect = 16 / 9): Grid {
  const n = Math.max(1, count);
  let best: Grid = { cols: 1, rows: n, tileWidth: 0, tileHeight: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.max(0, (width - gap * (cols - 1)) / cols);
    const h = Math.max(0, (height - gap * (rows - 1)) / rows);
    const tileWidth = Math.min(w, h * aspect);
    if (tileWidth > best.tileWidth + 0.5) best = { cols, rows, tileWidth, tileHeight: tileWidth / aspect };
  }
  return { ...best, tileWidth: Math.floor(best.tileWidth), tileHeight: Math.floor(best.tileHeight) };
}

export interface FocusCandidate {
  /** Tile key (participant identity + source). */
  key: string;
  isScreen: boolean;
  /** When the tile's track appeared, ms (later screen shares win). */
  since: number;
}

/**
 * The tile shown large: the pinned one while it exists; else the newest screen share unless
 * the member dismissed focus (`autoFocus` false); else none (the grid).
 */
export function focusedTile(tiles: readonly FocusCandidate[], pinned: string | null, autoFocus: boolean): string | null {
  if (pinned && tiles.some((t) => t.key === pinned)) return pinned;
  if (!autoFocus) return null;
  let best: FocusCandidate | null = null;
  for (const t of tiles) if (t.isScreen && (!best || t.since > best.since)) best = t;
  return best?.key ?? null;
}
