/**
 * Peer frames: what travels over the WebRTC data channel between host and
 * guest. Binary; byte 0 is the frame type. Every frame is at most
 * MAX_FRAME_BYTES (16 KiB, the message size every SCTP stack interoperates
 * with); larger messages are split into fragments (flag bit 0 = final).
 *
 *   OUTPUT   [type][pane u32][offset u64][bytes...]            host -> guest
 *   INPUT    [type][pane u32][bytes...]                        guest -> host
 *   SNAPSHOT [type][flags][pane u32][offset u64][cols u16][rows u16][utf8...]
 *   PING/PONG[type][seq u32]
 *   RESYNC   [type][pane u32]                                  guest -> host
 *   RESIZE   [type][pane u32][offset u64][cols u16][rows u16]  host -> guest:
 *            the pane has this size from byte `offset` on
 *   JSON     [type][flags][utf8 JSON fragment...]   HELLO, WELCOME, STATE,
 *                                                   COMMAND, RESULT, EVENT, ERROR, BYE
 */
import { ErrorCode, PairmuxError } from './errors.js';

export const PROTOCOL_VERSION = 1;
export const MAX_FRAME_BYTES = 16 * 1024;

export const FrameType = {
  Hello: 0x01,
  Welcome: 0x02,
  State: 0x03,
  Output: 0x04,
  Snapshot: 0x05,
  Input: 0x06,
  Command: 0x07,
  Result: 0x08,
  Event: 0x09,
  Ping: 0x0a,
  Pong: 0x0b,
  Error: 0x0c,
  Resync: 0x0d,
  Bye: 0x0e,
  Resize: 0x0f,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const JSON_TYPES = new Set<number>([FrameType.Hello, FrameType.Welcome, FrameType.State, FrameType.Command, FrameType.Result, FrameType.Event, FrameType.Error, FrameType.Bye]);

/** Largest reassembled message per type: nothing is buffered past these, whatever a peer claims. */
export const MAX_MESSAGE_BYTES: Readonly<Record<number, number>> = {
  [FrameType.Hello]: 64 * 1024,
  [FrameType.Welcome]: 16 * 1024,
  [FrameType.State]: 2 * 1024 * 1024,
  [FrameType.Command]: 128 * 1024,
  [FrameType.Result]: 16 * 1024,
  [FrameType.Event]: 16 * 1024,
  [FrameType.Error]: 16 * 1024,
  [FrameType.Bye]: 16 * 1024,
  [FrameType.Snapshot]: 32 * 1024 * 1024,
};

export const OUTPUT_HEADER = 13;
export const INPUT_HEADER = 5;
export const SNAPSHOT_HEADER = 18;
export const JSON_HEADER = 2;
export const RESIZE_BYTES = 17;
export const MAX_OUTPUT_PAYLOAD = MAX_FRAME_BYTES - OUTPUT_HEADER;
export const MAX_INPUT_PAYLOAD = MAX_FRAME_BYTES - INPUT_HEADER;

export type Frame =
  | { type: typeof FrameType.Output; pane: number; offset: number; data: Uint8Array }
  | { type: typeof FrameType.Input; pane: number; data: Uint8Array }
  | { type: typeof FrameType.Snapshot; pane: number; offset: number; cols: number; rows: number; data: Uint8Array; final: boolean }
  | { type: typeof FrameType.Ping | typeof FrameType.Pong; seq: number }
  | { type: typeof FrameType.Resync; pane: number }
  | { type: typeof FrameType.Resize; pane: number; offset: number; cols: number; rows: number }
  | { type: JsonFrameType; json: Uint8Array; final: boolean };

export type JsonFrameType =
  | typeof FrameType.Hello | typeof FrameType.Welcome | typeof FrameType.State | typeof FrameType.Command
  | typeof FrameType.Result | typeof FrameType.Event | typeof FrameType.Error | typeof FrameType.Bye;

const enc = new TextEncoder();

function badFrame(msg: string): never {
  throw new PairmuxError(ErrorCode.BadFrame, msg);
}

function setU64(v: DataView, at: number, n: number) {
  v.setUint32(at, Math.floor(n / 0x1_0000_0000));
  v.setUint32(at + 4, n >>> 0);
}
function getU64(v: DataView, at: number): number {
  const hi = v.getUint32(at);
  if (hi > 0x1fffff) badFrame('offset out of range');
  return hi * 0x1_0000_0000 + v.getUint32(at + 4);
}

export function encodeOutput(pane: number, offset: number, data: Uint8Array): Uint8Array {
  if (data.length > MAX_OUTPUT_PAYLOAD) throw new RangeError('output payload too large for one frame');
  const f = new Uint8Array(OUTPUT_HEADER + data.length);
  const v = new DataView(f.buffer);
  f[0] = FrameType.Output;
  v.setUint32(1, pane);
  setU64(v, 5, offset);
  f.set(data, OUTPUT_HEADER);
  return f;
}

/** Input frames for `data`, split to fit the frame limit. */
export function encodeInput(pane: number, data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length || (i === 0 && out.length === 0); i += MAX_INPUT_PAYLOAD) {
    const part = data.subarray(i, i + MAX_INPUT_PAYLOAD);
    const f = new Uint8Array(INPUT_HEADER + part.length);
    f[0] = FrameType.Input;
    new DataView(f.buffer).setUint32(1, pane);
    f.set(part, INPUT_HEADER);
    out.push(f);
    if (data.length === 0) break;
  }
  return out;
}

export function encodeSnapshot(pane: number, offset: number, cols: number, rows: number, text: string): Uint8Array[] {
  const bytes = enc.encode(text);
  const room = MAX_FRAME_BYTES - SNAPSHOT_HEADER;
  const frames: Uint8Array[] = [];
  for (let i = 0; i === 0 || i < bytes.length; i += room) {
    const part = bytes.subarray(i, i + room);
    const f = new Uint8Array(SNAPSHOT_HEADER + part.length);
    const v = new DataView(f.buffer);
    f[0] = FrameType.Snapshot;
    f[1] = i + room >= bytes.length ? 1 : 0;
    v.setUint32(2, pane);
    setU64(v, 6, offset);
    v.setUint16(14, cols);
    v.setUint16(16, rows);
    f.set(part, SNAPSHOT_HEADER);
    frames.push(f);
  }
  return frames;
}

export function encodeJson(type: JsonFrameType, value: unknown): Uint8Array[] {
  const bytes = enc.encode(JSON.stringify(value));
  const room = MAX_FRAME_BYTES - JSON_HEADER;
  const frames: Uint8Array[] = [];
  for (let i = 0; i === 0 || i < bytes.length; i += room) {
    const part = bytes.subarray(i, i + room);
    const f = new Uint8Array(JSON_HEADER + part.length);
    f[0] = type;
    f[1] = i + room >= bytes.length ? 1 : 0;
    f.set(part, JSON_HEADER);
    frames.push(f);
  }
  return frames;
}

export function encodePing(type: typeof FrameType.Ping | typeof FrameType.Pong, seq: number): Uint8Array {
  const f = new Uint8Array(5);
  f[0] = type;
  new DataView(f.buffer).setUint32(1, seq >>> 0);
  return f;
}

export function encodeResync(pane: number): Uint8Array {
  const f = new Uint8Array(5);
  f[0] = FrameType.Resync;
  new DataView(f.buffer).setUint32(1, pane);
  return f;
}

export function encodeResize(pane: number, offset: number, cols: number, rows: number): Uint8Array {
  const f = new Uint8Array(RESIZE_BYTES);
  const v = new DataView(f.buffer);
  f[0] = FrameType.Resize;
  v.setUint32(1, pane);
  setU64(v, 5, offset);
  v.setUint16(13, cols);
  v.setUint16(15, rows);
  return f;
}

/** Pane sizes a frame may carry; anything else is a bad frame. */
export const SizeBounds = { minCols: 1, maxCols: 1000, minRows: 1, maxRows: 500 } as const;
const sizeOk = (cols: number, rows: number) =>
  cols >= SizeBounds.minCols && cols <= SizeBounds.maxCols && rows >= SizeBounds.minRows && rows <= SizeBounds.maxRows;

/** Decode one frame. Throws E_BAD_FRAME for anything malformed. */
export function decodeFrame(buf: Uint8Array): Frame {
  if (!(buf instanceof Uint8Array)) badFrame('frame must be binary');
  if (buf.length === 0) badFrame('empty frame');
  if (buf.length > MAX_FRAME_BYTES) badFrame(`frame of ${buf.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const type = buf[0]!;
  switch (type) {
    case FrameType.Output:
      if (buf.length < OUTPUT_HEADER) badFrame('short output frame');
      return { type, pane: v.getUint32(1), offset: getU64(v, 5), data: buf.subarray(OUTPUT_HEADER) };
    case FrameType.Input:
      if (buf.length < INPUT_HEADER) badFrame('short input frame');
      return { type, pane: v.getUint32(1), data: buf.subarray(INPUT_HEADER) };
    case FrameType.Snapshot: {
      if (buf.length < SNAPSHOT_HEADER || buf[1]! > 1) badFrame('bad snapshot frame');
      const cols = v.getUint16(14);
      const rows = v.getUint16(16);
      if (!sizeOk(cols, rows)) badFrame('snapshot size out of range');
      return { type, final: buf[1] === 1, pane: v.getUint32(2), offset: getU64(v, 6), cols, rows, data: buf.subarray(SNAPSHOT_HEADER) };
    }
    case FrameType.Ping:
    case FrameType.Pong:
      if (buf.length !== 5) badFrame('bad ping frame');
      return { type, seq: v.getUint32(1) };
    case FrameType.Resync:
      if (buf.length !== 5) badFrame('bad resync frame');
      return { type, pane: v.getUint32(1) };
    case FrameType.Resize: {
      if (buf.length !== RESIZE_BYTES) badFrame('bad resize frame');
      const cols = v.getUint16(13);
      const rows = v.getUint16(15);
      if (!sizeOk(cols, rows)) badFrame('resize size out of range');
      return { type, pane: v.getUint32(1), offset: getU64(v, 5), cols, rows };
    }
    default:
      if (!JSON_TYPES.has(type)) badFrame(`unknown frame type 0x${type.toString(16)}`);
      if (buf.length < JSON_HEADER || buf[1]! > 1) badFrame('bad message frame');
      return { type: type as JsonFrameType, final: buf[1] === 1, json: buf.subarray(JSON_HEADER) };
  }
}

/**
 * Reassembles fragmented messages (one in flight per type: senders never
 * interleave two messages of one type). Enforces MAX_MESSAGE_BYTES.
 */
export class Reassembler {
  private parts = new Map<number, { chunks: Uint8Array[]; size: number }>();

  /** Returns the whole message once its final fragment arrives, else undefined. */
  push(type: number, chunk: Uint8Array, final: boolean): Uint8Array | undefined {
    const cur = this.parts.get(type) ?? { chunks: [], size: 0 };
    cur.size += chunk.length;
    const cap = MAX_MESSAGE_BYTES[type] ?? MAX_FRAME_BYTES;
    if (cur.size > cap) {
      this.parts.delete(type);
      badFrame(`message of type 0x${type.toString(16)} exceeds ${cap} bytes`);
    }
    cur.chunks.push(chunk.slice());
    if (!final) {
      this.parts.set(type, cur);
      return undefined;
    }
    this.parts.delete(type);
    if (cur.chunks.length === 1) return cur.chunks[0];
    const out = new Uint8Array(cur.size);
    let at = 0;
    for (const c of cur.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** Push a JSON message fragment; returns the parsed message once complete, else undefined. */
  pushJson(f: { type: number; json: Uint8Array; final: boolean }): unknown | undefined {
    const whole = this.push(f.type, f.json, f.final);
    return whole === undefined ? undefined : parseJson(whole);
  }

  reset(type?: number): void {
    if (type === undefined) this.parts.clear();
    else this.parts.delete(type);
  }
}

const dec = new TextDecoder('utf-8', { fatal: true });
export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(dec.decode(bytes));
  } catch {
    return badFrame('message is not valid UTF-8 JSON');
  }
}

export interface Hello {
  v: number;
  name: string;
  /** Last byte offset the guest holds per pane, for resume. */
  resume?: Record<string, number>;
  /** Key confirmation: HMAC over the DTLS fingerprints with a key from the invite secret (hex). */
  proof?: string;
}
export interface Welcome {
  v: number;
  participant: string;
  /** 'pending' until the host approves the join. */
  status: 'pending' | 'admitted';
  proof?: string;
}
export interface CommandMessage {
  id: number;
  command: unknown;
}
export type ResultMessage = { id: number; ok: true } | { id: number; ok: false; error: { code: string; message: string } };
