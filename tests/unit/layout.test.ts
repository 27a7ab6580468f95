import { describe, it, expect } from 'vitest';
import {
  MIN_SHARE, containsPane, divide, dockPane, findSplit, geometry, insertBeside, isLayout, leaf, panesOf,
  removePane, resizeSplit, swapPanes,
  type Layout, type Rect, type SplitDir,
} from '../../protocol/layout.js';

const split = (id: number, dir: SplitDir, children: Layout[], sizes?: number[]): Layout => ({
  kind: 'split', id, dir, sizes: sizes ?? children.map(() => 1 / children.length), children,
});

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function asSplit(l: Layout | null): Extract<Layout, { kind: 'split' }> {
  expect(l).not.toBeNull();
  expect(l!.kind).toBe('split');
  return l as Extract<Layout, { kind: 'split' }>;
}

/** Every split's sizes sum to 1 and match its children. */
function expectNormalised(l: Layout): void {
  if (l.kind === 'pane') return;
  expect(l.sizes.length).toBe(l.children.length);
  expect(sum(l.sizes)).toBeCloseTo(1, 10);
  l.children.forEach(expectNormalised);
}

/** Rects do not overlap, stay inside the window and, with the borders, fill it exactly. */
function expectTiling(layout: Layout, rects: Map<number, Rect>, cols: number, rows: number): void {
  expect([...rects.keys()].sort((a, b) => a - b)).toEqual(panesOf(layout).sort((a, b) => a - b));
  const grid: number[][] = Array.from({ length: rows }, () => new Array<number>(cols).fill(-1));
  for (const [pane, r] of rects) {
    expect(r.cols).toBeGreaterThanOrEqual(1);
    expect(r.rows).toBeGreaterThanOrEqual(1);
    expect(r.x).toBeGreaterThanOrEqual(0);
    expect(r.y).toBeGreaterThanOrEqual(0);
    expect(r.x + r.cols).toBeLessThanOrEqual(cols);
    expect(r.y + r.rows).toBeLessThanOrEqual(rows);
    for (let y = r.y; y < r.y + r.rows; y++) {
      for (let x = r.x; x < r.x + r.cols; x++) {
        expect(grid[y]![x], `cell ${x},${y} claimed by ${grid[y]![x]} and ${pane}`).toBe(-1);
        grid[y]![x] = pane;
      }
    }
  }
  // Structurally: each split's children sit side by side (row) or stacked
  // (col), separated by exactly one border cell, together spanning the
  // split's whole area; so the panes and borders cover the window.
  checkNode(layout, rects, { x: 0, y: 0, cols, rows });
}

function bbox(l: Layout, rects: Map<number, Rect>): Rect {
  const rs = panesOf(l).map((p) => rects.get(p)!);
  const x = Math.min(...rs.map((r) => r.x));
  const y = Math.min(...rs.map((r) => r.y));
  return { x, y, cols: Math.max(...rs.map((r) => r.x + r.cols)) - x, rows: Math.max(...rs.map((r) => r.y + r.rows)) - y };
}

function checkNode(l: Layout, rects: Map<number, Rect>, area: Rect): void {
  expect(bbox(l, rects)).toEqual(area);
  if (l.kind === 'pane') return;
  const boxes = l.children.map((c) => bbox(c, rects));
  const row = l.dir === 'row';
  let pos = row ? area.x : area.y;
  boxes.forEach((b, i) => {
    expect(row ? b.x : b.y, `child ${i} of split ${l.id} starts one cell after the previous`).toBe(pos);
    expect(row ? [b.y, b.rows] : [b.x, b.cols]).toEqual(row ? [area.y, area.rows] : [area.x, area.cols]);
    pos += (row ? b.cols : b.rows) + 1;
    checkNode(l.children[i]!, rects, b);
  });
  expect(pos - 1, `split ${l.id} spans its whole area`).toBe(row ? area.x + area.cols : area.y + area.rows);
}

describe('insertBeside', () => {
  it('splits a lone pane into a new split with equal halves', () => {
    const l = asSplit(insertBeside(leaf(1), 1, leaf(2), 'row', false, 10));
    expect(l.id).toBe(10);
    expect(l.dir).toBe('row');
    expect(l.sizes).toEqual([0.5, 0.5]);
    expect(panesOf(l)).toEqual([1, 2]);
  });

  it('puts the new pane before the target when asked', () => {
    expect(panesOf(insertBeside(leaf(1), 1, leaf(2), 'col', true, 10))).toEqual([2, 1]);
  });

  it('joins the parent split of the same direction and halves the target share', () => {
    const base = split(1, 'row', [leaf(1), leaf(2)], [0.6, 0.4]);
    const after = asSplit(insertBeside(base, 1, leaf(3), 'row', false, 99));
    expect(after.id).toBe(1);
    expect(panesOf(after)).toEqual([1, 3, 2]);
    expect(after.sizes).toEqual([0.3, 0.3, 0.4]);
    expect(after.children.every((c) => c.kind === 'pane')).toBe(true);
    expect(findSplit(after, 99)).toBeUndefined();

    const before = asSplit(insertBeside(base, 2, leaf(3), 'row', true, 99));
    expect(panesOf(before)).toEqual([1, 3, 2]);
    expect(before.sizes).toEqual([0.6, 0.2, 0.2]);
    expectNormalised(before);
  });

  it('nests a new split when the parent splits the other way', () => {
    const base = split(1, 'row', [leaf(1), leaf(2)], [0.6, 0.4]);
    const out = asSplit(insertBeside(base, 2, leaf(3), 'col', false, 7));
    expect(out.sizes).toEqual([0.6, 0.4]);
    const nested = asSplit(out.children[1]!);
    expect(nested.id).toBe(7);
    expect(nested.dir).toBe('col');
    expect(nested.sizes).toEqual([0.5, 0.5]);
    expect(panesOf(nested)).toEqual([2, 3]);
    expect(out.children[0]).toEqual(leaf(1));
  });

  it('finds the target deep in the tree and leaves the input untouched', () => {
    const base = split(1, 'row', [leaf(1), split(2, 'col', [leaf(2), leaf(3)])]);
    const snapshot = JSON.parse(JSON.stringify(base)) as Layout;
    const out = insertBeside(base, 3, leaf(4), 'col', true, 5);
    expect(panesOf(out)).toEqual([1, 2, 4, 3]);
    const inner = asSplit(findSplit(out, 2)!);
    expect(inner.sizes).toEqual([0.5, 0.25, 0.25]);
    expect(base).toEqual(snapshot);
  });

  it('returns the layout unchanged when the target is absent', () => {
    const base = split(1, 'row', [leaf(1), leaf(2)]);
    expect(insertBeside(base, 42, leaf(3), 'row', false, 9)).toEqual(base);
    expect(insertBeside(leaf(1), 42, leaf(3), 'row', false, 9)).toEqual(leaf(1));
  });
});

describe('removePane', () => {
  it('returns null when the last pane goes', () => {
    expect(removePane(leaf(1), 1)).toBeNull();
  });

  it('leaves the layout alone when the pane is not in it', () => {
    const base = split(1, 'row', [leaf(1), leaf(2)]);
    expect(removePane(base, 9)).toEqual(base);
  });

  it('collapses a split left with a single child into that child', () => {
    expect(removePane(split(1, 'row', [leaf(1), leaf(2)]), 1)).toEqual(leaf(2));
    const nested = split(1, 'row', [leaf(1), split(2, 'col', [leaf(2), leaf(3)], [0.3, 0.7])], [0.4, 0.6]);
    const out = asSplit(removePane(nested, 2));
    expect(out.id).toBe(1);
    expect(out.children[1]).toEqual(leaf(3));
    expect(out.sizes).toEqual([0.4, 0.6]);
    expect(findSplit(out, 2)).toBeUndefined();
  });

  it('gives the removed share to the neighbours (renormalised)', () => {
    const base = split(1, 'row', [leaf(1), leaf(2), leaf(3)], [0.5, 0.25, 0.25]);
    const out = asSplit(removePane(base, 1));
    expect(panesOf(out)).toEqual([2, 3]);
    expect(out.sizes[0]).toBeCloseTo(0.5, 12);
    expect(out.sizes[1]).toBeCloseTo(0.5, 12);
    const out2 = asSplit(removePane(base, 3));
    expect(out2.sizes[0]).toBeCloseTo(2 / 3, 12);
    expect(out2.sizes[1]).toBeCloseTo(1 / 3, 12);
  });

  it('removes every pane of a tree one by one down to null', () => {
    let l: Layout | null = split(1, 'row', [leaf(1), split(2, 'col', [leaf(2), leaf(3), leaf(4)]), leaf(5)]);
    for (const p of [3, 1, 5, 2]) {
      l = removePane(l!, p);
      expect(l).not.toBeNull();
      expect(containsPane(l!, p)).toBe(false);
      expectNormalised(l!);
    }
    expect(l).toEqual(leaf(4));
    expect(removePane(l!, 4)).toBeNull();
  });
});

describe('dockPane', () => {
  const base = () => split(1, 'row', [leaf(1), leaf(2), leaf(3)]);

  it('docks left and right of the target in a row', () => {
    expect(panesOf(dockPane(base(), 3, 1, 'left', 50))).toEqual([3, 1, 2]);
    expect(panesOf(dockPane(base(), 1, 3, 'right', 50))).toEqual([2, 3, 1]);
    const out = asSplit(dockPane(base(), 1, 3, 'right', 50));
    expect(out.dir).toBe('row');
    expectNormalised(out);
  });

  it('docks top and bottom by nesting a column split around the target', () => {
    const top = asSplit(dockPane(base(), 1, 2, 'top', 50));
    expect(top.children.length).toBe(2);
    const col = asSplit(top.children[0]!);
    expect(col.id).toBe(50);
    expect(col.dir).toBe('col');
    expect(panesOf(col)).toEqual([1, 2]);

    const bottom = asSplit(dockPane(base(), 1, 2, 'bottom', 51));
    const col2 = asSplit(findSplit(bottom, 51)!);
    expect(col2.dir).toBe('col');
    expect(panesOf(col2)).toEqual([2, 1]);
    expectNormalised(bottom);
  });

  it('swaps on the centre without changing the shape', () => {
    const l = split(1, 'row', [leaf(1), split(2, 'col', [leaf(2), leaf(3)], [0.3, 0.7])], [0.4, 0.6]);
    const out = dockPane(l, 1, 3, 'center', 50);
    expect(out).toEqual(split(1, 'row', [leaf(3), split(2, 'col', [leaf(2), leaf(1)], [0.3, 0.7])], [0.4, 0.6]));
    expect(swapPanes(out, 1, 3)).toEqual(l);
  });

  it('docking a pane onto itself is a no-op for every position', () => {
    const l = base();
    for (const pos of ['left', 'right', 'top', 'bottom', 'center'] as const) {
      expect(dockPane(l, 2, 2, pos, 50)).toBe(l);
    }
  });

  it('keeps every pane exactly once', () => {
    const l = split(1, 'row', [leaf(1), split(2, 'col', [leaf(2), leaf(3)]), leaf(4)]);
    for (const pos of ['left', 'right', 'top', 'bottom', 'center'] as const) {
      for (const [p, t] of [[1, 3], [3, 1], [2, 3], [4, 2]] as const) {
        const out = dockPane(l, p, t, pos, 50);
        expect(panesOf(out).sort()).toEqual([1, 2, 3, 4]);
        expect(isLayout(out)).toBe(true);
        expectNormalised(out);
      }
    }
  });
});

describe('resizeSplit', () => {
  const base = () => split(1, 'row', [leaf(1), split(2, 'col', [leaf(2), leaf(3)]), leaf(4)]);

  it('replaces and renormalises the sizes of the named split only', () => {
    const out = resizeSplit(base(), 1, [1, 2, 1]);
    const s = asSplit(out);
    expect(s.sizes[0]).toBeCloseTo(0.25, 12);
    expect(s.sizes[1]).toBeCloseTo(0.5, 12);
    expect(s.sizes[2]).toBeCloseTo(0.25, 12);
    expect(asSplit(findSplit(out, 2)!).sizes).toEqual([0.5, 0.5]);
  });

  it('resizes a nested split', () => {
    const out = resizeSplit(base(), 2, [0.2, 0.8]);
    const inner = asSplit(findSplit(out, 2)!);
    expect(inner.sizes[0]).toBeCloseTo(0.2, 12);
    expect(inner.sizes[1]).toBeCloseTo(0.8, 12);
    expect(asSplit(out).sizes).toEqual(asSplit(base()).sizes);
  });

  it('raises tiny shares to MIN_SHARE and still sums to 1', () => {
    const s = asSplit(resizeSplit(base(), 1, [0, 0.5, 0.5]));
    expectNormalised(s);
    expect(s.sizes[0]).toBeCloseTo(MIN_SHARE, 12);
    expect(s.sizes[1]).toBeCloseTo(s.sizes[2]!, 12);
  });

  it('never leaves a share below MIN_SHARE, however lopsided the request', () => {
    for (const sizes of [[0, 1], [0, 1000], [0, 0, 1], [1e-9, 1, 1e9]]) {
      const l: Layout = { kind: 'split', id: 1, dir: 'row', sizes: sizes.map(() => 1 / sizes.length), children: sizes.map((_, i) => leaf(i + 1)) };
      const out = asSplit(resizeSplit(l, 1, sizes));
      expectNormalised(out);
      for (const v of out.sizes) expect(v).toBeGreaterThanOrEqual(MIN_SHARE - 1e-12);
    }
  });

  it('leaves a layout without that split alone', () => {
    expect(resizeSplit(base(), 77, [0.1, 0.9])).toEqual(base());
    expect(resizeSplit(leaf(1), 1, [0.1, 0.9])).toEqual(leaf(1));
  });
});

describe('divide', () => {
  it('divide(80, [0.5, 0.5]) leaves one border cell', () => {
    const parts = divide(80, [0.5, 0.5]);
    expect(parts.length).toBe(2);
    expect(sum(parts)).toBe(79);
    expect([...parts].sort()).toEqual([39, 40]);
  });

  it('parts plus borders always equal the total, and every part is at least 1', () => {
    const shapes = [[0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], [0.05, 0.9, 0.05], [0.999, 0.001], [0, 1], [0.2, 0.2, 0.2, 0.2, 0.2], [0.7, 0.7]];
    for (const sizes of shapes) {
      for (let total = 2 * sizes.length - 1; total <= 300; total++) {
        const parts = divide(total, sizes);
        expect(parts.length).toBe(sizes.length);
        expect(sum(parts) + sizes.length - 1).toBe(total);
        for (const p of parts) {
          expect(Number.isInteger(p)).toBe(true);
          expect(p).toBeGreaterThanOrEqual(1);
        }
      }
    }
  });

  it('gives parts roughly proportional to the shares', () => {
    const parts = divide(201, [0.25, 0.75]);
    expect(sum(parts)).toBe(200);
    expect(Math.abs(parts[0]! - 50)).toBeLessThanOrEqual(1);
  });

  it('still gives every part one cell when the total is too small', () => {
    const parts = divide(2, [0.3, 0.3, 0.4]);
    expect(parts).toEqual([1, 1, 1]);
  });
});

describe('geometry', () => {
  it('a single pane covers the window', () => {
    expect(geometry(leaf(7), 80, 24).get(7)).toEqual({ x: 0, y: 0, cols: 80, rows: 24 });
  });

  it('a row split leaves a one-column border', () => {
    const g = geometry(split(1, 'row', [leaf(1), leaf(2)]), 81, 24);
    const a = g.get(1)!;
    const b = g.get(2)!;
    expect(a).toEqual({ x: 0, y: 0, cols: 40, rows: 24 });
    expect(b).toEqual({ x: 41, y: 0, cols: 40, rows: 24 });
  });

  it('a col split leaves a one-row border', () => {
    const g = geometry(split(1, 'col', [leaf(1), leaf(2)], [0.25, 0.75]), 80, 41);
    expect(g.get(1)).toEqual({ x: 0, y: 0, cols: 80, rows: 10 });
    expect(g.get(2)).toEqual({ x: 0, y: 11, cols: 80, rows: 30 });
  });

  it('nested layouts tile the window without overlap', () => {
    const layouts: Layout[] = [
      split(1, 'row', [leaf(1), split(2, 'col', [leaf(2), leaf(3)])]),
      split(1, 'col', [split(2, 'row', [leaf(1), leaf(2), leaf(3)], [0.2, 0.5, 0.3]), leaf(4), split(3, 'row', [leaf(5), split(4, 'col', [leaf(6), leaf(7)])])]),
      split(1, 'row', [split(2, 'col', [leaf(1), split(3, 'row', [leaf(2), leaf(3)])]), split(4, 'col', [leaf(4), leaf(5)], [0.9, 0.1])], [0.3, 0.7]),
    ];
    for (const l of layouts) {
      for (const [cols, rows] of [[80, 24], [200, 60], [33, 17], [120, 9]] as const) {
        expectTiling(l, geometry(l, cols, rows), cols, rows);
      }
    }
  });

  it('panes built by repeated splits still tile the window', () => {
    let l: Layout = leaf(1);
    let next = 2;
    for (let i = 0; i < 8; i++) {
      const target = panesOf(l)[i % panesOf(l).length]!;
      l = insertBeside(l, target, leaf(next++), i % 2 ? 'col' : 'row', i % 3 === 0, 100 + i);
    }
    expect(panesOf(l).length).toBe(9);
    expectTiling(l, geometry(l, 160, 48), 160, 48);
  });
});

describe('isLayout', () => {
  it('accepts well-formed layouts', () => {
    expect(isLayout(leaf(1))).toBe(true);
    expect(isLayout(split(1, 'row', [leaf(1), split(2, 'col', [leaf(2), leaf(3)])]))).toBe(true);
    expect(isLayout(JSON.parse(JSON.stringify(split(1, 'col', [leaf(1), leaf(2)], [0.3, 0.7]))))).toBe(true);
  });

  it('rejects wrong kinds and non-objects', () => {
    for (const bad of [null, undefined, 1, 'pane', [], { kind: 'window', pane: 1 }, { pane: 1 }, { kind: 'pane' }, { kind: 'pane', pane: 1.5 }, { kind: 'pane', pane: '1' }]) {
      expect(isLayout(bad)).toBe(false);
    }
  });

  it('rejects splits with bad fields', () => {
    const ok = { kind: 'split', id: 1, dir: 'row', sizes: [0.5, 0.5], children: [leaf(1), leaf(2)] };
    expect(isLayout(ok)).toBe(true);
    expect(isLayout({ ...ok, dir: 'diagonal' })).toBe(false);
    expect(isLayout({ ...ok, id: 'x' })).toBe(false);
    expect(isLayout({ ...ok, id: 1.5 })).toBe(false);
    expect(isLayout({ ...ok, sizes: [1] })).toBe(false);
    expect(isLayout({ ...ok, sizes: [0.3, 0.3, 0.4] })).toBe(false);
    expect(isLayout({ ...ok, sizes: [0.5, -0.5] })).toBe(false);
    expect(isLayout({ ...ok, sizes: [0.5, 1.5] })).toBe(false);
    expect(isLayout({ ...ok, sizes: [0.5, NaN] })).toBe(false);
    expect(isLayout({ ...ok, sizes: [0.5, '0.5'] })).toBe(false);
    expect(isLayout({ ...ok, sizes: 'x' })).toBe(false);
    expect(isLayout({ ...ok, children: [leaf(1)], sizes: [1] })).toBe(false);
    expect(isLayout({ ...ok, children: [leaf(1), { kind: 'pane' }] })).toBe(false);
  });

  it('rejects trees deeper than 32 levels', () => {
    const chain = (depth: number): Layout => {
      let l: Layout = leaf(0);
      for (let i = 1; i <= depth; i++) l = split(i, i % 2 ? 'row' : 'col', [leaf(i), l]);
      return l;
    };
    expect(isLayout(chain(32))).toBe(true);
    expect(isLayout(chain(33))).toBe(false);
    expect(isLayout(chain(1000))).toBe(false);
  });
});
