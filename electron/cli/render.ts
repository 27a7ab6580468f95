/**
 * Draws a window's panes into a text terminal, tmux-style: each pane from its
 * replica screen (cell by cell, with colours and attributes), 1-cell borders
 * between panes (the active pane's in green), and a status line. Only rows
 * that changed since the last frame are rewritten.
 */
import { geometry, type Layout, type Rect } from '../../protocol/layout.js';
import type { SessionState } from '../../protocol/session.js';
import type { HeadlessTerminal } from '../term/screen.js';

type Cell = NonNullable<ReturnType<NonNullable<ReturnType<HeadlessTerminal['buffer']['active']['getLine']>>['getCell']>>;

const ESC = '\x1b[';

function sgrOf(c: Cell): string {
  const p: number[] = [0];
  if (c.isBold()) p.push(1);
  if (c.isDim()) p.push(2);
  if (c.isItalic()) p.push(3);
  if (c.isUnderline()) p.push(4);
  if (c.isBlink()) p.push(5);
  if (c.isInverse()) p.push(7);
  if (c.isInvisible()) p.push(8);
  if (c.isStrikethrough()) p.push(9);
  const color = (isPalette: boolean, isRgb: boolean, v: number, base: number) => {
    if (isRgb) p.push(base + 8, 2, (v >> 16) & 255, (v >> 8) & 255, v & 255);
    else if (isPalette) {
      if (v < 8) p.push(base + v);
      else if (v < 16) p.push(base + 60 + v - 8);
      else p.push(base + 8, 5, v);
    }
  };
  color(c.isFgPalette(), c.isFgRGB(), c.getFgColor(), 30);
  color(c.isBgPalette(), c.isBgRGB(), c.getBgColor(), 40);
  return `${ESC}${p.join(';')}m`;
}

/** One row of a pane as text with SGR sequences, exactly `width` cells wide. */
export function renderPaneRow(term: HeadlessTerminal, row: number, width: number, scratch?: Cell): string {
  const buf = term.buffer.active;
  const line = buf.getLine(buf.viewportY + row);
  if (!line) return ' '.repeat(width);
  let out = '';
  let last = '';
  let used = 0;
  let cell = scratch;
  for (let x = 0; x < term.cols && used < width; x++) {
    cell = line.getCell(x, cell);
    if (!cell) break;
    const w = cell.getWidth();
    if (w === 0) continue; // second half of a wide character
    if (used + w > width) break;
    const sgr = sgrOf(cell);
    if (sgr !== last) {
      out += sgr;
      last = sgr;
    }
    out += cell.getChars() || ' ';
    used += w;
  }
  if (last !== `${ESC}0m`) out += `${ESC}0m`;
  return out + ' '.repeat(Math.max(0, width - used));
}

interface Border {
  x: number;
  y: number;
  len: number;
  vertical: boolean;
  /** Panes on either side, to colour the active pane's border. */
  panes: number[];
}

function borders(layout: Layout, rect: Rect, rects: Map<number, Rect>, out: Border[] = []): Border[] {
  if (layout.kind === 'pane') return out;
  const childRects = layout.children.map((c) => boundsOf(c, rects));
  layout.children.forEach((c, i) => {
    const r = childRects[i]!;
    if (i < layout.children.length - 1) {
      const near = [...rects.entries()].filter(([, pr]) => (layout.dir === 'row' ? pr.x + pr.cols === r.x + r.cols || pr.x === r.x + r.cols + 1 : pr.y + pr.rows === r.y + r.rows || pr.y === r.y + r.rows + 1)).map(([id]) => id);
      if (layout.dir === 'row') out.push({ x: r.x + r.cols, y: rect.y, len: rect.rows, vertical: true, panes: near });
      else out.push({ x: rect.x, y: r.y + r.rows, len: rect.cols, vertical: false, panes: near });
    }
    borders(c, r, rects, out);
  });
  return out;
}

function boundsOf(layout: Layout, rects: Map<number, Rect>): Rect {
  if (layout.kind === 'pane') return rects.get(layout.pane)!;
  const rs = layout.children.map((c) => boundsOf(c, rects));
  const x = Math.min(...rs.map((r) => r.x));
  const y = Math.min(...rs.map((r) => r.y));
  return { x, y, cols: Math.max(...rs.map((r) => r.x + r.cols)) - x, rows: Math.max(...rs.map((r) => r.y + r.rows)) - y };
}

export interface Frame {
  rows: string[];
  cursor?: { x: number; y: number };
}

/**
 * Compose the active window of `state` into `cols` x `rows` (the last row is
 * the status line). Pane geometry follows the session size; a terminal
 * smaller than that shows the top-left part, a larger one shows dots, as tmux.
 */
export function composeFrame(state: SessionState, screens: Map<number, HeadlessTerminal>, cols: number, rows: number, status: string): Frame {
  const win = state.windows.find((w) => w.id === state.activeWindow) ?? state.windows[0];
  const height = rows - 1;
  const out: Frame = { rows: [] };
  if (!win) return { rows: [...Array.from({ length: height }, () => ' '.repeat(cols)), status] };
  const rects = geometry(win.layout, state.cols, state.rows);
  // Rows are built from segments: pane text (already SGR-coded) and border cells.
  const segments: Map<number, { x: number; text: string; width: number }[]> = new Map();
  const put = (y: number, x: number, text: string, width: number) => {
    if (y >= height || x >= cols) return;
    const list = segments.get(y) ?? [];
    list.push({ x, text, width });
    segments.set(y, list);
  };
  for (const [id, r] of rects) {
    const term = screens.get(id);
    for (let y = 0; y < r.rows; y++) {
      const width = Math.min(r.cols, cols - r.x);
      if (width <= 0) break;
      put(r.y + y, r.x, term ? renderPaneRow(term, y, width) : ' '.repeat(width), width);
    }
    if (id === win.activePane && term) {
      const b = term.buffer.active;
      out.cursor = { x: r.x + Math.min(b.cursorX, r.cols - 1), y: r.y + b.cursorY };
    }
  }
  const active = win.activePane;
  for (const b of borders(win.layout, { x: 0, y: 0, cols: state.cols, rows: state.rows }, rects)) {
    const hot = b.panes.includes(active);
    const color = hot ? `${ESC}32m` : '';
    for (let i = 0; i < b.len; i++) {
      const x = b.vertical ? b.x : b.x + i;
      const y = b.vertical ? b.y + i : b.y;
      put(y, x, `${color}${b.vertical ? '│' : '─'}${ESC}0m`, 1);
    }
  }
  for (let y = 0; y < height; y++) {
    const segs = (segments.get(y) ?? []).sort((a, b) => a.x - b.x);
    let line = '';
    let at = 0;
    for (const s of segs) {
      if (s.x < at) continue;
      if (s.x > at) line += ' '.repeat(s.x - at);
      line += s.text;
      at = s.x + s.width;
    }
    // Outside the session's size (another participant's smaller terminal sets it): dots, as tmux.
    const inside = y < state.rows ? Math.max(0, Math.min(cols, state.cols) - at) : 0;
    line += ' '.repeat(inside) + '·'.repeat(Math.max(0, cols - at - inside));
    out.rows.push(line);
  }
  out.rows.push(status);
  return out;
}

/** Escape sequences that turn `prev` into `next` on the terminal (rows that changed only). */
export function diffFrame(prev: Frame | undefined, next: Frame): string {
  let s = '';
  next.rows.forEach((row, y) => {
    if (prev?.rows[y] !== row) s += `${ESC}${y + 1};1H${row}${ESC}0m`;
  });
  if (next.cursor) s += `${ESC}${next.cursor.y + 1};${next.cursor.x + 1}H${ESC}?25h`;
  else s += `${ESC}?25l`;
  return s;
}
