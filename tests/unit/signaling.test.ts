import { describe, it, expect } from 'vitest';
import {
  CloseCode, SIGNALING_VERSION, SignalingLimits, closeCodeFor, isIceServer, parseClientMessage, parseRelayMessage, utf8Length,
} from '../../protocol/signaling.js';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import { errorCode } from '../helpers/errors.js';

const ROOM = '0123456789abcdef0123456789abcdef';
const PEER = '0123456789abcdef';


const parse = (x: unknown) => parseClientMessage(JSON.stringify(x));

describe('parseClientMessage accepts valid messages', () => {
  it('host and join', () => {
    expect(parse({ t: 'host', v: 1, room: ROOM })).toEqual({ t: 'host', v: 1, room: ROOM });
    expect(parse({ t: 'join', v: SIGNALING_VERSION, room: ROOM })).toEqual({ t: 'join', v: 1, room: ROOM });
  });

  it('drops unknown extra fields', () => {
    expect(parse({ t: 'host', v: 1, room: ROOM, extra: 'x', secret: 'y' })).toEqual({ t: 'host', v: 1, room: ROOM });
    expect(parse({ t: 'ping', junk: [1, 2, 3] })).toEqual({ t: 'ping' });
  });

  it('signal with and without a recipient', () => {
    expect(parse({ t: 'signal', data: '{"sdp":"v=0"}' })).toEqual({ t: 'signal', data: '{"sdp":"v=0"}' });
    expect(parse({ t: 'signal', to: PEER, data: 'x' })).toEqual({ t: 'signal', to: PEER, data: 'x' });
    expect(parse({ t: 'signal', data: '' })).toEqual({ t: 'signal', data: '' });
  });

  it('ping', () => {
    expect(parse({ t: 'ping' })).toEqual({ t: 'ping' });
  });

  it('binary (UTF-8) messages as well as text', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ t: 'join', v: 1, room: ROOM }));
    expect(parseClientMessage(bytes)).toEqual({ t: 'join', v: 1, room: ROOM });
  });

  it('a signal payload of exactly the limit', () => {
    const data = 'x'.repeat(SignalingLimits.maxSignalBytes);
    expect(parse({ t: 'signal', data })).toEqual({ t: 'signal', data });
  });
});

describe('parseClientMessage rejects bad messages', () => {
  it('invalid JSON -> E_MALFORMED', () => {
    for (const raw of ['', '{', 'not json', '{"t":"ping"', "{'t':'ping'}"]) {
      expect(errorCode(() => parseClientMessage(raw))).toBe(ErrorCode.Malformed);
    }
  });

  it('invalid UTF-8 in a binary message -> E_MALFORMED', () => {
    expect(errorCode(() => parseClientMessage(new Uint8Array([0x7b, 0xff, 0x7d])))).toBe(ErrorCode.Malformed);
  });

  it('non-objects and missing or non-string t -> E_MALFORMED', () => {
    for (const x of [null, 1, 'ping', true, [], [{ t: 'ping' }], {}, { t: 1 }, { t: null }, { type: 'ping' }]) {
      expect(errorCode(() => parse(x))).toBe(ErrorCode.Malformed);
    }
  });

  it('bad room ids -> E_MALFORMED', () => {
    for (const room of [undefined, 123, '', ROOM.slice(1), ROOM + '0', ROOM.toUpperCase(), 'g'.repeat(32), `${ROOM.slice(0, 31)} `]) {
      expect(errorCode(() => parse({ t: 'host', v: 1, room }))).toBe(ErrorCode.Malformed);
      expect(errorCode(() => parse({ t: 'join', v: 1, room }))).toBe(ErrorCode.Malformed);
    }
  });

  it('bad signal fields -> E_MALFORMED', () => {
    expect(errorCode(() => parse({ t: 'signal' }))).toBe(ErrorCode.Malformed);
    expect(errorCode(() => parse({ t: 'signal', data: { sdp: 'x' } }))).toBe(ErrorCode.Malformed);
    expect(errorCode(() => parse({ t: 'signal', data: 'x', to: 'peer' }))).toBe(ErrorCode.Malformed);
    expect(errorCode(() => parse({ t: 'signal', data: 'x', to: 5 }))).toBe(ErrorCode.Malformed);
    expect(errorCode(() => parse({ t: 'signal', data: 'x', to: PEER.toUpperCase() }))).toBe(ErrorCode.Malformed);
  });

  it('unknown type -> E_UNKNOWN_TYPE', () => {
    expect(errorCode(() => parse({ t: 'nope' }))).toBe(ErrorCode.UnknownType);
    expect(errorCode(() => parse({ t: 'hosted', room: ROOM }))).toBe(ErrorCode.UnknownType);
    expect(errorCode(() => parse({ t: '' }))).toBe(ErrorCode.UnknownType);
  });

  it('the unknown-type message quotes at most 40 characters of the type', () => {
    try {
      parse({ t: 'z'.repeat(5000) });
      expect.unreachable();
    } catch (e) {
      expect((e as PairmuxError).code).toBe(ErrorCode.UnknownType);
      expect((e as PairmuxError).message.length).toBeLessThan(100);
    }
  });

  it('another signaling version -> E_BAD_VERSION', () => {
    for (const v of [2, 0, '1', undefined, null, 1.5]) {
      expect(errorCode(() => parse({ t: 'host', v, room: ROOM }))).toBe(ErrorCode.BadVersion);
      expect(errorCode(() => parse({ t: 'join', v, room: ROOM }))).toBe(ErrorCode.BadVersion);
    }
  });

  it('a message over 64 KiB -> E_TOO_LARGE, counted in UTF-8 bytes', () => {
    const max = SignalingLimits.maxMessageBytes;
    expect(max).toBe(64 * 1024);
    const pad = (n: number) => JSON.stringify({ t: 'ping', pad: 'x'.repeat(n) });
    const overhead = pad(0).length;
    expect(parseClientMessage(pad(max - overhead))).toEqual({ t: 'ping' });
    expect(errorCode(() => parseClientMessage(pad(max - overhead + 1)))).toBe(ErrorCode.TooLarge);
    // 30,000 euro signs are 30,000 UTF-16 units but 90,000 UTF-8 bytes.
    expect(errorCode(() => parse({ t: 'ping', pad: '€'.repeat(30_000) }))).toBe(ErrorCode.TooLarge);
    expect(errorCode(() => parseClientMessage(new Uint8Array(max + 1).fill(0x20)))).toBe(ErrorCode.TooLarge);
  });

  it('size is checked before parsing: an oversized non-JSON message is E_TOO_LARGE', () => {
    expect(errorCode(() => parseClientMessage('{'.repeat(70_000)))).toBe(ErrorCode.TooLarge);
  });

  it('signal data over 32 KiB -> E_TOO_LARGE', () => {
    const data = 'x'.repeat(SignalingLimits.maxSignalBytes + 1);
    expect(errorCode(() => parse({ t: 'signal', data }))).toBe(ErrorCode.TooLarge);
    expect(errorCode(() => parse({ t: 'signal', to: PEER, data: 'y'.repeat(40_000) }))).toBe(ErrorCode.TooLarge);
  });

  it('the signal data limit counts UTF-8 bytes, not UTF-16 units', () => {
    const data = '€'.repeat(12_000); // 12,000 UTF-16 units, 36,000 UTF-8 bytes
    expect(Buffer.byteLength(data)).toBeGreaterThan(SignalingLimits.maxSignalBytes);
    expect(errorCode(() => parse({ t: 'signal', data }))).toBe(ErrorCode.TooLarge);
    const fits = '€'.repeat(Math.floor(SignalingLimits.maxSignalBytes / 3));
    expect(parse({ t: 'signal', data: fits })).toEqual({ t: 'signal', data: fits });
  });
});

describe('utf8Length', () => {
  const cases: [string, string][] = [
    ['empty', ''],
    ['ASCII', 'hello, world ~\x00\x7f'],
    ['2-byte', 'é ñ ü ß \u0080 \u07ff'],
    ['3-byte', '€ 漢字 \u0800 \uffff \ue000'],
    ['4-byte', '😀 🎉 𝄞 \u{10000} \u{10ffff}'],
    ['mixed', 'a€😀éb'.repeat(100)],
    ['SDP-like', 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\na=candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host'],
  ];
  for (const [name, s] of cases) {
    it(`matches Buffer.byteLength for ${name}`, () => {
      expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
    });
  }

  it('counts each character class by its encoded width', () => {
    expect(utf8Length('a')).toBe(1);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
  });

  it('counts a lone surrogate at the end as 3 bytes (the replacement character)', () => {
    expect(utf8Length('a\ud83d')).toBe(Buffer.byteLength('a\ud83d'));
    expect(utf8Length('\udc00')).toBe(Buffer.byteLength('\udc00'));
  });
});

describe('closeCodeFor', () => {
  it('maps each named error to its close code', () => {
    expect(closeCodeFor(ErrorCode.TooLarge)).toBe(4413);
    expect(closeCodeFor(ErrorCode.UnknownType)).toBe(4415);
    expect(closeCodeFor(ErrorCode.BadVersion)).toBe(4426);
    expect(closeCodeFor(ErrorCode.RoomNotFound)).toBe(4404);
    expect(closeCodeFor(ErrorCode.RoomExists)).toBe(4409);
    expect(closeCodeFor(ErrorCode.RoomClosed)).toBe(4410);
    expect(closeCodeFor(ErrorCode.RateLimited)).toBe(4429);
    expect(closeCodeFor(ErrorCode.RoomFull)).toBe(4403);
    expect(closeCodeFor(ErrorCode.Malformed)).toBe(4400);
  });

  it('falls back to 4400 for other errors', () => {
    expect(closeCodeFor(ErrorCode.NotInRoom)).toBe(CloseCode.Malformed);
    expect(closeCodeFor(ErrorCode.PeerNotFound)).toBe(CloseCode.Malformed);
    expect(closeCodeFor(ErrorCode.BadFrame)).toBe(CloseCode.Malformed);
  });

  it('every close code is in the application range, and distinct', () => {
    const codes = Object.entries(CloseCode).filter(([k]) => k !== 'Normal').map(([, v]) => v);
    for (const c of codes) {
      expect(c).toBeGreaterThanOrEqual(4000);
      expect(c).toBeLessThanOrEqual(4999);
    }
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('parseRelayMessage', () => {
  const relay = (x: unknown) => parseRelayMessage(JSON.stringify(x));

  it('accepts every relay message type', () => {
    const ice = [{ urls: 'stun:stun.example.com:3478' }, { urls: ['turn:t.example.com'], username: 'u', credential: 'c' }];
    expect(relay({ t: 'hosted', room: ROOM, iceServers: ice })).toEqual({ t: 'hosted', room: ROOM, iceServers: ice });
    expect(relay({ t: 'joined', room: ROOM, peer: PEER, iceServers: [] })).toEqual({ t: 'joined', room: ROOM, peer: PEER, iceServers: [] });
    expect(relay({ t: 'peer-joined', peer: PEER })).toEqual({ t: 'peer-joined', peer: PEER });
    expect(relay({ t: 'peer-left', peer: PEER })).toEqual({ t: 'peer-left', peer: PEER });
    expect(relay({ t: 'signal', from: PEER, data: 'd' })).toEqual({ t: 'signal', from: PEER, data: 'd' });
    expect(relay({ t: 'room-closed' })).toEqual({ t: 'room-closed' });
    expect(relay({ t: 'pong' })).toEqual({ t: 'pong' });
    expect(relay({ t: 'error', code: 'E_ROOM_NOT_FOUND', message: 'no such room' })).toEqual({ t: 'error', code: 'E_ROOM_NOT_FOUND', message: 'no such room' });
  });

  it('drops malformed ICE servers instead of trusting them', () => {
    const msg = relay({ t: 'hosted', room: ROOM, iceServers: [{ urls: 'stun:a' }, { urls: 5 }, 'x', null, { urls: ['a', 1] }, { urls: 'turn:b', username: 3 }] });
    expect(msg).toEqual({ t: 'hosted', room: ROOM, iceServers: [{ urls: 'stun:a' }] });
    expect(relay({ t: 'hosted', room: ROOM })).toEqual({ t: 'hosted', room: ROOM, iceServers: [] });
    expect(isIceServer({ urls: [] })).toBe(true);
    expect(isIceServer({ urls: 'stun:x', credential: {} })).toBe(false);
  });

  it('rejects unknown types and non-objects with E_MALFORMED', () => {
    for (const x of [{ t: 'nope' }, { t: 'host', v: 1, room: ROOM }, { t: 'ping' }, {}, [], null, 'pong', 7]) {
      expect(errorCode(() => relay(x))).toBe(ErrorCode.Malformed);
    }
    expect(errorCode(() => parseRelayMessage('not json'))).toBe(ErrorCode.Malformed);
  });

  it('rejects messages lacking required fields', () => {
    expect(errorCode(() => relay({ t: 'hosted' }))).toBe(ErrorCode.Malformed);
    expect(errorCode(() => relay({ t: 'joined', room: ROOM }))).toBe(ErrorCode.Malformed);
    expect(errorCode(() => relay({ t: 'signal', from: PEER }))).toBe(ErrorCode.Malformed);
    expect(errorCode(() => relay({ t: 'peer-left', peer: 1 }))).toBe(ErrorCode.Malformed);
    expect(errorCode(() => relay({ t: 'error', code: 'E_X' }))).toBe(ErrorCode.Malformed);
  });

  it('rejects oversized relay messages with E_TOO_LARGE', () => {
    expect(errorCode(() => relay({ t: 'pong', pad: 'x'.repeat(SignalingLimits.maxMessageBytes) }))).toBe(ErrorCode.TooLarge);
  });
});
