/**
 * Invite codes: one pasteable string carrying a room id, a secret and
 * (when it is not the default) the relay's address.
 *
 *   pmx1 + base32( room[16] | secret[32] | relayUrl utf8[0..200] | crc32[4] )
 *
 * - Letters and digits only, so a double-click selects the whole code and case
 *   does not matter (base32 decoding is case-insensitive; spaces and dashes that
 *   chat apps insert are ignored).
 * - `pmx1` is the format version: a later format gets a new prefix and old apps
 *   say so instead of misreading it.
 * - The relay only ever learns `room`. `secret` (256 bits) stays between the
 *   people holding the code; the trust handshake derives keys from it.
 * - The CRC catches typos and truncation with a clear message before anything
 *   touches the network; it is not a security feature.
 */
import { ErrorCode, PairmuxError } from './errors.js';

export const INVITE_PREFIX = 'pmx1';
export const ROOM_BYTES = 16;
export const SECRET_BYTES = 32;
export const MAX_RELAY_URL = 200;

export interface Invite {
  /** 32 lowercase hex characters; the only part the relay sees. */
  room: string;
  /** 32 random bytes. */
  secret: Uint8Array;
  /** ws:// or wss:// URL, or undefined for the default relay. */
  relay?: string;
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Uint8Array | null {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text.toLowerCase()) {
    const v = B32.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  }
  return Uint8Array.from(out);
}

let crcTable: Uint32Array | undefined;
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = crcTable[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

export function isRelayUrl(url: string): boolean {
  if (new TextEncoder().encode(url).length > MAX_RELAY_URL) return false;
  try {
    const u = new URL(url);
    return (u.protocol === 'ws:' || u.protocol === 'wss:') && u.hostname.length > 0 && !u.username && !u.password;
  } catch {
    return false;
  }
}

export function encodeInvite(invite: Invite): string {
  if (!/^[0-9a-f]{32}$/.test(invite.room)) throw new PairmuxError(ErrorCode.InviteMalformed, 'room must be 32 hex characters');
  if (invite.secret.length !== SECRET_BYTES) throw new PairmuxError(ErrorCode.InviteMalformed, `secret must be ${SECRET_BYTES} bytes`);
  if (invite.relay !== undefined && !isRelayUrl(invite.relay)) {
    throw new PairmuxError(ErrorCode.InviteMalformed, `relay must be a ws:// or wss:// URL of at most ${MAX_RELAY_URL} bytes`);
  }
  const relay = new TextEncoder().encode(invite.relay ?? '');
  const body = new Uint8Array(ROOM_BYTES + SECRET_BYTES + relay.length + 4);
  body.set(unhex(invite.room), 0);
  body.set(invite.secret, ROOM_BYTES);
  body.set(relay, ROOM_BYTES + SECRET_BYTES);
  new DataView(body.buffer).setUint32(body.length - 4, crc32(body.subarray(0, body.length - 4)));
  return INVITE_PREFIX + base32Encode(body);
}

/**
 * Decode a pasted invite code. Throws PairmuxError E_INVITE_MALFORMED,
 * E_INVITE_VERSION or E_INVITE_CHECKSUM with a message a person can act on.
 */
export function decodeInvite(pasted: string): Invite {
  const text = pasted.trim().replace(/[\s-]+/g, '');
  if (text.length === 0) throw new PairmuxError(ErrorCode.InviteMalformed, 'the invite code is empty: paste the code the host shared');
  const lower = text.toLowerCase();
  if (!lower.startsWith('pmx')) {
    throw new PairmuxError(ErrorCode.InviteMalformed, 'this is not a pairmux invite code (codes start with "pmx1")');
  }
  if (!lower.startsWith(INVITE_PREFIX)) {
    throw new PairmuxError(ErrorCode.InviteVersion, `this invite code is from a different pairmux version ("${text.slice(0, 4)}"); update pairmux on both sides`);
  }
  const body = base32Decode(lower.slice(INVITE_PREFIX.length));
  if (!body) throw new PairmuxError(ErrorCode.InviteMalformed, 'the invite code contains characters that cannot be in a code; copy it again');
  const minLen = ROOM_BYTES + SECRET_BYTES + 4;
  if (body.length < minLen || body.length > minLen + MAX_RELAY_URL) {
    throw new PairmuxError(ErrorCode.InviteMalformed, 'the invite code has the wrong length (was it cut off?); copy the whole code again');
  }
  const crc = new DataView(body.buffer, body.byteOffset).getUint32(body.length - 4);
  // The last base32 character has spare bits; a code that is not exactly what
  // the encoder makes was mistyped there, which the CRC alone would not see.
  if (crc !== crc32(body.subarray(0, body.length - 4)) || base32Encode(body) !== lower.slice(INVITE_PREFIX.length)) {
    throw new PairmuxError(ErrorCode.InviteChecksum, 'the invite code is damaged (checksum mismatch); copy the whole code again');
  }
  const room = hex(body.subarray(0, ROOM_BYTES));
  const secret = body.slice(ROOM_BYTES, ROOM_BYTES + SECRET_BYTES);
  const relayBytes = body.subarray(ROOM_BYTES + SECRET_BYTES, body.length - 4);
  let relay: string | undefined;
  if (relayBytes.length > 0) {
    try {
      relay = new TextDecoder('utf-8', { fatal: true }).decode(relayBytes);
    } catch {
      throw new PairmuxError(ErrorCode.InviteMalformed, 'the relay address in the invite code is not valid text');
    }
    if (!isRelayUrl(relay)) throw new PairmuxError(ErrorCode.InviteMalformed, `the relay address in the invite code is not a ws:// or wss:// URL`);
  }
  return relay === undefined ? { room, secret } : { room, secret, relay };
}

/** A fresh invite with random room id and secret (Web Crypto: Node and browsers). */
export function newInvite(relay?: string): Invite {
  const room = new Uint8Array(ROOM_BYTES);
  const secret = new Uint8Array(SECRET_BYTES);
  globalThis.crypto.getRandomValues(room);
  globalThis.crypto.getRandomValues(secret);
  return relay === undefined ? { room: hex(room), secret } : { room: hex(room), secret, relay };
}
