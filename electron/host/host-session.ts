/**
 * The host's half of a session: the authoritative model (windows, layout,
 * panes), the participants, and every command, validated and applied here in
 * one order. Each applied change bumps `version` and every participant gets
 * the new state.
 */
import { EventEmitter } from 'node:events';
import { basename } from 'node:path';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import { encodeJson, FrameType, type Hello } from '../../protocol/frames.js';
import {
  containsPane, dockPane, findSplit, geometry, insertBeside, leaf, panesOf, removePane, resizeSplit, swapPanes,
} from '../../protocol/layout.js';
import {
  cleanName, parseCommand, type Command, type Permission, type Participant, type SessionEvent, type SessionState, type WindowState,
} from '../../protocol/session.js';
import type { LinkAuth } from '../net/handshake.js';
import type { Link } from '../net/link.js';
import { Pane } from './pane.js';
import { ParticipantConnection, type SessionPort } from './participant-connection.js';

export interface HostSessionOptions {
  hostName?: string;
  /**
   * Who may join: 'prompt' (default) holds every guest until the host answers
   * a 'join-request'; 'control' or 'view' admits everyone with that
   * permission (scripted hosts, tests).
   */
  approve?: 'prompt' | Permission;
  /** How long a join request waits for the host's answer. */
  approvalTimeoutMs?: number;
  shell?: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  cols?: number;
  rows?: number;
}

export interface JoinRequest {
  id: string;
  name: string;
}

export interface HostSessionEvents {
  state: [SessionState];
  /** A guest asks to join; answer with approve() or deny() before the timeout. */
  'join-request': [JoinRequest];
  /** A request was answered, withdrawn or timed out. */
  'join-request-closed': [id: string];
  event: [SessionEvent];
  /** The last pane is gone (tmux ends a session with its last window). */
  ended: [];
}

/** A join request the host has not answered is refused after this long. */
export const APPROVAL_TIMEOUT_MS = 120_000;

/** Participant colours, readable on dark and light backgrounds. */
export const PALETTE = ['#e5534b', '#3fb950', '#d29922', '#58a6ff', '#bc8cff', '#39c5cf', '#f778ba', '#f0883e'];

export function defaultShell(): string {
  if (process.platform === 'win32') return process.env.COMSPEC || 'powershell.exe';
  return process.env.SHELL || '/bin/bash';
}

export class HostSession extends EventEmitter<HostSessionEvents> implements SessionPort {
  private windows: WindowState[] = [];
  private panes = new Map<number, Pane>();
  private conns = new Set<ParticipantConnection>();
  private participants = new Map<string, { p: Participant; conn: ParticipantConnection; size?: { cols: number; rows: number } }>();
  private pending = new Map<string, { conn: ParticipantConnection; name: string; n: number; timer: NodeJS.Timeout }>();
  private version = 0;
  private stateCache: { version: number; frames: Uint8Array[] } | undefined;
  private nextId = 1;
  private nextParticipant = 1;
  private activeWindow = 0;
  private cols: number;
  private rows: number;
  private ended = false;
  private readonly shell: string;
  private readonly args: string[];
  private readonly cwd: string;
  private readonly env: Record<string, string>;

  constructor(private readonly opts: HostSessionOptions = {}) {
    super();
    this.shell = opts.shell ?? defaultShell();
    this.args = opts.args ?? (process.platform === 'win32' ? [] : ['-l']);
    this.cwd = opts.cwd ?? process.cwd();
    this.env = { ...(opts.env ?? (process.env as Record<string, string>)), TERM: 'xterm-256color', COLORTERM: 'truecolor', PAIRMUX: '1' };
    this.cols = opts.cols ?? 80;
    this.rows = opts.rows ?? 24;
    this.newWindow();
  }

  // ---- SessionPort (used by connections) ----

  state(): SessionState {
    return {
      version: this.version,
      windows: this.windows.map((w) => ({ ...w })),
      activeWindow: this.activeWindow,
      panes: [...this.panes.values()].map((p) => ({ id: p.id, window: this.windowOf(p.id)?.id ?? 0, cols: p.cols, rows: p.rows, title: p.title })),
      participants: [...this.participants.values()].map((x) => ({ ...x.p })),
      cols: this.cols,
      rows: this.rows,
    };
  }

  /**
   * The state as STATE frames, built once per version and shared by every
   * participant (every change goes through changed(), which bumps it).
   */
  stateFrames(): Uint8Array[] {
    if (this.stateCache?.version !== this.version) this.stateCache = { version: this.version, frames: encodeJson(FrameType.State, this.state()) };
    return this.stateCache.frames;
  }

  pane(id: number): Pane | undefined {
    return this.panes.get(id);
  }

  paneIds(): number[] {
    return [...this.panes.keys()];
  }

  request(conn: ParticipantConnection, hello: Hello): void {
    const n = this.nextParticipant++;
    const id = conn.role === 'host' ? (this.participants.has('host') ? `host${n}` : 'host') : `g${n}`;
    const name = cleanName(hello.name) || (conn.role === 'host' ? 'host' : `guest ${n}`);
    const policy = this.opts.approve ?? 'prompt';
    if (conn.role === 'host' || policy !== 'prompt') {
      this.admit(conn, id, name, n, conn.role === 'host' ? 'control' : policy === 'prompt' ? 'control' : policy);
      return;
    }
    const timer = setTimeout(() => {
      this.pending.delete(id);
      conn.fail(new PairmuxError(ErrorCode.ApprovalTimeout, 'the host did not answer your request to join in time'));
      this.emit('join-request-closed', id);
    }, this.opts.approvalTimeoutMs ?? APPROVAL_TIMEOUT_MS);
    timer.unref();
    this.pending.set(id, { conn, name, n, timer });
    conn.pending(id);
    this.emit('join-request', { id, name });
  }

  private admit(conn: ParticipantConnection, id: string, name: string, n: number, permission: Permission): void {
    const p: Participant = { id, name, color: PALETTE[(n - 1) % PALETTE.length]!, role: conn.role, permission };
    this.participants.set(p.id, { p, conn });
    conn.admitted(p);
    this.changed();
    this.broadcastEvent({ type: 'participant-joined', participant: p.id, name: p.name });
  }

  /** Join requests waiting for the host's answer. */
  joinRequests(): JoinRequest[] {
    return [...this.pending].map(([id, r]) => ({ id, name: r.name }));
  }

  /** The host lets a waiting guest in, with view-only or control permission. */
  approve(id: string, permission: Permission): void {
    const r = this.pending.get(id);
    if (!r) throw new PairmuxError(ErrorCode.BadCommand, `there is no join request ${id}`);
    clearTimeout(r.timer);
    this.pending.delete(id);
    this.emit('join-request-closed', id);
    this.admit(r.conn, id, r.name, r.n, permission);
  }

  /** The host turns a waiting guest away. */
  deny(id: string): void {
    const r = this.pending.get(id);
    if (!r) throw new PairmuxError(ErrorCode.BadCommand, `there is no join request ${id}`);
    clearTimeout(r.timer);
    this.pending.delete(id);
    this.emit('join-request-closed', id);
    r.conn.fail(new PairmuxError(ErrorCode.Denied, 'the host declined your request to join'));
  }

  /** The host removes a guest from the session. */
  kick(id: string): void {
    const entry = this.participants.get(id);
    if (!entry || entry.p.role === 'host') throw new PairmuxError(ErrorCode.BadCommand, `there is no guest ${id}`);
    entry.conn.fail(new PairmuxError(ErrorCode.Kicked, 'the host removed you from the session'));
  }

  disconnected(conn: ParticipantConnection): void {
    this.conns.delete(conn);
    for (const [rid, r] of this.pending) {
      if (r.conn !== conn) continue;
      clearTimeout(r.timer);
      this.pending.delete(rid);
      this.emit('join-request-closed', rid);
    }
    const id = conn.id;
    if (!id || this.participants.get(id)?.conn !== conn) return;
    const { p } = this.participants.get(id)!;
    this.participants.delete(id);
    this.changed();
    this.broadcastEvent({ type: 'participant-left', participant: id, name: p.name });
  }

  input(who: string, paneId: number, data: Uint8Array): void {
    const entry = this.participants.get(who);
    if (!entry) return;
    if (entry.p.permission !== 'control') throw new PairmuxError(ErrorCode.Forbidden, 'you are view-only: the host has not given you control');
    const pane = this.panes.get(paneId);
    if (!pane) throw new PairmuxError(ErrorCode.UnknownPane, `there is no pane ${paneId}`);
    pane.write(data);
    this.touch(entry);
  }

  command(who: string, raw: unknown): void {
    this.execute(who, parseCommand(raw));
  }

  // ---- the public API of the host engine ----

  /** Attach a participant's link (a guest's PeerLink, or the host's own LocalLink). */
  attach(link: Link, role: 'host' | 'guest' = 'guest', auth?: LinkAuth): ParticipantConnection {
    const conn = new ParticipantConnection(link, this, role, auth);
    this.conns.add(conn);
    return conn;
  }

  participantList(): Participant[] {
    return [...this.participants.values()].map((x) => x.p);
  }

  /** The host changes what a guest may do; enforced here on every input and command. */
  setPermission(participant: string, permission: Permission): void {
    const entry = this.participants.get(participant);
    if (!entry || entry.p.role === 'host') throw new PairmuxError(ErrorCode.BadCommand, `there is no guest ${participant}`);
    entry.p.permission = permission;
    this.changed();
  }

  /** Connection of every guest: route and round-trip time. */
  guestLinks(): { participant: string; route?: 'direct' | 'relayed'; rttMs?: number }[] {
    return [...this.participants.values()]
      .filter((x) => x.p.role === 'guest')
      .map(({ p, conn }) => {
        const route = conn.link.route();
        return { participant: p.id, ...(route ? { route } : {}), ...(conn.rttMs !== undefined ? { rttMs: Math.round(conn.rttMs * 10) / 10 } : {}) };
      });
  }

  /** Apply one command from participant `who`. Throws a PairmuxError naming what is wrong. */
  execute(who: string, cmd: Command): void {
    const entry = this.participants.get(who);
    if (!entry) throw new PairmuxError(ErrorCode.Forbidden, 'unknown participant');
    if (entry.p.permission !== 'control') throw new PairmuxError(ErrorCode.Forbidden, 'you are view-only: the host has not given you control');
    switch (cmd.type) {
      case 'new-window':
        this.newWindow(cmd.name);
        break;
      case 'rename-window':
        this.window(cmd.window).name = cmd.name;
        break;
      case 'close-window':
        for (const id of panesOf(this.window(cmd.window).layout)) this.closePane(id);
        return; // closePane reports the change
      case 'split-pane':
        this.split(cmd.pane, cmd.direction);
        break;
      case 'close-pane':
        this.paneOrThrow(cmd.pane);
        this.closePane(cmd.pane);
        return;
      case 'move-pane':
        this.movePane(cmd.pane, cmd.target, cmd.position);
        break;
      case 'resize-split': {
        const w = this.window(cmd.window);
        const split = findSplit(w.layout, cmd.split);
        if (!split) throw new PairmuxError(ErrorCode.BadCommand, `window ${w.id} has no split ${cmd.split} (the layout changed?)`);
        if (split.children.length !== cmd.sizes.length) throw new PairmuxError(ErrorCode.BadCommand, `split ${cmd.split} has ${split.children.length} parts, not ${cmd.sizes.length}`);
        w.layout = resizeSplit(w.layout, cmd.split, cmd.sizes);
        this.relayout(w);
        break;
      }
      case 'select-window':
        this.activeWindow = this.window(cmd.window).id;
        entry.p.focus = { window: this.activeWindow, pane: this.window(cmd.window).activePane };
        break;
      case 'select-pane': {
        this.paneOrThrow(cmd.pane);
        const w = this.windowOf(cmd.pane)!;
        w.activePane = cmd.pane;
        this.activeWindow = w.id;
        entry.p.focus = { window: w.id, pane: cmd.pane };
        break;
      }
      case 'send-keys':
        this.paneOrThrow(cmd.pane).write(cmd.keys);
        this.touch(entry);
        return;
      case 'resize-client':
        entry.size = { cols: cmd.cols, rows: cmd.rows };
        this.sizeOwner = who;
        this.applySize(cmd.cols, cmd.rows);
        return;
    }
    this.changed();
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    for (const r of this.pending.values()) clearTimeout(r.timer);
    this.pending.clear();
    for (const c of [...this.conns]) c.bye('the host ended the session');
    for (const p of this.panes.values()) p.dispose();
    this.panes.clear();
    this.windows = [];
  }

  // ---- internals ----

  private sizeOwner: string | undefined;

  private lastTyper: string | undefined;

  /**
   * A participant typed. Everyone is told who typed last when that changes
   * (not on every keystroke). tmux's window-size "latest": the participant who
   * typed last sets the size, if they reported one.
   */
  private touch(entry: { p: Participant; size?: { cols: number; rows: number } }): void {
    entry.p.lastInputAt = Date.now();
    const newTyper = this.lastTyper !== entry.p.id;
    this.lastTyper = entry.p.id;
    if (this.sizeOwner !== entry.p.id && entry.size) {
      this.sizeOwner = entry.p.id;
      if (this.applySize(entry.size.cols, entry.size.rows)) return; // that already told everyone
    }
    if (newTyper) this.changed();
  }

  /** Returns true if the size changed (and the new state went out). */
  private applySize(cols: number, rows: number): boolean {
    if (cols === this.cols && rows === this.rows) return false;
    this.cols = cols;
    this.rows = rows;
    for (const w of this.windows) this.relayout(w);
    this.changed();
    return true;
  }

  private changed(): void {
    this.version++;
    for (const c of this.conns) c.stateChanged();
    if (this.listenerCount('state') > 0) this.emit('state', this.state());
  }

  private broadcastEvent(e: SessionEvent): void {
    for (const c of this.conns) c.event(e);
    this.emit('event', e);
  }

  private window(id: number): WindowState {
    const w = this.windows.find((x) => x.id === id);
    if (!w) throw new PairmuxError(ErrorCode.UnknownWindow, `there is no window ${id}`);
    return w;
  }

  private windowOf(pane: number): WindowState | undefined {
    return this.windows.find((w) => containsPane(w.layout, pane));
  }

  private paneOrThrow(id: number): Pane {
    const p = this.panes.get(id);
    if (!p) throw new PairmuxError(ErrorCode.UnknownPane, `there is no pane ${id}`);
    return p;
  }

  private spawn(cols: number, rows: number): Pane {
    const pane = new Pane({ id: this.nextId++, cols, rows, shell: this.shell, args: this.args, cwd: this.cwd, env: this.env });
    this.panes.set(pane.id, pane);
    pane.on('data', () => {
      for (const c of this.conns) c.output();
    });
    pane.on('title', () => this.changed());
    pane.on('exit', (exitCode, signal) => this.onPaneExit(pane, exitCode, signal));
    for (const c of this.conns) c.addPane(pane.id);
    return pane;
  }

  private newWindow(name?: string): WindowState {
    const pane = this.spawn(this.cols, this.rows);
    const w: WindowState = { id: this.nextId++, name: name || basename(this.shell), layout: leaf(pane.id), activePane: pane.id };
    this.windows.push(w);
    this.activeWindow = w.id;
    return w;
  }

  private split(paneId: number, direction: 'h' | 'v'): void {
    this.paneOrThrow(paneId);
    const w = this.windowOf(paneId)!;
    const dir = direction === 'h' ? 'row' : 'col';
    // Size the new pty as it will be laid out, so the shell starts at its real size.
    const probe = insertBeside(w.layout, paneId, leaf(-1), dir, false, -1);
    const rect = geometry(probe, this.cols, this.rows).get(-1)!;
    const pane = this.spawn(rect.cols, rect.rows);
    w.layout = insertBeside(w.layout, paneId, leaf(pane.id), dir, false, this.nextId++);
    w.activePane = pane.id;
    this.relayout(w);
  }

  private movePane(paneId: number, target: number, position: 'left' | 'right' | 'top' | 'bottom' | 'center'): void {
    this.paneOrThrow(paneId);
    this.paneOrThrow(target);
    if (paneId === target) throw new PairmuxError(ErrorCode.BadCommand, 'a pane cannot be moved onto itself');
    const from = this.windowOf(paneId)!;
    const to = this.windowOf(target)!;
    if (from === to) {
      from.layout = dockPane(from.layout, paneId, target, position, this.nextId++);
    } else if (position === 'center') {
      from.layout = swapPanes(from.layout, paneId, target);
      to.layout = swapPanes(to.layout, paneId, target);
      if (from.activePane === paneId) from.activePane = target;
      this.relayout(from);
    } else {
      const rest = removePane(from.layout, paneId);
      if (rest) {
        from.layout = rest;
        if (from.activePane === paneId) from.activePane = panesOf(rest)[0]!;
        this.relayout(from);
      } else {
        this.windows = this.windows.filter((w) => w !== from);
      }
      const dir = position === 'left' || position === 'right' ? 'row' : 'col';
      to.layout = insertBeside(to.layout, target, leaf(paneId), dir, position === 'left' || position === 'top', this.nextId++);
    }
    to.activePane = paneId;
    this.activeWindow = to.id;
    this.relayout(to);
  }

  /** Give every pane of `w` the size its layout gives it. */
  private relayout(w: WindowState): void {
    for (const [id, r] of geometry(w.layout, this.cols, this.rows)) this.panes.get(id)?.resize(r.cols, r.rows);
  }

  private closePane(id: number): void {
    const pane = this.panes.get(id);
    if (!pane) return;
    this.dropPane(pane);
    pane.dispose();
  }

  private onPaneExit(pane: Pane, exitCode: number, signal?: number): void {
    if (!this.panes.has(pane.id)) return;
    const w = this.windowOf(pane.id);
    // Let participants receive the last bytes before the pane goes away.
    setTimeout(() => {
      if (!this.panes.has(pane.id)) return;
      this.broadcastEvent({ type: 'pane-exited', pane: pane.id, window: w?.id ?? 0, exitCode, ...(signal ? { signal } : {}) });
      this.dropPane(pane);
      pane.dispose();
    }, 50);
  }

  /** Remove a pane from the model (tmux's remain-on-exit off); an emptied window closes; no windows ends the session. */
  private dropPane(pane: Pane): void {
    this.panes.delete(pane.id);
    for (const c of this.conns) c.removePane(pane.id);
    const w = this.windowOf(pane.id);
    if (w) {
      const rest = removePane(w.layout, pane.id);
      if (rest) {
        w.layout = rest;
        if (w.activePane === pane.id) w.activePane = panesOf(rest)[0]!;
        this.relayout(w);
      } else {
        const idx = this.windows.indexOf(w);
        this.windows.splice(idx, 1);
        if (this.activeWindow === w.id && this.windows.length) this.activeWindow = this.windows[Math.min(idx, this.windows.length - 1)]!.id;
      }
    }
    if (this.windows.length === 0) {
      this.changed();
      this.emit('ended');
      this.close();
      return;
    }
    this.changed();
  }
}
