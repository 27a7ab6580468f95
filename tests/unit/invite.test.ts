import { describe, it, expect } from 'vitest';
import {
  INVITE_PREFIX, MAX_RELAY_URL, ROOM_BYTES, SECRET_BYTES,
  base32Decode, base32Encode, crc32, decodeInvite, encodeInvite, isRelayUrl, newInvite,
  type Invite,
} from '../../protocol/invite.js';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import { errorCode } from '../helpers/errors.js';


/** A deterministic invite (room and secret built from a seed). */
function fixedInvite(seed = 1, relay?: string): Invite {
  const room = Array.from({ length: ROOM_BYTES }, (_, i) => ((seed * 31 + i * 7) & 0xff).toString(16).padStart(2, '0')).join('');
  const secret = Uint8Array.from({ length: SECRET_BYTES }, (_, i) => (seed * 13 + i * 101) & 0xff);
  return relay === undefined ? { room, secret } : { room, secret, relay };
}

/** Change the character at `i` of `code` to a different base32 letter. */
function flipAt(code: string, i: number): string {
  const ch = code[i]!;
  const other = ch === 'a' ? 'b' : 'a';
  return code.slice(0, i) + other + code.slice(i + 1);
}

describe('invite round trip', () => {
  it('decodes what it encodes (default relay)', () => {
    const inv = fixedInvite(3);
    const code = encodeInvite(inv);
    expect(code.startsWith(INVITE_PREFIX)).toBe(true);
    const back = decodeInvite(code);
    expect(back.room).toBe(inv.room);
    expect(Array.from(back.secret)).toEqual(Array.from(inv.secret));
    expect(back.relay).toBeUndefined();
    expect('relay' in back).toBe(false);
  });

  it('carries a custom relay URL', () => {
    const inv = fixedInvite(4, 'wss://relay.example.org:8443/signal');
    const back = decodeInvite(encodeInvite(inv));
    expect(back.room).toBe(inv.room);
    expect(Array.from(back.secret)).toEqual(Array.from(inv.secret));
    expect(back.relay).toBe('wss://relay.example.org:8443/signal');
  });

  it('round-trips many random invites, with and without a relay', () => {
    for (let i = 0; i < 50; i++) {
      const inv = newInvite(i % 2 ? 'ws://127.0.0.1:9000' : undefined);
      const back = decodeInvite(encodeInvite(inv));
      expect(back).toEqual(inv);
    }
  });

  it('codes contain only lowercase letters and digits (double-click selects the whole code)', () => {
    for (let i = 0; i < 20; i++) {
      expect(encodeInvite(newInvite())).toMatch(/^[a-z0-9]+$/);
      expect(encodeInvite(newInvite('wss://r.example.com/a-b_c?x=1'))).toMatch(/^[a-z0-9]+$/);
    }
  });

  it('is case-insensitive', () => {
    const inv = fixedInvite(5, 'wss://relay.example.com');
    const code = encodeInvite(inv);
    expect(decodeInvite(code.toUpperCase())).toEqual(inv);
    const mixed = Array.from(code, (c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
    expect(decodeInvite(mixed)).toEqual(inv);
  });

  it('ignores whitespace and dashes that chat apps insert', () => {
    const inv = fixedInvite(6);
    const code = encodeInvite(inv);
    const grouped = code.match(/.{1,4}/g)!.join('-');
    expect(decodeInvite(grouped)).toEqual(inv);
    const spaced = `  \n${code.slice(0, 10)} ${code.slice(10, 30)}\t${code.slice(30, 50)}\n${code.slice(50)}  \r\n`;
    expect(decodeInvite(spaced)).toEqual(inv);
    expect(decodeInvite(code.slice(0, 20) + ' - ' + code.slice(20))).toEqual(inv);
  });
});

describe('invite errors', () => {
  const code = encodeInvite(fixedInvite(7));

  it('empty or blank -> E_INVITE_MALFORMED', () => {
    expect(errorCode(() => decodeInvite(''))).toBe(ErrorCode.InviteMalformed);
    expect(errorCode(() => decodeInvite('   \n\t '))).toBe(ErrorCode.InviteMalformed);
    expect(errorCode(() => decodeInvite(' - - '))).toBe(ErrorCode.InviteMalformed);
  });

  it('wrong prefix -> E_INVITE_MALFORMED', () => {
    expect(errorCode(() => decodeInvite('hello'))).toBe(ErrorCode.InviteMalformed);
    expect(errorCode(() => decodeInvite('https://example.com/invite'))).toBe(ErrorCode.InviteMalformed);
    expect(errorCode(() => decodeInvite(code.slice(4)))).toBe(ErrorCode.InviteMalformed);
  });

  it('another format version -> E_INVITE_VERSION, naming the prefix', () => {
    const other = 'pmx2' + code.slice(4);
    expect(errorCode(() => decodeInvite(other))).toBe(ErrorCode.InviteVersion);
    expect(() => decodeInvite(other)).toThrow(/pmx2/);
    expect(errorCode(() => decodeInvite('PMX9abcdef'))).toBe(ErrorCode.InviteVersion);
  });

  it('a flipped character -> E_INVITE_CHECKSUM', () => {
    // Every position whose character carries data bits (the last one may
    // carry only padding; see the report on non-canonical trailing bits).
    for (let i = INVITE_PREFIX.length; i < code.length - 1; i++) {
      expect(errorCode(() => decodeInvite(flipAt(code, i)))).toBe(ErrorCode.InviteChecksum);
    }
  });

  it('a flipped character in a code with a relay -> E_INVITE_CHECKSUM', () => {
    const withRelay = encodeInvite(fixedInvite(8, 'wss://relay.example.com'));
    for (const i of [4, 20, 60, withRelay.length - 10, withRelay.length - 2]) {
      expect(errorCode(() => decodeInvite(flipAt(withRelay, i)))).toBe(ErrorCode.InviteChecksum);
    }
  });

  it('a truncated code -> E_INVITE_MALFORMED with a length message', () => {
    for (const cut of [1, 2, 7, 20, code.length - 5]) {
      const short = code.slice(0, code.length - cut);
      expect(errorCode(() => decodeInvite(short))).toBe(ErrorCode.InviteMalformed);
      expect(() => decodeInvite(short)).toThrow(/length/);
    }
  });

  it('a truncated code with a relay is still rejected (checksum)', () => {
    const withRelay = encodeInvite(fixedInvite(9, 'wss://relay.example.com/some/path'));
    expect(errorCode(() => decodeInvite(withRelay.slice(0, -3)))).toBe(ErrorCode.InviteChecksum);
  });

  it('characters outside the base32 alphabet -> E_INVITE_MALFORMED', () => {
    for (const bad of ['!', '0', '1', '8', '9', '.', '_', 'é']) {
      const mangled = code.slice(0, 30) + bad + code.slice(31);
      expect(errorCode(() => decodeInvite(mangled))).toBe(ErrorCode.InviteMalformed);
      expect(() => decodeInvite(mangled)).toThrow(/characters/);
    }
  });

  it('a code that is too long for any relay URL -> E_INVITE_MALFORMED', () => {
    const long = code + 'a'.repeat(Math.ceil(((MAX_RELAY_URL + 1) * 8) / 5));
    expect(errorCode(() => decodeInvite(long))).toBe(ErrorCode.InviteMalformed);
  });

  it('errors are PairmuxErrors whose JSON form carries code and message', () => {
    try {
      decodeInvite('hello');
      expect.unreachable();
    } catch (e) {
      const json = (e as PairmuxError).toJSON();
      expect(json.code).toBe(ErrorCode.InviteMalformed);
      expect(json.message).toMatch(/pmx1/);
    }
  });
});

describe('encodeInvite validation', () => {
  it('rejects http:// and other non-WebSocket relay URLs', () => {
    for (const relay of ['http://relay.example.com', 'https://relay.example.com', 'ftp://x.example', 'relay.example.com', 'not a url']) {
      expect(errorCode(() => encodeInvite(fixedInvite(1, relay)))).toBe(ErrorCode.InviteMalformed);
    }
  });

  it(`accepts a relay URL of exactly ${MAX_RELAY_URL} characters and rejects ${MAX_RELAY_URL + 1}`, () => {
    const base = 'wss://relay.example.com/';
    const exact = base + 'p'.repeat(MAX_RELAY_URL - base.length);
    expect(exact.length).toBe(MAX_RELAY_URL);
    expect(decodeInvite(encodeInvite(fixedInvite(2, exact))).relay).toBe(exact);
    const over = exact + 'p';
    expect(isRelayUrl(over)).toBe(false);
    expect(errorCode(() => encodeInvite(fixedInvite(2, over)))).toBe(ErrorCode.InviteMalformed);
  });

  it('rejects relay URLs carrying credentials', () => {
    expect(isRelayUrl('wss://user:pw@relay.example.com')).toBe(false);
    expect(isRelayUrl('wss://user@relay.example.com')).toBe(false);
    expect(isRelayUrl('wss://relay.example.com')).toBe(true);
    expect(isRelayUrl('ws://localhost:8080/x')).toBe(true);
  });

  it('rejects a room that is not 32 hex characters, and a secret of the wrong size', () => {
    const good = fixedInvite(3);
    expect(errorCode(() => encodeInvite({ ...good, room: good.room.slice(1) }))).toBe(ErrorCode.InviteMalformed);
    expect(errorCode(() => encodeInvite({ ...good, room: good.room.toUpperCase().replace(/[0-9]/g, 'A') }))).toBe(ErrorCode.InviteMalformed);
    expect(errorCode(() => encodeInvite({ ...good, room: 'g'.repeat(32) }))).toBe(ErrorCode.InviteMalformed);
    expect(errorCode(() => encodeInvite({ ...good, secret: new Uint8Array(31) }))).toBe(ErrorCode.InviteMalformed);
    expect(errorCode(() => encodeInvite({ ...good, secret: new Uint8Array(33) }))).toBe(ErrorCode.InviteMalformed);
  });
});

describe('newInvite', () => {
  it('gives a 32-hex room and a 32-byte secret', () => {
    const inv = newInvite();
    expect(inv.room).toMatch(/^[0-9a-f]{32}$/);
    expect(inv.secret).toBeInstanceOf(Uint8Array);
    expect(inv.secret.length).toBe(32);
    expect(inv.relay).toBeUndefined();
    expect(newInvite('wss://r.example.com').relay).toBe('wss://r.example.com');
  });

  it('two calls give different rooms and secrets', () => {
    const a = newInvite();
    const b = newInvite();
    expect(a.room).not.toBe(b.room);
    expect(Array.from(a.secret)).not.toEqual(Array.from(b.secret));
  });
});

describe('base32 and crc32', () => {
  it('round-trips random byte arrays of length 0..40', () => {
    for (let len = 0; len <= 40; len++) {
      for (let rep = 0; rep < 5; rep++) {
        const bytes = new Uint8Array(len);
        globalThis.crypto.getRandomValues(bytes);
        const text = base32Encode(bytes);
        expect(text).toMatch(/^[a-z2-7]*$/);
        expect(text.length).toBe(Math.ceil((len * 8) / 5));
        const back = base32Decode(text);
        expect(back).not.toBeNull();
        expect(Array.from(back!)).toEqual(Array.from(bytes));
        expect(Array.from(base32Decode(text.toUpperCase())!)).toEqual(Array.from(bytes));
      }
    }
  });

  it('round-trips all-zero and all-0xff bytes', () => {
    for (const fill of [0, 0xff]) {
      const bytes = new Uint8Array(37).fill(fill);
      expect(Array.from(base32Decode(base32Encode(bytes))!)).toEqual(Array.from(bytes));
    }
  });

  it('base32Decode returns null for characters outside the alphabet', () => {
    for (const ch of ['0', '1', '8', '9', '!', '=', ' ']) expect(base32Decode('abc' + ch)).toBeNull();
  });

  it('crc32("123456789") is the standard check value 0xCBF43926', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('invite codes round-trip at the limits', () => {
  it('every code encodeInvite produces decodes, even with a non-ASCII relay URL near the limit', () => {
    const relay = 'wss://relay.example.com/' + 'é'.repeat(88); // 200 UTF-8 bytes
    const code = encodeInvite(newInvite(relay));
    expect(decodeInvite(code).relay).toBe(relay);
    expect(() => encodeInvite(newInvite(relay + 'é'))).toThrow(/at most 200 bytes/);
  });

  it('a mistyped last character is reported as damage, not silently accepted', () => {
    const code = encodeInvite(newInvite());
    const last = code[code.length - 1]!;
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    for (const ch of alphabet) {
      if (ch === last) continue;
      const typo = code.slice(0, -1) + ch;
      expect(() => decodeInvite(typo)).toThrow();
    }
  });
});
