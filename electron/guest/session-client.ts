/**
 * A participant's replica of a session, fed by one Link: the session state,
 * and per pane a headless screen at a known byte offset. The CLI renders
 * from these screens; the desktop app forwards the same stream to xterm.js.
 * The host's own views use this class too (over a LocalLink).
 */
import { EventEmitter } from 'node:events';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import {
  FrameType, PROTOCOL_VERSION, Reassembler, decodeFrame, encodeInput, encodeJson, encodePing, encodeResync,
  type Frame, type Welcome,
} from '../../protocol/frames.js';
import { isLayout } from '../../protocol/layout.js';
import type { Command, SessionEvent, SessionState } from '../../protocol/session.js';
import { writable, type Link } from '../net/link.js';
import { Screen } from '../term/screen.js';
import { sameProof, type LinkAuth } from '../net/handshake.js';

export interface Replica {
  screen: Screen;
  /** Bytes received and written to `screen` so far. */
  offset: number;
}

export interface SessionClientEvents {
  /** The host has been asked to approve this join. */
  pending: [];
  welcome: [participant: string];
  state: [SessionState];
  /** Pane bytes at [offset, offset + data.length), already written to the replica. */
  output: [pane: number, data: Uint8Array];
  /** The pane's screen was replaced by a snapshot (join, resync): redraw from scratch. */
  reset: [pane: number, snapshot: { cols: number; rows: number; data: string }];
  resize: [pane: number, cols: number, rows: number];
  event: [SessionEvent];
  /** An error the host reported (e.g. a rejected input); fatal ones are followed by 'closed'. */
  notice: [PairmuxError];
  closed: [reason?: PairmuxError];
}

const utf8 = new TextDecoder();

/** Host errors after which the host closes the link. */
const FATAL = new Set<string>([ErrorCode.BadFrame, ErrorCode.BadVersion, ErrorCode.Denied, ErrorCode.ApprovalTimeout, ErrorCode.Kicked, ErrorCode.HandshakeFailed]);

export class SessionClient extends EventEmitter<SessionClientEvents> {
  participant: string | undefined;
  state: SessionState | undefined;
  readonly replicas = new Map<number, Replica>();
  private readonly reassembler = new Reassembler();
  private snapshotParts: { pane: number; offset: number; chunks: Uint8Array[]; size: number } | undefined;
  private outbox: Uint8Array[] = [];
  private nextCommand = 1;
  private pendingCommands = new Map<number, { resolve: () => void; reject: (e: PairmuxError) => void }>();
  private pings = new Map<number, { at: number; resolve: (ms: number) => void; reject: (e: PairmuxError) => void }>();
  private nextPing = 1;
  private closedReason: PairmuxError | undefined;
  closed = false;

  private readonly auth: LinkAuth | undefined;

  constructor(private readonly link: Link, readonly name: string, opts: { resume?: Record<string, number>; auth?: LinkAuth } = {}) {
    super();
    this.auth = opts.auth;
    const resume = opts.resume;
    link.on('message', (d) => this.onMessage(d));
    link.on('drain', () => this.flush());
    link.on('close', (e) => this.finish(this.closedReason ?? (e ? new PairmuxError(ErrorCode.Disconnected, e.message) : undefined)));
    const proof = this.auth ? this.auth.keys.proof('guest', this.auth.joinNonce, this.auth.guestFingerprint, this.auth.hostFingerprint) : undefined;
    this.send(encodeJson(FrameType.Hello, { v: PROTOCOL_VERSION, name, ...(resume ? { resume } : {}), ...(proof ? { proof } : {}) }));
  }

  /** Resolves once the first state and every pane's screen have arrived. */
  ready(timeoutMs = 15_000): Promise<void> {
    const isReady = () => this.state !== undefined && this.state.panes.every((p) => this.replicas.has(p.id));
    if (isReady()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (isReady()) done(resolve);
      };
      const onClosed = (r?: PairmuxError) => done(() => reject(r ?? new PairmuxError(ErrorCode.Disconnected, 'disconnected before the session arrived')));
      const timer = setTimeout(() => done(() => reject(new PairmuxError(ErrorCode.ConnectFailed, 'the session did not arrive in time'))), timeoutMs);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.off('state', check);
        this.off('reset', check);
        this.off('resize', check);
        this.off('closed', onClosed);
        fn();
      };
      this.on('state', check);
      this.on('reset', check);
      this.on('resize', check);
      this.on('closed', onClosed);
    });
  }

  input(pane: number, data: string | Uint8Array): void {
    this.send(encodeInput(pane, typeof data === 'string' ? new TextEncoder().encode(data) : data));
  }

  /** Send a command; resolves when the host applied it, rejects with the host's named error. */
  command(command: Command): Promise<void> {
    const id = this.nextCommand++;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new PairmuxError(ErrorCode.Disconnected, 'not connected'));
      this.pendingCommands.set(id, { resolve, reject });
      this.send(encodeJson(FrameType.Command, { id, command }));
    });
  }

  /** Round-trip time to the host in ms. */
  ping(): Promise<number> {
    const seq = this.nextPing++;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new PairmuxError(ErrorCode.Disconnected, 'not connected'));
      this.pings.set(seq, { at: performance.now(), resolve, reject });
      this.send([encodePing(FrameType.Ping, seq)]);
    });
  }

  close(): void {
    if (this.closed) return;
    this.send(encodeJson(FrameType.Bye, { reason: 'left' }));
    setTimeout(() => this.link.close(), 20).unref();
    this.finish();
  }

  private send(frames: Uint8Array[]): void {
    if (this.closed) return;
    this.outbox.push(...frames);
    this.flush();
  }

  private flush(): void {
    while (this.outbox.length && writable(this.link)) this.link.send(this.outbox.shift()!);
  }

  private onMessage(raw: Uint8Array): void {
    if (this.closed) return;
    try {
      this.handle(decodeFrame(raw));
    } catch (e) {
      // A host that sends garbage is not trusted further.
      const err = e instanceof PairmuxError ? e : new PairmuxError(ErrorCode.BadFrame, (e as Error).message);
      this.closedReason = err;
      this.link.close();
      this.finish(err);
    }
  }

  private handle(f: Frame): void {
    switch (f.type) {
      case FrameType.Output:
        return this.onOutput(f.pane, f.offset, f.data);
      case FrameType.Snapshot:
        return this.onSnapshot(f);
      case FrameType.Resize:
        return this.onResize(f.pane, f.offset, f.cols, f.rows);
      case FrameType.Pong: {
        const p = this.pings.get(f.seq);
        this.pings.delete(f.seq);
        p?.resolve(performance.now() - p.at);
        return;
      }
      case FrameType.Ping:
        this.send([encodePing(FrameType.Pong, f.seq)]);
        return;
      case FrameType.Welcome: {
        const w = this.reassembler.pushJson(f) as Welcome | undefined;
        if (!w) return;
        if (typeof w.participant !== 'string') throw new PairmuxError(ErrorCode.BadFrame, 'malformed welcome');
        if (this.auth) {
          const { keys, joinNonce, guestFingerprint, hostFingerprint } = this.auth;
          if (!sameProof(w.proof, keys.proof('host', joinNonce, guestFingerprint, hostFingerprint))) {
            throw new PairmuxError(ErrorCode.HandshakeFailed, 'key confirmation failed: the peer on this connection does not hold the invite secret');
          }
        }
        this.participant = w.participant;
        if (w.status === 'pending') this.emit('pending');
        else this.emit('welcome', w.participant);
        return;
      }
      case FrameType.State: {
        const s = this.reassembler.pushJson(f) as SessionState | undefined;
        if (!s) return;
        if (!Array.isArray(s.windows) || !Array.isArray(s.panes) || !s.windows.every((w) => isLayout(w.layout))) {
          throw new PairmuxError(ErrorCode.BadFrame, 'malformed session state');
        }
        this.state = s;
        const live = new Set(s.panes.map((p) => p.id));
        for (const [id, r] of this.replicas) {
          if (!live.has(id)) {
            r.screen.dispose();
            this.replicas.delete(id);
          }
        }
        this.emit('state', s);
        return;
      }
      case FrameType.Event: {
        const e = this.reassembler.pushJson(f) as SessionEvent | undefined;
        if (e && typeof e.type === 'string') this.emit('event', e);
        return;
      }
      case FrameType.Result: {
        const r = this.reassembler.pushJson(f) as { id: number; ok: boolean; error?: { code: ErrorCode; message: string } } | undefined;
        if (!r) return;
        const p = this.pendingCommands.get(r.id);
        this.pendingCommands.delete(r.id);
        if (r.ok) p?.resolve();
        else p?.reject(new PairmuxError(r.error?.code ?? ErrorCode.BadCommand, r.error?.message ?? 'command failed'));
        return;
      }
      case FrameType.Error: {
        const e = this.reassembler.pushJson(f) as { code: ErrorCode; message: string } | undefined;
        if (!e) return;
        const err = new PairmuxError(e.code, String(e.message));
        // The host closes the link after a fatal error; remember why, for 'closed'.
        if (FATAL.has(e.code)) this.closedReason = err;
        this.emit('notice', err);
        return;
      }
      case FrameType.Bye: {
        const b = this.reassembler.pushJson(f) as { reason?: string } | undefined;
        if (!b) return;
        this.closedReason = new PairmuxError(ErrorCode.RoomClosed, String(b.reason ?? 'the host ended the session'));
        this.link.close();
        this.finish(this.closedReason);
        return;
      }
      default:
        throw new PairmuxError(ErrorCode.BadFrame, `the host may not send frame type 0x${f.type.toString(16)}`);
    }
  }

  private onOutput(pane: number, offset: number, data: Uint8Array): void {
    const r = this.replicas.get(pane);
    if (!r) return; // not yet started (its snapshot or first resize is on the way)
    const end = offset + data.length;
    if (end <= r.offset) return; // already have it
    if (offset > r.offset) {
      // A gap: bytes were lost; ask for a fresh snapshot rather than show a wrong screen.
      this.send([encodeResync(pane)]);
      return;
    }
    const fresh = offset < r.offset ? data.subarray(r.offset - offset) : data;
    r.offset = end;
    r.screen.write(fresh);
    this.emit('output', pane, fresh);
  }

  private onResize(pane: number, offset: number, cols: number, rows: number): void {
    const r = this.replicas.get(pane);
    if (!r) {
      if (offset !== 0) return void this.send([encodeResync(pane)]);
      // A pane created after we joined: its stream starts here.
      this.replicas.set(pane, { screen: new Screen(cols, rows), offset: 0 });
      this.emit('reset', pane, { cols, rows, data: '' });
      return;
    }
    if (offset !== r.offset) return void this.send([encodeResync(pane)]);
    r.screen.resize(cols, rows);
    this.emit('resize', pane, cols, rows);
  }

  private onSnapshot(f: Extract<Frame, { type: typeof FrameType.Snapshot }>): void {
    let parts = this.snapshotParts;
    if (!parts || parts.pane !== f.pane || parts.offset !== f.offset) {
      parts = { pane: f.pane, offset: f.offset, chunks: [], size: 0 };
      this.snapshotParts = parts;
    }
    parts.size += f.data.length;
    if (parts.size > 32 * 1024 * 1024) throw new PairmuxError(ErrorCode.BadFrame, 'snapshot too large');
    parts.chunks.push(f.data.slice());
    if (!f.final) return;
    this.snapshotParts = undefined;
    const data = utf8.decode(Buffer.concat(parts.chunks));
    const old = this.replicas.get(f.pane);
    old?.screen.dispose();
    const screen = new Screen(f.cols, f.rows);
    screen.write(data);
    this.replicas.set(f.pane, { screen, offset: f.offset });
    this.emit('reset', f.pane, { cols: f.cols, rows: f.rows, data });
  }

  private finish(reason?: PairmuxError): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pendingCommands.values()) p.reject(reason ?? new PairmuxError(ErrorCode.Disconnected, 'disconnected'));
    this.pendingCommands.clear();
    for (const p of this.pings.values()) p.reject(reason ?? new PairmuxError(ErrorCode.Disconnected, 'disconnected'));
    this.pings.clear();
    this.emit('closed', reason);
  }

  dispose(): void {
    this.close();
    for (const r of this.replicas.values()) r.screen.dispose();
    this.replicas.clear();
  }
}
