/**
 * The layout tree of one window: split nodes (row = side by side, col =
 * stacked) whose leaves are panes. Pure functions; the host applies them and
 * every participant renders the result.
 */
export type PaneId = number;
export type SplitDir = 'row' | 'col';
export type DockPosition = 'left' | 'right' | 'top' | 'bottom' | 'center';

export type Layout =
  | { kind: 'pane'; pane: PaneId }
  | { kind: 'split'; id: number; dir: SplitDir; sizes: number[]; children: Layout[] };

export interface Rect { x: number; y: number; cols: number; rows: number }

/** Smallest share a child may be given by a resize, as a fraction of its split. */
export const MIN_SHARE = 0.05;

export function leaf(pane: PaneId): Layout {
  return { kind: 'pane', pane };
}

export function panesOf(layout: Layout): PaneId[] {
  return layout.kind === 'pane' ? [layout.pane] : layout.children.flatMap(panesOf);
}

export function containsPane(layout: Layout, pane: PaneId): boolean {
  return layout.kind === 'pane' ? layout.pane === pane : layout.children.some((c) => containsPane(c, pane));
}

export function findSplit(layout: Layout, id: number): Extract<Layout, { kind: 'split' }> | undefined {
  if (layout.kind === 'pane') return undefined;
  if (layout.id === id) return layout;
  for (const c of layout.children) {
    const f = findSplit(c, id);
    if (f) return f;
  }
  return undefined;
}

const normalize = (sizes: number[]) => {
  const sum = sizes.reduce((a, b) => a + b, 0);
  return sum > 0 ? sizes.map((s) => s / sum) : sizes.map(() => 1 / sizes.length);
};

/**
 * Put `node` beside the leaf `target`: before it (left/top) or after it.
 * Joins the target's parent when that parent already splits the same way,
 * halving the target's share (what a person expects when splitting twice).
 */
export function insertBeside(layout: Layout, target: PaneId, node: Layout, dir: SplitDir, before: boolean, newSplitId: number): Layout {
  if (layout.kind === 'pane') {
    if (layout.pane !== target) return layout;
    return { kind: 'split', id: newSplitId, dir, sizes: [0.5, 0.5], children: before ? [node, layout] : [layout, node] };
  }
  const idx = layout.children.findIndex((c) => c.kind === 'pane' && c.pane === target);
  if (idx >= 0 && layout.dir === dir) {
    const children = layout.children.slice();
    const sizes = layout.sizes.slice();
    const half = sizes[idx]! / 2;
    const at = before ? idx : idx + 1;
    sizes[idx] = half;
    children.splice(at, 0, node);
    sizes.splice(at, 0, half);
    return { ...layout, children, sizes };
  }
  return { ...layout, children: layout.children.map((c) => insertBeside(c, target, node, dir, before, newSplitId)) };
}

/** Remove a pane; its share goes to its neighbours. Returns null when the window is left empty. */
export function removePane(layout: Layout, pane: PaneId): Layout | null {
  if (layout.kind === 'pane') return layout.pane === pane ? null : layout;
  const children: Layout[] = [];
  const sizes: number[] = [];
  layout.children.forEach((c, i) => {
    const r = removePane(c, pane);
    if (r) {
      children.push(r);
      sizes.push(layout.sizes[i]!);
    }
  });
  if (children.length === 0) return null;
  if (children.length === 1) return children[0]!;
  return { ...layout, children, sizes: normalize(sizes) };
}

export function swapPanes(layout: Layout, a: PaneId, b: PaneId): Layout {
  if (layout.kind === 'pane') {
    if (layout.pane === a) return leaf(b);
    if (layout.pane === b) return leaf(a);
    return layout;
  }
  return { ...layout, children: layout.children.map((c) => swapPanes(c, a, b)) };
}

/** Dock `pane` on an edge of `target` (both in this layout), or swap on the centre. */
export function dockPane(layout: Layout, pane: PaneId, target: PaneId, position: DockPosition, newSplitId: number): Layout {
  if (pane === target) return layout;
  if (position === 'center') return swapPanes(layout, pane, target);
  const without = removePane(layout, pane);
  if (!without) return layout;
  const dir: SplitDir = position === 'left' || position === 'right' ? 'row' : 'col';
  return insertBeside(without, target, leaf(pane), dir, position === 'left' || position === 'top', newSplitId);
}

/** Shares that sum to 1 with each at least MIN_SHARE (the rest scaled down to make room). */
export function withMinShare(sizes: number[]): number[] {
  if (sizes.length * MIN_SHARE >= 1) return sizes.map(() => 1 / sizes.length);
  let s = normalize(sizes);
  for (let i = 0; i < sizes.length; i++) {
    const low = s.map((v) => v < MIN_SHARE);
    if (!low.includes(true)) break;
    const fixed = low.filter(Boolean).length * MIN_SHARE;
    const free = s.reduce((a, v, j) => (low[j] ? a : a + v), 0);
    s = s.map((v, j) => (low[j] ? MIN_SHARE : (v * (1 - fixed)) / free));
  }
  return s;
}

/** Replace a split's sizes (fractions, renormalised, each at least MIN_SHARE). */
export function resizeSplit(layout: Layout, splitId: number, sizes: number[]): Layout {
  if (layout.kind === 'pane') return layout;
  if (layout.id === splitId) return { ...layout, sizes: withMinShare(sizes) };
  return { ...layout, children: layout.children.map((c) => resizeSplit(c, splitId, sizes)) };
}

/**
 * Divide `n` cells between children by their shares, leaving one cell for each
 * border between them; every child gets at least one cell.
 */
export function divide(total: number, sizes: number[]): number[] {
  const avail = Math.max(sizes.length, total - (sizes.length - 1));
  const out = sizes.map((s) => Math.max(1, Math.floor(s * avail)));
  let rest = avail - out.reduce((a, b) => a + b, 0);
  for (let i = out.length - 1; rest !== 0 && i >= 0; i--) {
    const d = rest > 0 ? rest : Math.max(rest, 1 - out[i]!);
    out[i]! += d;
    rest -= d;
  }
  return out;
}

/** Cell rectangles of every pane when the window is `cols` x `rows` (tmux-style 1-cell borders). */
export function geometry(layout: Layout, cols: number, rows: number, x = 0, y = 0, out = new Map<PaneId, Rect>()): Map<PaneId, Rect> {
  if (layout.kind === 'pane') {
    out.set(layout.pane, { x, y, cols: Math.max(1, cols), rows: Math.max(1, rows) });
    return out;
  }
  const parts = divide(layout.dir === 'row' ? cols : rows, layout.sizes);
  let off = 0;
  layout.children.forEach((c, i) => {
    const n = parts[i]!;
    if (layout.dir === 'row') geometry(c, n, rows, x + off, y, out);
    else geometry(c, cols, n, x, y + off, out);
    off += n + 1;
  });
  return out;
}

/** Structural check for a layout received from the network. */
export function isLayout(x: unknown, depth = 0): x is Layout {
  if (depth > 32 || typeof x !== 'object' || x === null) return false;
  const l = x as Record<string, unknown>;
  if (l.kind === 'pane') return Number.isInteger(l.pane);
  if (l.kind !== 'split' || (l.dir !== 'row' && l.dir !== 'col') || !Number.isInteger(l.id)) return false;
  if (!Array.isArray(l.children) || !Array.isArray(l.sizes) || l.children.length < 2 || l.children.length !== l.sizes.length) return false;
  return l.sizes.every((s) => typeof s === 'number' && s >= 0 && s <= 1) && l.children.every((c) => isLayout(c, depth + 1));
}
