/**
 * The signaling relay: hosts open rooms, guests join them, and the relay
 * forwards opaque signal blobs between a guest and its room's host. It tells
 * clients which ICE servers to use. It never carries terminal data and never
 * sees the invite secret (only the room id).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { ErrorCode, PairmuxError } from '../protocol/errors.js';
import {
  CloseCode, SignalingLimits, closeCodeFor, parseClientMessage,
  type ClientMessage, type IceServer, type RelayMessage,
} from '../protocol/signaling.js';

export interface RelayOptions {
  port?: number;
  host?: string;
  /** STUN/TURN servers handed to clients. None are needed on one machine or LAN. */
  iceServers?: IceServer[];
  maxGuestsPerRoom?: number;
  /** Sustained messages per second per connection, and the burst allowed above it. */
  messagesPerSecond?: number;
  messageBurst?: number;
  maxConnectionsPerAddress?: number;
  maxRoomsPerAddress?: number;
  maxConnections?: number;
  maxRooms?: number;
  /** Join attempts per minute from one address, and into one room. */
  joinsPerMinutePerAddress?: number;
  joinsPerMinutePerRoom?: number;
  /** A connection that has not hosted or joined a room after this long is closed. */
  idleMs?: number;
  /** A room is closed this long after it opened (hosts reconnect for long sessions). */
  roomLifetimeMs?: number;
  log?: (line: string) => void;
}

/**
 * Every limit in one place, with why. The relay is public and untrusted by
 * design; these keep one client (or one address) from exhausting it.
 */
export const RelayDefaults = {
  port: 7420,
  host: '0.0.0.0',
  maxGuestsPerRoom: 32,
  // A join exchanges ~10-30 signals (offer, answer, trickled candidates);
  // 50/s with a burst of 200 leaves ample room while stopping floods.
  messagesPerSecond: 50,
  messageBurst: 200,
  // A team behind one NAT shares an address: generous, but bounded.
  maxConnectionsPerAddress: 64,
  maxRoomsPerAddress: 16,
  // Whole-relay ceilings: ~10 KB of state per connection keeps this in the tens of MB.
  maxConnections: 10_000,
  maxRooms: 5_000,
  // Guessing a room id is hopeless (128 bits) and the secret more so (256);
  // these stop anyone from trying at scale anyway.
  joinsPerMinutePerAddress: 30,
  joinsPerMinutePerRoom: 60,
  idleMs: 30_000,
  roomLifetimeMs: 24 * 60 * 60 * 1000,
  /** Ping every client this often; one that misses a pong is dropped. */
  heartbeatMs: 30_000,
} as const;

/** A token bucket refilled continuously: `rate` per `perMs`, holding at most `burst`. */
class Bucket {
  private tokens: number;
  private last = Date.now();
  constructor(private readonly rate: number, private readonly perMs: number, private readonly burst: number) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / this.perMs) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  /** True once the bucket is full again (it can be forgotten). */
  idle(): boolean {
    return this.tokens + ((Date.now() - this.last) / this.perMs) * this.rate >= this.burst;
  }
}

interface Room {
  id: string;
  host: Client;
  guests: Map<string, Client>;
  expiry: NodeJS.Timeout;
}

interface Client {
  ws: WebSocket;
  address: string;
  room?: Room;
  role?: 'host' | 'guest';
  peer?: string;
  bucket: Bucket;
  idle?: NodeJS.Timeout;
  alive: boolean;
  /** Set once the relay decided to close it: messages still in flight are ignored. */
  closing: boolean;
}

export interface Relay {
  url: string;
  port: number;
  close(): Promise<void>;
  stats(): { rooms: number; connections: number };
}

export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const opts = { ...RelayDefaults, ...options };
  const log = options.log ?? (() => {});
  const iceServers = options.iceServers ?? [];
  const rooms = new Map<string, Room>();
  const clients = new Set<Client>();
  const perAddress = new Map<string, { connections: number; rooms: number }>();
  const joinBuckets = new Map<string, Bucket>(); // keyed "a:<address>" and "r:<room>"
  const joinAllowed = (key: string, perMinute: number) => {
    let b = joinBuckets.get(key);
    if (!b) joinBuckets.set(key, (b = new Bucket(perMinute, 60_000, perMinute)));
    return b.take();
  };
  const countsFor = (address: string) => {
    let c = perAddress.get(address);
    if (!c) perAddress.set(address, (c = { connections: 0, rooms: 0 }));
    return c;
  };
  const release = (address: string) => {
    const c = perAddress.get(address);
    if (c && c.connections <= 0 && c.rooms <= 0) perAddress.delete(address);
  };

  const http: Server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      const mem = process.memoryUsage();
      res.end(JSON.stringify({ ok: true, service: 'pairmux-relay', rooms: rooms.size, connections: clients.size, addresses: perAddress.size, heapUsed: mem.heapUsed, rss: mem.rss }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('pairmux relay: connect with a WebSocket; GET /health for status\n');
  });
  // ws's own cap is a backstop far above ours, so oversized messages reach our
  // check and get a named error instead of a bare 1009 close.
  const wss = new WebSocketServer({ server: http, maxPayload: 1024 * 1024 });

  const send = (c: Client, m: RelayMessage) => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(m));
  };
  const fail = (c: Client, err: PairmuxError, close = true) => {
    send(c, { t: 'error', code: err.code, message: err.message });
    if (close) {
      c.closing = true;
      leave(c); // a rejected host's room must not outlive the rejection
      c.ws.close(closeCodeFor(err.code), err.code);
    }
  };

  const leave = (c: Client) => {
    const room = c.room;
    if (!room) return;
    c.room = undefined;
    if (c.role === 'host') {
      rooms.delete(room.id);
      clearTimeout(room.expiry);
      countsFor(c.address).rooms--;
      release(c.address);
      log(`room ${room.id.slice(0, 8)}… closed (${room.guests.size} guests)`);
      for (const g of room.guests.values()) {
        g.room = undefined;
        send(g, { t: 'room-closed' });
        g.ws.close(CloseCode.RoomClosed, ErrorCode.RoomClosed);
      }
    } else if (c.peer) {
      room.guests.delete(c.peer);
      send(room.host, { t: 'peer-left', peer: c.peer });
    }
  };

  const handle = (c: Client, m: ClientMessage) => {
    switch (m.t) {
      case 'ping':
        send(c, { t: 'pong' });
        return;
      case 'host': {
        if (c.room) throw new PairmuxError(ErrorCode.Malformed, 'this connection is already in a room');
        if (rooms.has(m.room)) throw new PairmuxError(ErrorCode.RoomExists, 'a session with this room id is already hosted here');
        const counts = countsFor(c.address);
        if (counts.rooms >= opts.maxRoomsPerAddress || rooms.size >= opts.maxRooms) {
          throw new PairmuxError(ErrorCode.TooManyConnections, `too many rooms open from this address (at most ${opts.maxRoomsPerAddress})`);
        }
        counts.rooms++;
        const expiry = setTimeout(() => {
          send(c, { t: 'error', code: ErrorCode.RoomExpired, message: 'the room reached its lifetime; host again to get a new code' });
          c.closing = true;
          leave(c);
          c.ws.close(CloseCode.RoomExpired, ErrorCode.RoomExpired);
        }, opts.roomLifetimeMs);
        expiry.unref();
        const room: Room = { id: m.room, host: c, guests: new Map(), expiry };
        rooms.set(m.room, room);
        clearTimeout(c.idle);
        c.room = room;
        c.role = 'host';
        log(`room ${m.room.slice(0, 8)}… opened`);
        send(c, { t: 'hosted', room: m.room, iceServers });
        return;
      }
      case 'join': {
        if (c.room) throw new PairmuxError(ErrorCode.Malformed, 'this connection is already in a room');
        if (!joinAllowed(`a:${c.address}`, opts.joinsPerMinutePerAddress) || !joinAllowed(`r:${m.room}`, opts.joinsPerMinutePerRoom)) {
          throw new PairmuxError(ErrorCode.RateLimited, 'too many join attempts; wait a minute and try again');
        }
        const room = rooms.get(m.room);
        if (!room) throw new PairmuxError(ErrorCode.RoomNotFound, 'no session with this invite code is open on this relay (has the host ended it?)');
        if (room.guests.size >= opts.maxGuestsPerRoom) throw new PairmuxError(ErrorCode.RoomFull, `this session already has ${opts.maxGuestsPerRoom} guests`);
        const peer = randomBytes(8).toString('hex');
        room.guests.set(peer, c);
        c.room = room;
        c.role = 'guest';
        c.peer = peer;
        clearTimeout(c.idle);
        send(c, { t: 'joined', room: m.room, peer, iceServers });
        send(room.host, { t: 'peer-joined', peer });
        return;
      }
      case 'signal': {
        const room = c.room;
        if (!room) throw new PairmuxError(ErrorCode.NotInRoom, 'host or join a room before sending signals');
        if (c.role === 'guest') {
          send(room.host, { t: 'signal', from: c.peer!, data: m.data });
          return;
        }
        if (!m.to) throw new PairmuxError(ErrorCode.Malformed, 'a host signal needs "to"');
        const g = room.guests.get(m.to);
        // The guest may have just left: a benign race, so report without closing.
        if (!g) return fail(c, new PairmuxError(ErrorCode.PeerNotFound, `guest ${m.to} is not in this room`), false);
        send(g, { t: 'signal', from: 'host', data: m.data });
        return;
      }
    }
  };

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const c: Client = { ws, address, bucket: new Bucket(opts.messagesPerSecond, 1000, opts.messageBurst), alive: true, closing: false };
    const counts = countsFor(address);
    if (counts.connections >= opts.maxConnectionsPerAddress || clients.size >= opts.maxConnections) {
      release(address);
      c.closing = true;
      const err = new PairmuxError(ErrorCode.TooManyConnections, `too many connections from this address (at most ${opts.maxConnectionsPerAddress})`);
      send(c, { t: 'error', code: err.code, message: err.message });
      ws.close(closeCodeFor(err.code), err.code);
      return;
    }
    counts.connections++;
    clients.add(c);
    c.idle = setTimeout(() => fail(c, new PairmuxError(ErrorCode.Idle, `host or join a room within ${Math.round(opts.idleMs / 1000)} s of connecting`)), opts.idleMs);
    c.idle.unref();
    ws.on('pong', () => { c.alive = true; });
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      if (c.closing) return;
      if (!c.bucket.take()) return fail(c, new PairmuxError(ErrorCode.RateLimited, `more than ${opts.messagesPerSecond} messages per second`));
      try {
        const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
        if (isBinary) {
          if (buf.length > SignalingLimits.maxMessageBytes) throw new PairmuxError(ErrorCode.TooLarge, `message of ${buf.length} bytes exceeds the ${SignalingLimits.maxMessageBytes}-byte limit`);
          throw new PairmuxError(ErrorCode.Malformed, 'signaling messages are JSON text, not binary');
        }
        handle(c, parseClientMessage(buf));
      } catch (e) {
        if (e instanceof PairmuxError) fail(c, e);
        else {
          log(`internal error: ${(e as Error).message}`);
          fail(c, new PairmuxError(ErrorCode.Malformed, 'message could not be handled'));
        }
      }
    });
    ws.on('close', () => {
      clearTimeout(c.idle);
      leave(c);
      clients.delete(c);
      countsFor(address).connections--;
      release(address);
    });
    ws.on('error', () => ws.terminate());
  });

  const heartbeat = setInterval(() => {
    for (const [k, b] of joinBuckets) if (b.idle()) joinBuckets.delete(k); // bounded memory
    for (const c of clients) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, RelayDefaults.heartbeatMs);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    url: `ws://${shownHost}:${port}`,
    port,
    stats: () => ({ rooms: rooms.size, connections: clients.size }),
    close: async () => {
      clearInterval(heartbeat);
      for (const r of rooms.values()) clearTimeout(r.expiry);
      for (const c of clients) clearTimeout(c.idle);
      for (const c of clients) c.ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
