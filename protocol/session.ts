/**
 * The shared session model (tmux's): ordered, named windows, each with a
 * layout tree of panes; participants with presence. The host owns it; every
 * participant receives the whole state after each change (it is small).
 */
import { ErrorCode, PairmuxError } from './errors.js';
import type { DockPosition, Layout, PaneId } from './layout.js';

export type WindowId = number;
export type ParticipantId = string;
export type Permission = 'control' | 'view';

export interface WindowState {
  id: WindowId;
  name: string;
  layout: Layout;
  activePane: PaneId;
}

export interface PaneState {
  id: PaneId;
  window: WindowId;
  cols: number;
  rows: number;
  title: string;
}

export interface Participant {
  id: ParticipantId;
  name: string;
  color: string;
  role: 'host' | 'guest';
  permission: Permission;
  /** Which window/pane they are looking at. */
  focus?: { window: WindowId; pane: PaneId };
  /** ms since epoch (host clock) of their last keystroke, if any. */
  lastInputAt?: number;
}

export interface SessionState {
  /** Increases by one with every applied change; commands are applied in this order. */
  version: number;
  windows: WindowState[];
  activeWindow: WindowId;
  panes: PaneState[];
  participants: Participant[];
  /** The session's size in cells (tmux window-size "latest": the client that last typed or resized). */
  cols: number;
  rows: number;
}

/** Pane-level events that are not state: they are reported once. */
export type SessionEvent =
  | { type: 'pane-exited'; pane: PaneId; window: WindowId; exitCode: number; signal?: number }
  | { type: 'participant-joined'; participant: ParticipantId; name: string }
  | { type: 'participant-left'; participant: ParticipantId; name: string };

export type SplitDirection = 'h' | 'v';

export type Command =
  | { type: 'new-window'; name?: string }
  | { type: 'rename-window'; window: WindowId; name: string }
  | { type: 'close-window'; window: WindowId }
  | { type: 'split-pane'; pane: PaneId; direction: SplitDirection }
  | { type: 'close-pane'; pane: PaneId }
  | { type: 'move-pane'; pane: PaneId; target: PaneId; position: DockPosition }
  | { type: 'resize-split'; window: WindowId; split: number; sizes: number[] }
  | { type: 'select-window'; window: WindowId }
  | { type: 'select-pane'; pane: PaneId }
  | { type: 'send-keys'; pane: PaneId; keys: string }
  | { type: 'resize-client'; cols: number; rows: number };

export type CommandType = Command['type'];

export const Limits = {
  maxWindowName: 64,
  maxSendKeys: 64 * 1024,
  minCols: 1,
  maxCols: 1000,
  minRows: 1,
  maxRows: 500,
  maxSplitChildren: 64,
} as const;

const DOCK = new Set(['left', 'right', 'top', 'bottom', 'center']);

function bad(message: string): never {
  throw new PairmuxError(ErrorCode.BadCommand, message);
}
const int = (v: unknown, what: string): number => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff ? (v as number) : bad(`${what} must be an id`));
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));

/** Strip control characters and bound the length of a window name. */
export function cleanName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim().slice(0, Limits.maxWindowName);
}

/** Validate a command from the network. Throws E_BAD_COMMAND naming what is wrong. */
export function parseCommand(x: unknown): Command {
  if (typeof x !== 'object' || x === null) bad('command must be an object');
  const c = x as Record<string, unknown>;
  switch (c.type) {
    case 'new-window':
      if (c.name !== undefined && typeof c.name !== 'string') bad('name must be a string');
      return c.name === undefined ? { type: 'new-window' } : { type: 'new-window', name: cleanName(c.name as string) };
    case 'rename-window': {
      if (typeof c.name !== 'string') bad('name must be a string');
      const name = cleanName(c.name);
      if (!name) bad('window name must not be empty');
      return { type: 'rename-window', window: int(c.window, 'window'), name };
    }
    case 'close-window':
    case 'select-window':
      return { type: c.type, window: int(c.window, 'window') };
    case 'split-pane':
      if (c.direction !== 'h' && c.direction !== 'v') bad('direction must be "h" (side by side) or "v" (stacked)');
      return { type: 'split-pane', pane: int(c.pane, 'pane'), direction: c.direction };
    case 'close-pane':
    case 'select-pane':
      return { type: c.type, pane: int(c.pane, 'pane') };
    case 'move-pane':
      if (typeof c.position !== 'string' || !DOCK.has(c.position)) bad('position must be left, right, top, bottom or center');
      return { type: 'move-pane', pane: int(c.pane, 'pane'), target: int(c.target, 'target'), position: c.position as DockPosition };
    case 'resize-split': {
      if (!Array.isArray(c.sizes) || c.sizes.length < 2 || c.sizes.length > Limits.maxSplitChildren) bad('sizes must be an array of 2 or more numbers');
      const sizes = c.sizes.map((s) => (typeof s === 'number' && Number.isFinite(s) && s >= 0 ? s : bad('sizes must be non-negative numbers')));
      if (sizes.reduce((a, b) => a + b, 0) <= 0) bad('sizes must not all be zero');
      return { type: 'resize-split', window: int(c.window, 'window'), split: int(c.split, 'split'), sizes };
    }
    case 'send-keys':
      if (typeof c.keys !== 'string') bad('keys must be a string');
      if (c.keys.length > Limits.maxSendKeys) bad(`keys must be at most ${Limits.maxSendKeys} characters`);
      return { type: 'send-keys', pane: int(c.pane, 'pane'), keys: c.keys };
    case 'resize-client': {
      if (typeof c.cols !== 'number' || typeof c.rows !== 'number' || !Number.isFinite(c.cols) || !Number.isFinite(c.rows)) bad('cols and rows must be numbers');
      return { type: 'resize-client', cols: clamp(c.cols, Limits.minCols, Limits.maxCols), rows: clamp(c.rows, Limits.minRows, Limits.maxRows) };
    }
    default:
      return bad(`unknown command "${String(c.type).slice(0, 40)}"`);
  }
}
