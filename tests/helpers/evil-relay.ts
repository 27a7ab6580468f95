/**
 * A deliberately malicious signaling relay, for the trust tests.
 *
 * It speaks the protocol of relay/server.ts (client -> relay: host, join,
 * signal, ping; relay -> client: hosted, joined, peer-joined, peer-left,
 * signal, room-closed, pong, error; peer ids are 16 hex characters; a host's
 * signal reaches its guest with from: 'host'), so unmodified hosts and guests
 * use it as they would the real one. Like a real relay it learns room ids and
 * peer ids, never the invite secret, so every attack here is one a real relay
 * operator could mount: it cannot open a sealed signal, only alter, drop,
 * forge (under a key it made up), replay or misroute one.
 *
 * The attack is chosen with setMode(); a guest gets the mode in force when it
 * joins. Everything the relay receives is recorded (`received`, `requests`),
 * and what it did is counted (`stats`) and listed (`attacks`), so a test can
 * check that an attack really happened before concluding it failed.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { newJoinNonce, SignalKeys, type Direction } from '../../electron/net/handshake.js';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import { CloseCode, closeCodeFor, parseClientMessage, type ClientMessage, type RelayMessage } from '../../protocol/signaling.js';

export type EvilMode = 'honest' | 'swap-fingerprint' | 'inject-offer' | 'replay' | 'cross-room';

export interface EvilOptions {
  /**
   * swap-fingerprint, and replay 'duplicate': which signal of each join is
   * attacked: the guest's first (its offer, which carries the guest's DTLS
   * fingerprint) or the host's first to that guest (its answer, the host's
   * fingerprint). Default 'offer'.
   */
  target?: 'offer' | 'answer';
  /**
   * swap-fingerprint: how the sealed signal is altered (default 'flip').
   * - 'flip': flip bits in the middle of the ciphertext, tag untouched. With an
   *   unauthenticated stream cipher this is exactly how a relay would rewrite
   *   the SDP's fingerprint without reading it; the Poly1305 tag must catch it.
   * - 'foreign-key': replace the data with a well-formed sealed blob holding a
   *   plausible SDP, which the relay sealed itself with SignalKeys under a
   *   secret it made up (right room, direction and peer id).
   * - 'reflect' (target 'answer'): replace the host's answer with the guest's
   *   own first signal: sealed with the right key, but for the other direction.
   */
  tamper?: 'flip' | 'foreign-key' | 'reflect';
  /**
   * inject-offer: what the forged answer sent to each joining guest is
   * (default 'foreign-key'): sealed under a made-up key, a bare unsealed SDP
   * (what a protocol without sealing would carry), or a sealed-looking blob
   * that claims to come from another peer rather than 'host'.
   */
  forgery?: 'foreign-key' | 'unsealed' | 'spoofed-sender';
  /**
   * replay:
   * - 'guest-to-host': the new guest's signals are dropped and the recorded
   *   guest's signals (from an earlier join) are sent to the host in its name.
   * - 'host-to-guest': the recorded host answer (from an earlier join) is sent
   *   to the new guest before anything else; the rest is forwarded honestly.
   * - 'duplicate': the `target` signal of the join is forwarded twice.
   */
  replay?: 'guest-to-host' | 'host-to-guest' | 'duplicate';
  /**
   * replay 'guest-to-host' / 'host-to-guest': the new guest is given the
   * recorded guest's peer id ('reuse', default: the relay assigns peer ids, so
   * the sealed boxes' associated data still matches) or a fresh one.
   */
  replayPeer?: 'reuse' | 'fresh';
  /** replay: the recording to replay (default: the latest one in the room with signals both ways). */
  source?: GuestRecording;
  /** cross-room: a guest joining `fromRoom` is told it joined, but is placed in `toRoom`: its signals go to that room's host. */
  fromRoom?: string;
  toRoom?: string;
}

export interface EvilStats {
  /** Client messages received. */
  received: number;
  /** Signals passed on (possibly altered). */
  forwarded: number;
  tampered: number;
  injected: number;
  replayed: number;
  diverted: number;
  dropped: number;
}

export interface ReceivedMessage {
  conn: number;
  role?: 'host' | 'guest';
  room?: string;
  peer?: string;
  raw: string;
}

/** The signals one guest's join exchanged, as the relay saw them (before any tampering). */
export interface GuestRecording {
  room: string;
  peer: string;
  /** Guest -> host signal data, in order. */
  g2h: string[];
  /** Host -> guest signal data, in order. */
  h2g: string[];
}

export interface AttackRecord {
  kind: 'tampered' | 'injected' | 'replayed' | 'diverted' | 'dropped';
  room: string;
  /** The peer id the attack concerned. */
  peer: string;
  detail: string;
}

export interface EvilRelay {
  url: string;
  port: number;
  readonly mode: EvilMode;
  readonly options: EvilOptions;
  /** The attack for guests that join from now on. */
  setMode(mode: EvilMode, options?: EvilOptions): void;
  readonly stats: EvilStats;
  /** Every raw text message a client sent the relay. */
  readonly received: ReceivedMessage[];
  /** Every WebSocket upgrade request (URL and headers). */
  readonly requests: { url: string; headers: IncomingHttpHeaders }[];
  readonly recordings: GuestRecording[];
  readonly attacks: AttackRecord[];
  readonly events: EventEmitter<{ attack: [AttackRecord]; message: [ReceivedMessage] }>;
  /** Rooms and the peer ids of the guests in them now. */
  rooms(): { room: string; guests: string[] }[];
  /** True while a guest with this peer id is connected. */
  connected(peer: string): boolean;
  /**
   * Tell a room's host a new guest joined, and send it an offer from that
   * guest in the envelope format, sealed under a key from a made-up secret.
   * Returns the made-up peer id.
   */
  injectOffer(room: string): string;
  close(): Promise<void>;
}

interface Room {
  id: string;
  host: Conn;
  guests: Map<string, Conn>;
}

interface Conn {
  id: number;
  ws: WebSocket;
  role?: 'host' | 'guest';
  /** The room whose host hears this client (for a diverted guest, not the one it asked for). */
  room?: Room;
  /** The room the guest asked to join. */
  joinedRoom?: string;
  peer?: string;
  rec?: GuestRecording;
  g2h: number;
  h2g: number;
  mode: EvilMode;
  options: EvilOptions;
  replaySource?: GuestRecording;
}

const newPeerId = () => randomBytes(8).toString('hex');

/** A plausible SDP with a random DTLS fingerprint. */
function fakeSdp(type: 'offer' | 'answer'): string {
  const fp = Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  return [
    'v=0', `o=rtc ${randomBytes(4).readUInt32BE()} 0 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=group:BUNDLE 0', 'a=msid-semantic:WMS *',
    `a=setup:${type === 'offer' ? 'actpass' : 'active'}`, `a=ice-ufrag:${randomBytes(3).toString('hex')}`, `a=ice-pwd:${randomBytes(12).toString('hex')}`,
    'a=ice-options:trickle', `a=fingerprint:sha-256 ${fp}`, 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=mid:0',
    'a=sendrecv', 'a=sctp-port:5000', 'a=max-message-size:262144', '',
  ].join('\r\n');
}

/** A well-formed sealed signal the relay made itself: right room, direction and peer, made-up secret. */
function forgeSealed(room: string, dir: Direction, peer: string, type: 'offer' | 'answer'): string {
  const keys = new SignalKeys(randomBytes(32), room);
  return keys.seal({ a: 1, j: newJoinNonce(), q: 1, s: { type, sdp: fakeSdp(type) } }, dir, peer);
}

/**
 * Flip bits in the middle of the ciphertext of a sealed signal
 * (`base64url(nonce).base64url(ciphertext | 16-byte tag)`), leaving nonce and
 * tag alone: the relay cannot read the SDP, so this is what rewriting its
 * fingerprint amounts to.
 */
export function flipSealed(data: string): string {
  const dot = data.indexOf('.');
  if (dot < 0) return `${data.slice(0, -1)}${data.endsWith('A') ? 'B' : 'A'}`;
  const box = Buffer.from(data.slice(dot + 1), 'base64url');
  const body = Math.max(1, box.length - 16);
  const from = Math.floor(body / 2);
  for (let i = from; i < Math.min(body, from + 8); i++) box[i]! ^= 0x55;
  return `${data.slice(0, dot)}.${box.toString('base64url')}`;
}

export async function startEvilRelay(initial: EvilMode = 'honest', initialOptions: EvilOptions = {}): Promise<EvilRelay> {
  let mode = initial;
  let options = initialOptions;
  const rooms = new Map<string, Room>();
  const conns = new Set<Conn>();
  const stats: EvilStats = { received: 0, forwarded: 0, tampered: 0, injected: 0, replayed: 0, diverted: 0, dropped: 0 };
  const received: ReceivedMessage[] = [];
  const requests: { url: string; headers: IncomingHttpHeaders }[] = [];
  const recordings: GuestRecording[] = [];
  const attacks: AttackRecord[] = [];
  const events = new EventEmitter<{ attack: [AttackRecord]; message: [ReceivedMessage] }>();
  let nextConn = 1;

  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const port = (wss.address() as AddressInfo).port;

  const send = (c: Conn, m: RelayMessage) => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(m));
  };
  const attack = (kind: AttackRecord['kind'], room: string, peer: string, detail: string) => {
    const a: AttackRecord = { kind, room, peer, detail };
    attacks.push(a);
    stats[kind]++;
    events.emit('attack', a);
  };
  const toHost = (room: Room, from: string, data: string) => {
    send(room.host, { t: 'signal', from, data });
    stats.forwarded++;
  };
  const toGuest = (g: Conn, data: string, from = 'host') => {
    send(g, { t: 'signal', from, data });
    stats.forwarded++;
  };

  const leave = (c: Conn) => {
    const room = c.room;
    if (!room) return;
    c.room = undefined;
    if (c.role === 'host') {
      rooms.delete(room.id);
      for (const g of room.guests.values()) {
        g.room = undefined;
        send(g, { t: 'room-closed' });
        g.ws.close(CloseCode.RoomClosed, ErrorCode.RoomClosed);
      }
    } else if (c.peer && room.guests.get(c.peer) === c) {
      room.guests.delete(c.peer);
      send(room.host, { t: 'peer-left', peer: c.peer });
    }
  };

  /** The recording a replay uses: the one asked for, or the latest in the room with signals both ways. */
  const replaySource = (room: string, opts: EvilOptions) =>
    opts.source ?? [...recordings].reverse().find((r) => r.room === room && r.g2h.length > 0 && r.h2g.length > 0);

  const join = (c: Conn, asked: string) => {
    const snapshotMode = mode;
    const snapshotOptions = { ...options };
    let room = rooms.get(asked);
    if (!room) throw new PairmuxError(ErrorCode.RoomNotFound, 'no session with this invite code is open on this relay (has the host ended it?)');
    c.mode = snapshotMode;
    c.options = snapshotOptions;
    let peer = newPeerId();
    if (snapshotMode === 'replay' && snapshotOptions.replay !== 'duplicate') {
      const src = replaySource(asked, snapshotOptions);
      if (!src) throw new Error('evil relay: nothing recorded to replay');
      c.replaySource = src;
      if ((snapshotOptions.replayPeer ?? 'reuse') === 'reuse') {
        if (room.guests.has(src.peer)) throw new Error(`evil relay: peer ${src.peer} is still connected; cannot reuse its id`);
        peer = src.peer;
      }
    }
    if (snapshotMode === 'cross-room' && snapshotOptions.fromRoom === asked && snapshotOptions.toRoom) {
      const target = rooms.get(snapshotOptions.toRoom);
      if (!target) throw new Error(`evil relay: room ${snapshotOptions.toRoom} is not hosted here`);
      attack('diverted', asked, peer, `guest put in room ${target.id}`);
      room = target;
    }
    c.role = 'guest';
    c.room = room;
    c.joinedRoom = asked;
    c.peer = peer;
    c.rec = { room: asked, peer, g2h: [], h2g: [] };
    recordings.push(c.rec);
    room.guests.set(peer, c);
    send(c, { t: 'joined', room: asked, peer, iceServers: [] });
    send(room.host, { t: 'peer-joined', peer });
  };

  const guestSignal = (c: Conn, data: string) => {
    const room = c.room!;
    const peer = c.peer!;
    c.rec!.g2h.push(data);
    const n = ++c.g2h;
    const o = c.options;
    if (room.id !== c.joinedRoom) stats.diverted++;
    switch (c.mode) {
      case 'swap-fingerprint':
        if ((o.target ?? 'offer') === 'offer' && n === 1) {
          const how = o.tamper ?? 'flip';
          const altered = how === 'foreign-key' ? forgeSealed(c.joinedRoom!, 'g2h', peer, 'offer') : flipSealed(data);
          attack('tampered', c.joinedRoom!, peer, `offer: ${how}`);
          return toHost(room, peer, altered);
        }
        break;
      case 'inject-offer':
        if (n === 1) {
          // Before the host can answer, the relay answers in the host's name.
          const forgery = o.forgery ?? 'foreign-key';
          if (forgery === 'unsealed') toGuest(c, JSON.stringify({ type: 'answer', sdp: fakeSdp('answer') }));
          else if (forgery === 'spoofed-sender') toGuest(c, forgeSealed(c.joinedRoom!, 'h2g', peer, 'answer'), newPeerId());
          else toGuest(c, forgeSealed(c.joinedRoom!, 'h2g', peer, 'answer'));
          attack('injected', c.joinedRoom!, peer, `answer: ${forgery}`);
        }
        break;
      case 'replay':
        if (o.replay === 'guest-to-host') {
          // The new guest's own signals never reach the host; an earlier guest's do, in its name.
          if (n === 1) {
            for (const d of c.replaySource!.g2h) toHost(room, peer, d);
            attack('replayed', c.joinedRoom!, peer, `${c.replaySource!.g2h.length} signals of ${c.replaySource!.peer} to the host`);
          }
          stats.dropped++;
          return;
        }
        if (o.replay === 'host-to-guest' && n === 1) {
          toGuest(c, c.replaySource!.h2g[0]!);
          attack('replayed', c.joinedRoom!, peer, `the answer sent to ${c.replaySource!.peer} to the guest`);
        }
        if (o.replay === 'duplicate' && (o.target ?? 'offer') === 'offer' && n === 1) {
          toHost(room, peer, data);
          attack('replayed', c.joinedRoom!, peer, 'offer forwarded twice');
        }
        break;
      default:
        break;
    }
    toHost(room, peer, data);
  };

  const hostSignal = (c: Conn, to: string | undefined, data: string) => {
    const room = c.room!;
    if (!to) throw new PairmuxError(ErrorCode.Malformed, 'a host signal needs "to"');
    const g = room.guests.get(to);
    if (!g) {
      attack('dropped', room.id, to, 'host signal to a peer that is not here');
      send(c, { t: 'error', code: ErrorCode.PeerNotFound, message: `guest ${to} is not in this room` });
      return;
    }
    g.rec!.h2g.push(data);
    const n = ++g.h2g;
    const o = g.options;
    if (g.joinedRoom !== room.id) stats.diverted++;
    if (g.mode === 'swap-fingerprint' && o.target === 'answer' && n === 1) {
      const how = o.tamper ?? 'flip';
      const altered =
        how === 'foreign-key' ? forgeSealed(g.joinedRoom!, 'h2g', to, 'answer') : how === 'reflect' ? g.rec!.g2h[0] ?? flipSealed(data) : flipSealed(data);
      attack('tampered', g.joinedRoom!, to, `answer: ${how}`);
      return toGuest(g, altered);
    }
    if (g.mode === 'replay' && o.replay === 'duplicate' && o.target === 'answer' && n === 1) {
      toGuest(g, data);
      attack('replayed', g.joinedRoom!, to, 'answer forwarded twice');
    }
    toGuest(g, data);
  };

  const handle = (c: Conn, m: ClientMessage) => {
    switch (m.t) {
      case 'ping':
        send(c, { t: 'pong' });
        return;
      case 'host': {
        if (c.role) throw new PairmuxError(ErrorCode.Malformed, 'this connection is already in a room');
        if (rooms.has(m.room)) throw new PairmuxError(ErrorCode.RoomExists, 'a session with this room id is already hosted here');
        const room: Room = { id: m.room, host: c, guests: new Map() };
        rooms.set(m.room, room);
        c.role = 'host';
        c.room = room;
        send(c, { t: 'hosted', room: m.room, iceServers: [] });
        return;
      }
      case 'join':
        if (c.role) throw new PairmuxError(ErrorCode.Malformed, 'this connection is already in a room');
        join(c, m.room);
        return;
      case 'signal':
        if (!c.room) throw new PairmuxError(ErrorCode.NotInRoom, 'host or join a room before sending signals');
        if (c.role === 'guest') guestSignal(c, m.data);
        else hostSignal(c, m.to, m.data);
        return;
    }
  };

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    requests.push({ url: req.url ?? '', headers: { ...req.headers } });
    const c: Conn = { id: nextConn++, ws, g2h: 0, h2g: 0, mode, options };
    conns.add(c);
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
      const text = buf.toString('utf8');
      stats.received++;
      const rec: ReceivedMessage = { conn: c.id, raw: text, ...(c.role ? { role: c.role } : {}), ...(c.room ? { room: c.room.id } : {}), ...(c.peer ? { peer: c.peer } : {}) };
      received.push(rec);
      events.emit('message', rec);
      try {
        if (isBinary) throw new PairmuxError(ErrorCode.Malformed, 'signaling messages are JSON text, not binary');
        handle(c, parseClientMessage(text));
      } catch (e) {
        const err = e instanceof PairmuxError ? e : new PairmuxError(ErrorCode.Malformed, (e as Error).message);
        send(c, { t: 'error', code: err.code, message: err.message });
        leave(c);
        ws.close(closeCodeFor(err.code), err.code);
      }
    });
    ws.on('close', () => {
      leave(c);
      conns.delete(c);
    });
    ws.on('error', () => ws.terminate());
  });

  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    get mode() {
      return mode;
    },
    get options() {
      return options;
    },
    setMode(m: EvilMode, o: EvilOptions = {}) {
      mode = m;
      options = o;
    },
    stats,
    received,
    requests,
    recordings,
    attacks,
    events,
    rooms: () => [...rooms.values()].map((r) => ({ room: r.id, guests: [...r.guests.keys()] })),
    connected: (peer: string) => [...conns].some((c) => c.peer === peer && c.room !== undefined),
    injectOffer(roomId: string): string {
      const room = rooms.get(roomId);
      if (!room) throw new Error(`evil relay: room ${roomId} is not hosted here`);
      const peer = newPeerId();
      send(room.host, { t: 'peer-joined', peer });
      send(room.host, { t: 'signal', from: peer, data: forgeSealed(roomId, 'g2h', peer, 'offer') });
      attack('injected', roomId, peer, 'offer from a made-up guest');
      return peer;
    },
    close: async () => {
      for (const c of conns) c.ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
