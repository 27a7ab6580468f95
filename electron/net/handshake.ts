/**
 * The trust handshake: the invite secret makes the relay untrusted.
 *
 * - Keys: HKDF-SHA256(secret, salt = "pairmux/v1/" + room) gives a signal key
 *   and a confirmation key. The relay knows the room id, never the secret.
 * - Every signal (SDP offer/answer, ICE candidates) is sealed with
 *   XChaCha20-Poly1305 under the signal key. The associated data binds the
 *   room, the direction and the guest's relay peer id, so the relay cannot
 *   read or alter an SDP (its DTLS fingerprint pins the peer connection),
 *   forge or inject an offer or answer, redirect a signal to another guest,
 *   or carry one into another room.
 * - Replays: each join has a fresh random join nonce that every signal of
 *   that join carries, and sequence numbers increase per sender; the host
 *   also refuses a sealed box it has already opened.
 * - Key confirmation: over the data channel, HELLO and WELCOME carry
 *   HMAC(confirm key, role | join nonce | guest fingerprint | host fingerprint),
 *   binding the DTLS identities actually negotiated to the secret.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from 'node:crypto';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';

export type Direction = 'g2h' | 'h2g';

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));
export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Sealed signal contents. */
export interface SignalPlain<S = unknown> {
  /** Connection attempt (see connect.ts). */
  a: number;
  /** The join this signal belongs to (hex, 16 bytes). */
  j: string;
  /** Sender's sequence number within the join. */
  q: number;
  /** simple-peer's signal. */
  s: S;
}

export class SignalKeys {
  private readonly signalKey: Uint8Array;
  private readonly confirmKey: Uint8Array;

  constructor(secret: Uint8Array, readonly room: string) {
    if (secret.length !== 32) throw new PairmuxError(ErrorCode.InviteMalformed, 'the invite secret must be 32 bytes');
    const salt = enc.encode(`pairmux/v1/${room}`);
    this.signalKey = hkdf(sha256, secret, salt, enc.encode('signal'), 32);
    this.confirmKey = hkdf(sha256, secret, salt, enc.encode('confirm'), 32);
  }

  private aad(dir: Direction, guestPeer: string): Uint8Array {
    return enc.encode(`pairmux/v1|${this.room}|${dir}|${guestPeer}`);
  }

  seal(plain: SignalPlain, dir: Direction, guestPeer: string): string {
    const nonce = randomBytes(24);
    const box = xchacha20poly1305(this.signalKey, nonce, this.aad(dir, guestPeer)).encrypt(enc.encode(JSON.stringify(plain)));
    return `${b64(nonce)}.${b64(box)}`;
  }

  /**
   * Open a sealed signal. Throws E_SIGNAL_FORGED when it was not sealed with
   * this invite's secret for this room, direction and guest.
   */
  open(data: string, dir: Direction, guestPeer: string): { plain: SignalPlain; nonce: string } {
    const [n, c] = data.split('.');
    const forged = () => new PairmuxError(ErrorCode.SignalForged, 'a signaling message failed authentication: the relay altered or forged it (or the invite code is wrong)');
    if (!n || !c || n.length !== 32) throw forged();
    let bytes: Uint8Array;
    try {
      bytes = xchacha20poly1305(this.signalKey, unb64(n), this.aad(dir, guestPeer)).decrypt(unb64(c));
    } catch {
      throw forged();
    }
    const plain = JSON.parse(dec.decode(bytes)) as SignalPlain;
    if (!Number.isInteger(plain.a) || !Number.isInteger(plain.q) || typeof plain.j !== 'string' || typeof plain.s !== 'object' || plain.s === null) throw forged();
    return { plain, nonce: n };
  }

  /** Key confirmation over the negotiated DTLS fingerprints. */
  proof(role: 'guest' | 'host', joinNonce: string, guestFingerprint: string, hostFingerprint: string): string {
    return hex(hmac(sha256, this.confirmKey, enc.encode(`${role}|${joinNonce}|${guestFingerprint.toUpperCase()}|${hostFingerprint.toUpperCase()}`)));
  }
}

export function newJoinNonce(): string {
  return hex(randomBytes(16));
}

/** The DTLS certificate fingerprint an SDP announces (what pins the peer connection). */
export function sdpFingerprint(sdp: string): string | undefined {
  return /a=fingerprint:sha-256 ([0-9A-Fa-f:]+)/.exec(sdp)?.[1]?.toUpperCase();
}

/** What both ends of a connected link know from the authenticated exchange. */
export interface LinkAuth {
  keys: SignalKeys;
  joinNonce: string;
  guestFingerprint: string;
  hostFingerprint: string;
}

/** Constant-time comparison of two hex strings. */
export function sameProof(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}
