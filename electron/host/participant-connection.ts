/**
 * The host's end of one participant's link: validates what the participant
 * sends, and pumps session state, events and pane output to it without ever
 * exceeding the link's high watermark.
 *
 * Output is pulled from each pane's log at this participant's own offset, so
 * a slow participant never slows the host or anyone else; one that falls
 * behind what the log still holds gets a fresh snapshot (as tmux does).
 */
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import {
  FrameType, MAX_OUTPUT_PAYLOAD, PROTOCOL_VERSION, Reassembler, decodeFrame, encodeJson, encodeOutput,
  encodePing, encodeResize, encodeSnapshot, type Frame, type Hello, type JsonFrameType,
} from '../../protocol/frames.js';
import type { Participant, SessionEvent } from '../../protocol/session.js';
import { sameProof, type LinkAuth } from '../net/handshake.js';
import { writable, type Link } from '../net/link.js';
import type { Pane } from './pane.js';

/** What the connection needs from the session. */
export interface SessionPort {
  /** A participant said hello: admit at once, or hold it for the host's approval. */
  request(conn: ParticipantConnection, hello: Hello): void;
  /** The current state as STATE frames (shared; do not modify). */
  stateFrames(): Uint8Array[];
  pane(id: number): Pane | undefined;
  paneIds(): number[];
  input(who: string, pane: number, data: Uint8Array): void;
  command(who: string, command: unknown): void;
  disconnected(conn: ParticipantConnection, reason?: PairmuxError): void;
}

interface Cursor {
  /** Next byte offset to send. */
  offset: number;
  /** Size last told to the participant (undefined: not yet told). */
  size?: { cols: number; rows: number };
  /** A snapshot is being taken or sent; output waits until it is done. */
  snapshot?: 'taking' | Uint8Array[];
}

export class ParticipantConnection {
  participant: Participant | undefined;
  /** Display name from the hello, while waiting for approval. */
  requestedName: string | undefined;
  private helloDone = false;
  private resume: Record<string, number> = {};
  private readonly reassembler = new Reassembler();
  private control: Uint8Array[] = [];
  private stateDirty = false;
  private cursors = new Map<number, Cursor>();
  private rr = 0;
  /** The pane whose snapshot is partly sent, if any. */
  private sendingSnapshot: number | undefined;
  private scheduled = false;
  private closed = false;
  /** Last measured round trip to this participant, in ms. */
  rttMs: number | undefined;
  private pingSeq = 0;
  private pingSent = new Map<number, number>();
  private pinger: NodeJS.Timeout | undefined;

  constructor(readonly link: Link, private readonly session: SessionPort, readonly role: 'host' | 'guest', private readonly auth?: LinkAuth) {
    link.on('message', (d) => this.onMessage(d));
    link.on('drain', () => this.pump());
    link.on('close', () => this.finish());
    if (role === 'guest') {
      this.pinger = setInterval(() => this.ping(), ParticipantConnection.pingEveryMs);
      this.pinger.unref();
    }
  }

  /** How often the host measures each guest's round-trip time (shown in the participants panel). */
  static pingEveryMs = 2000;

  private ping(): void {
    const seq = ++this.pingSeq;
    this.pingSent.set(seq, performance.now());
    if (this.pingSent.size > 8) this.pingSent.delete(Math.min(...this.pingSent.keys()));
    this.enqueue([encodePing(FrameType.Ping, seq)]);
  }

  get id(): string | undefined {
    return this.participant?.id;
  }

  // ---- inbound ----

  private onMessage(raw: Uint8Array): void {
    if (this.closed) return;
    try {
      this.handle(decodeFrame(raw));
    } catch (e) {
      if (e instanceof PairmuxError && (e.code === ErrorCode.BadFrame || e.code === ErrorCode.BadVersion)) this.fail(e);
      else if (e instanceof PairmuxError) this.sendJson(FrameType.Error, e.toJSON());
      else this.fail(new PairmuxError(ErrorCode.BadFrame, `frame could not be handled: ${(e as Error).message}`));
    }
  }

  private handle(f: Frame): void {
    if (!this.helloDone) {
      if (f.type !== FrameType.Hello) throw new PairmuxError(ErrorCode.BadFrame, 'the first message must be a hello');
      const hello = this.reassembler.pushJson(f);
      if (hello === undefined) return;
      this.onHello(hello);
      return;
    }
    if (!this.participant) {
      // Waiting for the host's approval: only a goodbye is meaningful.
      if (f.type === FrameType.Bye) this.link.close();
      else if (f.type !== FrameType.Ping && f.type !== FrameType.Pong) throw new PairmuxError(ErrorCode.Forbidden, 'the host has not approved your join yet');
      return;
    }
    const who = this.participant.id;
    switch (f.type) {
      case FrameType.Input:
        this.session.input(who, f.pane, f.data);
        return;
      case FrameType.Command: {
        const msg = this.reassembler.pushJson(f) as { id?: unknown; command?: unknown } | undefined;
        if (msg === undefined) return;
        const id = Number.isInteger(msg?.id) ? (msg.id as number) : -1;
        if (id < 0) throw new PairmuxError(ErrorCode.BadFrame, 'command needs an integer id');
        try {
          this.session.command(who, msg.command);
          this.sendJson(FrameType.Result, { id, ok: true });
        } catch (e) {
          const err = e instanceof PairmuxError ? e : new PairmuxError(ErrorCode.BadCommand, (e as Error).message);
          this.sendJson(FrameType.Result, { id, ok: false, error: err.toJSON() });
        }
        return;
      }
      case FrameType.Ping:
        this.enqueue([encodePing(FrameType.Pong, f.seq)]);
        return;
      case FrameType.Pong: {
        const at = this.pingSent.get(f.seq);
        this.pingSent.delete(f.seq);
        if (at !== undefined) this.rttMs = performance.now() - at;
        return;
      }
      case FrameType.Resync:
        if (this.cursors.has(f.pane)) this.takeSnapshot(f.pane);
        return;
      case FrameType.Bye:
        this.link.close();
        return;
      default:
        throw new PairmuxError(ErrorCode.BadFrame, `a participant may not send frame type 0x${f.type.toString(16)}`);
    }
  }

  private onHello(raw: unknown): void {
    const h = raw as Partial<Hello> | null;
    if (typeof h !== 'object' || h === null || typeof h.v !== 'number') throw new PairmuxError(ErrorCode.BadFrame, 'malformed hello');
    if (h.v !== PROTOCOL_VERSION) {
      throw new PairmuxError(ErrorCode.BadVersion, `peer speaks protocol ${h.v}, this host speaks ${PROTOCOL_VERSION}: update pairmux on both sides`);
    }
    if (this.auth) {
      const { keys, joinNonce, guestFingerprint, hostFingerprint } = this.auth;
      if (!sameProof(h.proof, keys.proof('guest', joinNonce, guestFingerprint, hostFingerprint))) {
        this.fail(new PairmuxError(ErrorCode.HandshakeFailed, 'key confirmation failed: the peer on this connection does not hold the invite secret'));
        return;
      }
    }
    const resume: Record<string, number> = {};
    if (h.resume && typeof h.resume === 'object') {
      for (const [k, v] of Object.entries(h.resume).slice(0, 1024)) if (Number.isSafeInteger(v) && v >= 0) resume[k] = v;
    }
    this.helloDone = true;
    this.resume = resume;
    this.requestedName = typeof h.name === 'string' ? h.name : 'guest';
    this.session.request(this, { v: h.v, name: this.requestedName, resume });
  }

  /** The host's proof for WELCOME (key confirmation in the other direction). */
  private proof(): string | undefined {
    if (!this.auth) return undefined;
    const { keys, joinNonce, guestFingerprint, hostFingerprint } = this.auth;
    return keys.proof('host', joinNonce, guestFingerprint, hostFingerprint);
  }

  /** Tell a participant the host has been asked to approve it. */
  pending(id: string): void {
    this.sendJson(FrameType.Welcome, { v: PROTOCOL_VERSION, participant: id, status: 'pending', proof: this.proof() });
  }

  /** Approved (or the host's own view): the session and every pane's screen start flowing. */
  admitted(p: Participant): void {
    if (this.closed) return;
    this.participant = p;
    this.sendJson(FrameType.Welcome, { v: PROTOCOL_VERSION, participant: p.id, status: 'admitted', proof: this.proof() });
    this.stateDirty = true;
    for (const id of this.session.paneIds()) {
      const pane = this.session.pane(id)!;
      const at = this.resume[String(id)];
      if (at !== undefined && pane.log.has(at)) this.cursors.set(id, { offset: at });
      else this.takeSnapshot(id);
    }
    this.pump();
  }

  // ---- outbound ----

  /** A pane appeared after this participant joined: its whole output is in the log from 0. */
  addPane(id: number): void {
    if (!this.participant || this.cursors.has(id)) return;
    this.cursors.set(id, { offset: 0 });
  }

  removePane(id: number): void {
    this.cursors.delete(id);
  }

  stateChanged(): void {
    if (!this.participant) return;
    this.stateDirty = true;
    this.schedule();
  }

  event(e: SessionEvent): void {
    if (!this.participant) return;
    this.sendJson(FrameType.Event, e);
  }

  /** Output was appended to a pane's log. */
  output(): void {
    this.schedule();
  }

  sendJson(type: JsonFrameType, value: unknown): void {
    this.enqueue(encodeJson(type, value));
  }

  private enqueue(frames: Uint8Array[]): void {
    if (this.closed) return;
    this.control.push(...frames);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private takeSnapshot(id: number): void {
    const pane = this.session.pane(id);
    if (!pane || this.sendingSnapshot === id) return; // a fresh snapshot is already on its way
    const cursor: Cursor = { offset: 0, snapshot: 'taking' };
    this.cursors.set(id, cursor);
    pane.snapshot().then((s) => {
      if (this.cursors.get(id) !== cursor) return;
      cursor.offset = s.offset;
      cursor.size = { cols: s.cols, rows: s.rows };
      cursor.snapshot = encodeSnapshot(id, s.offset, s.cols, s.rows, s.data);
      this.pump();
    }, () => this.cursors.delete(id));
  }

  /** Send while the link is below its high watermark: control first, then panes round-robin. */
  pump(): void {
    if (this.closed) return;
    while (writable(this.link)) {
      if (this.control.length) {
        this.link.send(this.control.shift()!);
        continue;
      }
      if (!this.participant) break; // nothing but control frames before approval
      if (this.stateDirty) {
        this.stateDirty = false;
        this.control.push(...this.session.stateFrames());
        continue;
      }
      if (!this.sendPaneFrame()) break;
    }
  }

  private sendPaneFrame(): boolean {
    const ids = [...this.cursors.keys()];
    const at = this.rr % Math.max(1, ids.length);
    // Snapshot frames of two panes must not interleave: finish one before another.
    const order = this.sendingSnapshot !== undefined ? [this.sendingSnapshot] : ids.slice(at).concat(ids.slice(0, at));
    for (const id of order) {
      const c = this.cursors.get(id);
      const pane = this.session.pane(id);
      if (!c || !pane) {
        this.cursors.delete(id);
        if (this.sendingSnapshot === id) this.sendingSnapshot = undefined;
        return true;
      }
      if (c.snapshot === 'taking') continue;
      if (c.snapshot) {
        this.sendingSnapshot = id;
        this.link.send(c.snapshot.shift()!);
        if (c.snapshot.length === 0) {
          c.snapshot = undefined;
          this.sendingSnapshot = undefined;
        }
        this.rr++;
        return true;
      }
      if (!pane.log.has(c.offset)) {
        this.takeSnapshot(id); // fell behind the log
        continue;
      }
      const size = pane.sizeAt(c.offset);
      if (!c.size || c.size.cols !== size.cols || c.size.rows !== size.rows) {
        this.link.send(encodeResize(id, c.offset, size.cols, size.rows));
        c.size = { cols: size.cols, rows: size.rows };
        return true;
      }
      const next = pane.nextSizeChange(c.offset);
      const max = next ? Math.min(MAX_OUTPUT_PAYLOAD, next.offset - c.offset) : MAX_OUTPUT_PAYLOAD;
      if (max <= 0) continue;
      const data = pane.log.read(c.offset, max);
      if (!data || data.length === 0) continue;
      this.link.send(encodeOutput(id, c.offset, data));
      c.offset += data.length;
      this.rr++;
      return true;
    }
    return false;
  }

  // ---- lifecycle ----

  /** Tell the participant why, then close. */
  fail(err: PairmuxError): void {
    if (this.closed) return;
    // The error frame goes out even above the watermark: it is the last frame.
    for (const f of encodeJson(FrameType.Error, err.toJSON())) this.link.send(f);
    this.finish(err);
    setTimeout(() => this.link.close(), 50).unref();
  }

  bye(reason: string): void {
    if (this.closed) return;
    for (const f of encodeJson(FrameType.Bye, { reason })) this.link.send(f);
    this.finish();
    setTimeout(() => this.link.close(), 50).unref();
  }

  private finish(reason?: PairmuxError): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pinger) clearInterval(this.pinger);
    this.control = [];
    this.cursors.clear();
    this.session.disconnected(this, reason);
  }
}
