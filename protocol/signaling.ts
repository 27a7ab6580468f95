/**
 * Signaling messages between clients (host, guest) and the relay.
 *
 * JSON text frames over a WebSocket. The relay forwards `data` of a signal
 * without reading it: for the relay it is an opaque string. It never carries
 * terminal bytes.
 */
import { ErrorCode, PairmuxError } from './errors.js';

export const SIGNALING_VERSION = 1;

/** Limits the relay enforces; clients stay well inside them. */
export const SignalingLimits = {
  /** Largest WebSocket message the relay accepts. An SDP with candidates is ~2-4 KiB. */
  maxMessageBytes: 64 * 1024,
  /** Largest opaque signal payload. */
  maxSignalBytes: 32 * 1024,
  /** Room ids are 16 random bytes as 32 hex characters (see invite.ts). */
  roomIdPattern: /^[0-9a-f]{32}$/,
  peerIdPattern: /^[0-9a-f]{16}$/,
} as const;

/** WebSocket close codes (4000-4999 is the application range). */
export const CloseCode = {
  Normal: 1000,
  Malformed: 4400,
  BadVersion: 4426,
  RoomNotFound: 4404,
  RoomExists: 4409,
  RoomClosed: 4410,
  TooLarge: 4413,
  UnknownType: 4415,
  RateLimited: 4429,
  RoomFull: 4403,
  Idle: 4408,
  RoomExpired: 4411,
  TooManyConnections: 4431,
} as const;

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

// client -> relay
export type ClientMessage =
  | { t: 'host'; v: number; room: string }
  | { t: 'join'; v: number; room: string }
  | { t: 'signal'; to?: string; data: string }
  | { t: 'ping' };

// relay -> client
export type RelayMessage =
  | { t: 'hosted'; room: string; iceServers: IceServer[] }
  | { t: 'joined'; room: string; peer: string; iceServers: IceServer[] }
  | { t: 'peer-joined'; peer: string }
  | { t: 'peer-left'; peer: string }
  | { t: 'signal'; from: string; data: string }
  | { t: 'room-closed' }
  | { t: 'pong' }
  | { t: 'error'; code: ErrorCode; message: string };

const CLIENT_TYPES = new Set(['host', 'join', 'signal', 'ping']);

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Parse and validate one client message. Throws PairmuxError with
 * E_TOO_LARGE, E_MALFORMED, E_UNKNOWN_TYPE or E_BAD_VERSION.
 */
export function parseClientMessage(raw: string | Uint8Array): ClientMessage {
  const size = typeof raw === 'string' ? utf8Length(raw) : raw.byteLength;
  if (size > SignalingLimits.maxMessageBytes) {
    throw new PairmuxError(ErrorCode.TooLarge, `message of ${size} bytes exceeds the ${SignalingLimits.maxMessageBytes}-byte limit`);
  }
  let msg: unknown;
  try {
    msg = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    throw new PairmuxError(ErrorCode.Malformed, 'message is not valid JSON');
  }
  if (!isObject(msg) || typeof msg.t !== 'string') {
    throw new PairmuxError(ErrorCode.Malformed, 'message must be a JSON object with a string "t" field');
  }
  if (!CLIENT_TYPES.has(msg.t)) {
    throw new PairmuxError(ErrorCode.UnknownType, `unknown message type "${String(msg.t).slice(0, 40)}"`);
  }
  switch (msg.t) {
    case 'host':
    case 'join': {
      if (msg.v !== SIGNALING_VERSION) {
        throw new PairmuxError(ErrorCode.BadVersion, `signaling version ${String(msg.v)} is not supported (this relay speaks ${SIGNALING_VERSION})`);
      }
      if (typeof msg.room !== 'string' || !SignalingLimits.roomIdPattern.test(msg.room)) {
        throw new PairmuxError(ErrorCode.Malformed, 'room must be 32 lowercase hex characters');
      }
      return { t: msg.t, v: msg.v, room: msg.room };
    }
    case 'signal': {
      if (typeof msg.data !== 'string') throw new PairmuxError(ErrorCode.Malformed, 'signal.data must be a string');
      if (utf8Length(msg.data) > SignalingLimits.maxSignalBytes) {
        throw new PairmuxError(ErrorCode.TooLarge, `signal payload exceeds ${SignalingLimits.maxSignalBytes} bytes`);
      }
      if (msg.to !== undefined && (typeof msg.to !== 'string' || !SignalingLimits.peerIdPattern.test(msg.to))) {
        throw new PairmuxError(ErrorCode.Malformed, 'signal.to must be a peer id');
      }
      return msg.to === undefined ? { t: 'signal', data: msg.data } : { t: 'signal', to: msg.to, data: msg.data };
    }
    default:
      return { t: 'ping' };
  }
}

const RELAY_TYPES = new Set(['hosted', 'joined', 'peer-joined', 'peer-left', 'signal', 'room-closed', 'pong', 'error']);

/** Parse a relay message on the client. Clients treat the relay as untrusted too. */
export function parseRelayMessage(raw: string): RelayMessage {
  if (raw.length > SignalingLimits.maxMessageBytes) throw new PairmuxError(ErrorCode.TooLarge, 'relay message too large');
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    throw new PairmuxError(ErrorCode.Malformed, 'relay sent invalid JSON');
  }
  if (!isObject(msg) || typeof msg.t !== 'string' || !RELAY_TYPES.has(msg.t)) {
    throw new PairmuxError(ErrorCode.Malformed, 'relay sent an unknown message');
  }
  const str = (k: string) => {
    if (typeof msg[k] !== 'string') throw new PairmuxError(ErrorCode.Malformed, `relay message "${msg.t}" lacks ${k}`);
    return msg[k] as string;
  };
  const ice = (): IceServer[] => (Array.isArray(msg.iceServers) ? (msg.iceServers as IceServer[]).filter(isIceServer) : []);
  switch (msg.t) {
    case 'hosted': return { t: 'hosted', room: str('room'), iceServers: ice() };
    case 'joined': return { t: 'joined', room: str('room'), peer: str('peer'), iceServers: ice() };
    case 'peer-joined': return { t: 'peer-joined', peer: str('peer') };
    case 'peer-left': return { t: 'peer-left', peer: str('peer') };
    case 'signal': return { t: 'signal', from: str('from'), data: str('data') };
    case 'room-closed': return { t: 'room-closed' };
    case 'pong': return { t: 'pong' };
    default: return { t: 'error', code: str('code') as ErrorCode, message: str('message') };
  }
}

export function isIceServer(x: unknown): x is IceServer {
  if (!isObject(x)) return false;
  const urls = x.urls;
  const okUrls = typeof urls === 'string' || (Array.isArray(urls) && urls.every((u) => typeof u === 'string'));
  return okUrls && (x.username === undefined || typeof x.username === 'string') && (x.credential === undefined || typeof x.credential === 'string');
}

/** Close code for a named error, so a client can tell why without parsing text. */
export function closeCodeFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.TooLarge: return CloseCode.TooLarge;
    case ErrorCode.UnknownType: return CloseCode.UnknownType;
    case ErrorCode.BadVersion: return CloseCode.BadVersion;
    case ErrorCode.RoomNotFound: return CloseCode.RoomNotFound;
    case ErrorCode.RoomExists: return CloseCode.RoomExists;
    case ErrorCode.RoomClosed: return CloseCode.RoomClosed;
    case ErrorCode.RateLimited: return CloseCode.RateLimited;
    case ErrorCode.RoomFull: return CloseCode.RoomFull;
    case ErrorCode.Idle: return CloseCode.Idle;
    case ErrorCode.RoomExpired: return CloseCode.RoomExpired;
    case ErrorCode.TooManyConnections: return CloseCode.TooManyConnections;
    default: return CloseCode.Malformed;
  }
}

/** UTF-8 byte length without allocating (protocol/ runs in Node and the browser). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { n += 4; i++; }
    else n += 3;
  }
  return n;
}
