import { describe, it, expect } from 'vitest';
import {
  FrameType, INPUT_HEADER, MAX_FRAME_BYTES, MAX_INPUT_PAYLOAD, MAX_MESSAGE_BYTES, MAX_OUTPUT_PAYLOAD, OUTPUT_HEADER,
  RESIZE_BYTES, Reassembler, SNAPSHOT_HEADER, decodeFrame, encodeInput, encodeJson, encodeOutput, encodePing,
  encodeResize, encodeResync, encodeSnapshot, parseJson,
  type Frame, type JsonFrameType,
} from '../../protocol/frames.js';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

function expectBadFrame(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PairmuxError);
    expect((e as PairmuxError).code).toBe(ErrorCode.BadFrame);
    return;
  }
  throw new Error('expected E_BAD_FRAME, but nothing was thrown');
}

function expectFramesFit(frames: Uint8Array[]): void {
  expect(frames.length).toBeGreaterThan(0);
  for (const f of frames) expect(f.length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
}

type Of<T extends Frame['type']> = Extract<Frame, { type: T }>;

/** Decode frames and feed them through a Reassembler as a receiver would; returns the whole messages. */
function receive(frames: Uint8Array[], r = new Reassembler()): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const raw of frames) {
    const f = decodeFrame(raw);
    if ('json' in f) {
      const whole = r.push(f.type, f.json, f.final);
      if (whole) out.push(whole);
    } else if (f.type === FrameType.Snapshot) {
      const whole = r.push(f.type, f.data, f.final);
      if (whole) out.push(whole);
    } else {
      throw new Error(`unexpected frame type ${f.type}`);
    }
  }
  return out;
}

describe('frame round trips', () => {
  it('output', () => {
    const data = randomBytes(1000);
    const raw = encodeOutput(7, 123456, data);
    expect(raw.length).toBe(OUTPUT_HEADER + 1000);
    const f = decodeFrame(raw) as Of<typeof FrameType.Output>;
    expect(f.type).toBe(FrameType.Output);
    expect(f.pane).toBe(7);
    expect(f.offset).toBe(123456);
    expect(Array.from(f.data)).toEqual(Array.from(data));
  });

  it('output of the largest payload fits one frame, one byte more is refused', () => {
    const raw = encodeOutput(1, 0, randomBytes(MAX_OUTPUT_PAYLOAD));
    expect(raw.length).toBe(MAX_FRAME_BYTES);
    expect((decodeFrame(raw) as Of<typeof FrameType.Output>).data.length).toBe(MAX_OUTPUT_PAYLOAD);
    expect(() => encodeOutput(1, 0, new Uint8Array(MAX_OUTPUT_PAYLOAD + 1))).toThrow(RangeError);
  });

  it('output offsets above 2^32 (and up to 2^53 - 1) survive', () => {
    for (const offset of [0, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 5 * 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
      const f = decodeFrame(encodeOutput(2, offset, new Uint8Array([1]))) as Of<typeof FrameType.Output>;
      expect(f.offset).toBe(offset);
    }
  });

  it('pane ids use the full u32 range', () => {
    const f = decodeFrame(encodeOutput(0xffffffff, 0, new Uint8Array(0))) as Of<typeof FrameType.Output>;
    expect(f.pane).toBe(0xffffffff);
    expect(f.data.length).toBe(0);
  });

  it('input, including an empty input', () => {
    const frames = encodeInput(3, enc.encode('ls -la\r'));
    expect(frames.length).toBe(1);
    const f = decodeFrame(frames[0]!) as Of<typeof FrameType.Input>;
    expect(f.type).toBe(FrameType.Input);
    expect(f.pane).toBe(3);
    expect(dec.decode(f.data)).toBe('ls -la\r');

    const empty = encodeInput(3, new Uint8Array(0));
    expect(empty.length).toBe(1);
    expect((decodeFrame(empty[0]!) as Of<typeof FrameType.Input>).data.length).toBe(0);
  });

  it('input of 100 KB is split into frames that fit and concatenate back exactly', () => {
    const data = randomBytes(100 * 1024);
    const frames = encodeInput(9, data);
    expectFramesFit(frames);
    expect(frames.length).toBe(Math.ceil(data.length / MAX_INPUT_PAYLOAD));
    const parts = frames.map((raw) => decodeFrame(raw) as Of<typeof FrameType.Input>);
    expect(parts.every((p) => p.pane === 9 && p.type === FrameType.Input)).toBe(true);
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.data.length, 0));
    let at = 0;
    for (const p of parts) {
      joined.set(p.data, at);
      at += p.data.length;
    }
    expect(Buffer.from(joined).equals(Buffer.from(data))).toBe(true);
  });

  it('input of exactly one frame of payload is one full frame', () => {
    const frames = encodeInput(1, new Uint8Array(MAX_INPUT_PAYLOAD));
    expect(frames.length).toBe(1);
    expect(frames[0]!.length).toBe(INPUT_HEADER + MAX_INPUT_PAYLOAD);
    expect(frames[0]!.length).toBe(MAX_FRAME_BYTES);
  });

  it('small snapshot', () => {
    const frames = encodeSnapshot(4, 2 ** 33 + 5, 120, 40, 'hello\r\nwörld');
    expect(frames.length).toBe(1);
    const f = decodeFrame(frames[0]!) as Of<typeof FrameType.Snapshot>;
    expect(f).toMatchObject({ type: FrameType.Snapshot, pane: 4, offset: 2 ** 33 + 5, cols: 120, rows: 40, final: true });
    expect(dec.decode(f.data)).toBe('hello\r\nwörld');
  });

  it('empty snapshot is one final frame', () => {
    const frames = encodeSnapshot(1, 0, 80, 24, '');
    expect(frames.length).toBe(1);
    expect(frames[0]!.length).toBe(SNAPSHOT_HEADER);
    const f = decodeFrame(frames[0]!) as Of<typeof FrameType.Snapshot>;
    expect(f.final).toBe(true);
    expect(f.data.length).toBe(0);
  });

  it('1 MB snapshot with multibyte characters: frames fit, only the last is final, reassembly is exact', () => {
    const unit = 'ab€ç漢字😀\x1b[31mred\x1b[0m\r\n';
    const text = unit.repeat(Math.ceil((1024 * 1024) / enc.encode(unit).length));
    expect(enc.encode(text).length).toBeGreaterThanOrEqual(1024 * 1024);
    const frames = encodeSnapshot(5, 2 ** 32 + 99, 1000, 500, text);
    expectFramesFit(frames);
    const decoded = frames.map((raw) => decodeFrame(raw) as Of<typeof FrameType.Snapshot>);
    expect(decoded.map((f) => f.final)).toEqual(decoded.map((_, i) => i === decoded.length - 1));
    for (const f of decoded) expect(f).toMatchObject({ pane: 5, offset: 2 ** 32 + 99, cols: 1000, rows: 500 });
    const whole = receive(frames);
    expect(whole.length).toBe(1);
    expect(new TextDecoder('utf-8', { fatal: true }).decode(whole[0]!)).toBe(text);
  });

  it('small json', () => {
    const frames = encodeJson(FrameType.Hello, { v: 1, name: 'ada' });
    expect(frames.length).toBe(1);
    const f = decodeFrame(frames[0]!);
    expect(f.type).toBe(FrameType.Hello);
    expect('json' in f && f.final).toBe(true);
    expect(parseJson((f as { json: Uint8Array }).json)).toEqual({ v: 1, name: 'ada' });
  });

  it('every JSON message type round-trips', () => {
    const types: JsonFrameType[] = [FrameType.Hello, FrameType.Welcome, FrameType.State, FrameType.Command, FrameType.Result, FrameType.Event, FrameType.Error, FrameType.Bye];
    for (const t of types) {
      const whole = receive(encodeJson(t, { t, x: [1, 'two', null] }));
      expect(whole.length).toBe(1);
      expect(parseJson(whole[0]!)).toEqual({ t, x: [1, 'two', null] });
    }
  });

  it('100 KB JSON object: frames fit and reassemble exactly', () => {
    const value = {
      id: 42,
      command: { type: 'send-keys', pane: 1, keys: 'x€漢😀'.repeat(10_000) },
      list: Array.from({ length: 500 }, (_, i) => ({ i, s: `item ${i}` })),
    };
    const frames = encodeJson(FrameType.Command, value);
    expect(frames.length).toBeGreaterThan(5);
    expectFramesFit(frames);
    const whole = receive(frames);
    expect(whole.length).toBe(1);
    expect(whole[0]!.length).toBeGreaterThan(100 * 1000);
    expect(parseJson(whole[0]!)).toEqual(value);
  });

  it('ping and pong', () => {
    for (const type of [FrameType.Ping, FrameType.Pong] as const) {
      for (const seq of [0, 1, 0xffffffff]) {
        const raw = encodePing(type, seq);
        expect(raw.length).toBe(5);
        expect(decodeFrame(raw)).toEqual({ type, seq });
      }
    }
    // Sequence numbers wrap at 2^32.
    expect(decodeFrame(encodePing(FrameType.Ping, 2 ** 32 + 3))).toEqual({ type: FrameType.Ping, seq: 3 });
  });

  it('resync', () => {
    expect(decodeFrame(encodeResync(12))).toEqual({ type: FrameType.Resync, pane: 12 });
  });

  it('resize, with offsets above 2^32', () => {
    const raw = encodeResize(8, 2 ** 36 + 7, 132, 43);
    expect(raw.length).toBe(RESIZE_BYTES);
    expect(decodeFrame(raw)).toEqual({ type: FrameType.Resize, pane: 8, offset: 2 ** 36 + 7, cols: 132, rows: 43 });
    expect(decodeFrame(encodeResize(1, 0, 1, 1))).toMatchObject({ cols: 1, rows: 1 });
    expect(decodeFrame(encodeResize(1, 0, 1000, 500))).toMatchObject({ cols: 1000, rows: 500 });
  });

  it('decodes frames that sit at an offset inside a larger buffer', () => {
    const raw = encodeResize(3, 2 ** 34, 90, 30);
    const big = new Uint8Array(raw.length + 10);
    big.set(raw, 7);
    expect(decodeFrame(big.subarray(7, 7 + raw.length))).toEqual({ type: FrameType.Resize, pane: 3, offset: 2 ** 34, cols: 90, rows: 30 });
  });
});

describe('decodeFrame rejects malformed frames with E_BAD_FRAME', () => {
  it('empty frame', () => {
    expectBadFrame(() => decodeFrame(new Uint8Array(0)));
  });

  it(`frame larger than ${MAX_FRAME_BYTES} bytes`, () => {
    const big = new Uint8Array(MAX_FRAME_BYTES + 1);
    big[0] = FrameType.Input;
    expectBadFrame(() => decodeFrame(big));
    // ... while a maximal frame of that type is fine.
    expect(decodeFrame(big.subarray(0, MAX_FRAME_BYTES)).type).toBe(FrameType.Input);
  });

  it('non-binary input', () => {
    expectBadFrame(() => decodeFrame('hello' as unknown as Uint8Array));
  });

  it('unknown type bytes', () => {
    for (const t of [0x00, 0x10, 0x7f, 0xff]) expectBadFrame(() => decodeFrame(new Uint8Array([t, 1, 0, 0, 0])));
  });

  it('short frames', () => {
    const output = encodeOutput(1, 0, new Uint8Array(4));
    expectBadFrame(() => decodeFrame(output.subarray(0, OUTPUT_HEADER - 1)));
    expectBadFrame(() => decodeFrame(new Uint8Array([FrameType.Output])));
    expectBadFrame(() => decodeFrame(new Uint8Array([FrameType.Input, 0, 0])));
    const snap = encodeSnapshot(1, 0, 80, 24, 'x')[0]!;
    expectBadFrame(() => decodeFrame(snap.subarray(0, SNAPSHOT_HEADER - 1)));
    expectBadFrame(() => decodeFrame(new Uint8Array([FrameType.Ping, 0, 0, 0])));
    expectBadFrame(() => decodeFrame(new Uint8Array([FrameType.Ping, 0, 0, 0, 0, 0])));
    expectBadFrame(() => decodeFrame(new Uint8Array([FrameType.Resync, 0])));
    expectBadFrame(() => decodeFrame(encodeResize(1, 0, 80, 24).subarray(0, RESIZE_BYTES - 1)));
    expectBadFrame(() => decodeFrame(new Uint8Array([FrameType.Hello])));
  });

  it('bad flags byte on JSON and snapshot frames', () => {
    const json = encodeJson(FrameType.State, { a: 1 })[0]!;
    for (const flags of [2, 3, 0x80, 0xff]) {
      const j = json.slice();
      j[1] = flags;
      expectBadFrame(() => decodeFrame(j));
      const s = encodeSnapshot(1, 0, 80, 24, 'x')[0]!.slice();
      s[1] = flags;
      expectBadFrame(() => decodeFrame(s));
    }
  });

  it('snapshot and resize with sizes out of range', () => {
    for (const [cols, rows] of [[0, 24], [1001, 24], [80, 0], [80, 501], [65535, 65535]] as const) {
      expectBadFrame(() => decodeFrame(encodeSnapshot(1, 0, cols, rows, 'x')[0]!));
      expectBadFrame(() => decodeFrame(encodeResize(1, 0, cols, rows)));
    }
  });

  it('offsets beyond 2^53 (not exactly representable)', () => {
    const raw = encodeOutput(1, 0, new Uint8Array(0));
    new DataView(raw.buffer).setUint32(5, 0x200000); // high word 2^21 -> offset 2^53
    expectBadFrame(() => decodeFrame(raw));
  });
});

describe('Reassembler', () => {
  it('returns nothing until the final fragment, then the whole message', () => {
    const r = new Reassembler();
    expect(r.push(FrameType.State, enc.encode('{"a":'), false)).toBeUndefined();
    expect(r.push(FrameType.State, enc.encode('[1,2'), false)).toBeUndefined();
    const whole = r.push(FrameType.State, enc.encode(']}'), true);
    expect(parseJson(whole!)).toEqual({ a: [1, 2] });
  });

  it('keeps messages of different types apart', () => {
    const r = new Reassembler();
    expect(r.push(FrameType.State, enc.encode('{"s":'), false)).toBeUndefined();
    expect(parseJson(r.push(FrameType.Event, enc.encode('{"e":2}'), true)!)).toEqual({ e: 2 });
    expect(parseJson(r.push(FrameType.State, enc.encode('1}'), true)!)).toEqual({ s: 1 });
  });

  it('copies fragments, so a reused receive buffer does not corrupt a message', () => {
    const r = new Reassembler();
    const buf = enc.encode('{"a":1,');
    r.push(FrameType.State, buf, false);
    buf.fill(0x20);
    expect(parseJson(r.push(FrameType.State, enc.encode('"b":2}'), true)!)).toEqual({ a: 1, b: 2 });
  });

  it('reset drops a partial message', () => {
    const r = new Reassembler();
    r.push(FrameType.State, enc.encode('garbage'), false);
    r.reset(FrameType.State);
    expect(parseJson(r.push(FrameType.State, enc.encode('{"ok":true}'), true)!)).toEqual({ ok: true });
    r.push(FrameType.Event, enc.encode('garbage'), false);
    r.reset();
    expect(parseJson(r.push(FrameType.Event, enc.encode('[]'), true)!)).toEqual([]);
  });

  it('throws E_BAD_FRAME when a State message passes 2 MiB, then accepts a new small one', () => {
    const limit = MAX_MESSAGE_BYTES[FrameType.State]!;
    expect(limit).toBe(2 * 1024 * 1024);
    const r = new Reassembler();
    const chunk = new Uint8Array(MAX_FRAME_BYTES - 2).fill(0x20);
    let pushed = 0;
    let thrown: unknown;
    for (let i = 0; i < 200 && thrown === undefined; i++) {
      try {
        expect(r.push(FrameType.State, chunk, false)).toBeUndefined();
        pushed += chunk.length;
      } catch (e) {
        thrown = e;
      }
    }
    expect(thrown).toBeInstanceOf(PairmuxError);
    expect((thrown as PairmuxError).code).toBe(ErrorCode.BadFrame);
    // It failed exactly at the fragment that crossed the limit.
    expect(pushed).toBeLessThanOrEqual(limit);
    expect(pushed + chunk.length).toBeGreaterThan(limit);
    // The oversized message was dropped: a small message decodes on its own
    // (if the old fragments were kept it would be prefixed by them, or overflow again).
    const whole = r.push(FrameType.State, enc.encode('{"v":1}'), true);
    expect(whole!.length).toBe(7);
    expect(parseJson(whole!)).toEqual({ v: 1 });
  });

  it('enforces the smaller limits of other types (Welcome: 16 KiB)', () => {
    const r = new Reassembler();
    expect(r.push(FrameType.Welcome, new Uint8Array(16 * 1024), false)).toBeUndefined();
    expectBadFrame(() => r.push(FrameType.Welcome, new Uint8Array(1), true));
    expect(dec.decode(r.push(FrameType.Welcome, enc.encode('{}'), true))).toBe('{}');
  });

  it('accepts a message of exactly the limit', () => {
    const r = new Reassembler();
    const limit = MAX_MESSAGE_BYTES[FrameType.Command]!;
    const chunk = new Uint8Array(limit / 8);
    for (let i = 0; i < 7; i++) r.push(FrameType.Command, chunk, false);
    expect(r.push(FrameType.Command, chunk, true)!.length).toBe(limit);
  });

  it('a single fragment over the limit is refused even when final', () => {
    const r = new Reassembler();
    expectBadFrame(() => r.push(FrameType.Result, new Uint8Array(16 * 1024 + 1), true));
  });
});

describe('parseJson', () => {
  it('parses valid UTF-8 JSON', () => {
    expect(parseJson(enc.encode('{"name":"Zoë 😀"}'))).toEqual({ name: 'Zoë 😀' });
  });

  it('invalid UTF-8 -> E_BAD_FRAME', () => {
    expectBadFrame(() => parseJson(new Uint8Array([0x22, 0xc3, 0x28, 0x22]))); // "\xC3(" bad continuation
    expectBadFrame(() => parseJson(new Uint8Array([0x22, 0xff, 0x22])));
    expectBadFrame(() => parseJson(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]))); // encoded surrogate
    expectBadFrame(() => parseJson(new Uint8Array([0x22, 0xe2, 0x82]))); // truncated sequence
  });

  it('invalid JSON -> E_BAD_FRAME', () => {
    expectBadFrame(() => parseJson(enc.encode('{"a":')));
    expectBadFrame(() => parseJson(new Uint8Array(0)));
  });
});
