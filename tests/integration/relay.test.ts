/**
 * Integration tests for the signaling relay, run as a real separate process
 * (`node bin/pairmux.mjs relay --port 0 --host 127.0.0.1`) and driven with
 * plain `ws` clients over 127.0.0.1, the way a host, a guest or an operator
 * would see it.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import WebSocket from 'ws';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STARTUP_TIMEOUT_MS = 20_000;
const MESSAGE_TIMEOUT_MS = 5_000;
const PEER_ID = /^[0-9a-f]{16}$/;

type Msg = { t: string; [key: string]: unknown };
type CloseInfo = { code: number; reason: string };

// ---------------------------------------------------------------------------
// The relay process
// ---------------------------------------------------------------------------

let relay: ChildProcessByStdio<null, Readable, Readable> | undefined;
let port = 0;
let relayOutput = '';

const relayRunning = () => relay !== undefined && relay.exitCode === null && relay.signalCode === null;

/** Safety net: never leave the relay behind if this worker dies abruptly. */
const killRelayOnExit = () => {
  if (relayRunning()) relay!.kill('SIGKILL');
};

async function stopRelay(): Promise<{ code: number | null; signal: NodeJS.Signals | null; graceful: boolean }> {
  const child = relay!;
  if (!relayRunning()) return { code: child.exitCode, signal: child.signalCode, graceful: true };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const graceful = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), 5_000); }),
  ]);
  clearTimeout(timer);
  if (!graceful) {
    child.kill('SIGKILL');
    await exited;
  }
  return { code: child.exitCode, signal: child.signalCode, graceful };
}

function pidIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

beforeAll(async () => {
  process.once('exit', killRelayOnExit);
  const child = spawn(process.execPath, ['bin/pairmux.mjs', 'relay', '--port', '0', '--host', '127.0.0.1', '--joins-per-minute', '10000'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  relay = child;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => { relayOutput += chunk; });
  port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`relay did not print its port within ${STARTUP_TIMEOUT_MS} ms; output so far:\n${relayOutput}`)),
      STARTUP_TIMEOUT_MS,
    );
    const settle = (fn: () => void) => { clearTimeout(timer); fn(); };
    child.stdout.on('data', (chunk: string) => {
      relayOutput += chunk;
      const m = /pairmux relay listening on port (\d+) \(health: ([^)]+)\)/.exec(relayOutput);
      if (m) settle(() => resolve(Number(m[1])));
    });
    child.once('error', (e) => settle(() => reject(e)));
    child.once('exit', (code, signal) =>
      settle(() => reject(new Error(`relay exited before listening (${code ?? signal}); output:\n${relayOutput}`))));
  });
  expect(port).toBeGreaterThan(0);
  expect(relayOutput).toContain(`(health: http://127.0.0.1:${port}/health)`);
}, STARTUP_TIMEOUT_MS + 5_000);

afterAll(async () => {
  await closeAll();
  if (relay) {
    const pid = relay.pid!;
    await stopRelay();
    expect(pidIsGone(pid)).toBe(true);
  }
  process.removeListener('exit', killRelayOnExit);
});

// ---------------------------------------------------------------------------
// Client helpers
// ---------------------------------------------------------------------------

interface Waiter { resolve: (m: Msg) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
interface Inbox {
  queue: Msg[];
  waiters: Waiter[];
  closeInfo?: CloseInfo;
  closed: Promise<CloseInfo>;
}

const inboxes = new WeakMap<WebSocket, Inbox>();
const live = new Set<WebSocket>();

function inbox(ws: WebSocket): Inbox {
  const box = inboxes.get(ws);
  if (!box) throw new Error('socket was not created with open()');
  return box;
}

/** Connect a fresh client to the relay; every message and the close are recorded from the start. */
async function open(): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  let onClose!: (c: CloseInfo) => void;
  const box: Inbox = { queue: [], waiters: [], closed: new Promise<CloseInfo>((r) => { onClose = r; }) };
  inboxes.set(ws, box);
  live.add(ws);
  ws.on('message', (raw: WebSocket.RawData, isBinary: boolean) => {
    const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.concat(raw as Buffer[]).toString('utf8');
    let msg: Msg;
    try {
      msg = isBinary ? { t: '<binary>', text } : (JSON.parse(text) as Msg);
    } catch {
      msg = { t: '<invalid json>', text };
    }
    const w = box.waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.resolve(msg);
    } else box.queue.push(msg);
  });
  ws.on('close', (code: number, reason: Buffer) => {
    const info = { code, reason: reason.toString('utf8') };
    box.closeInfo = info;
    live.delete(ws);
    for (const w of box.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`socket closed (${code} ${info.reason}) while waiting for a message`));
    }
    onClose(info);
  });
  // Resets after the relay closes us are expected in some tests; the close event carries the verdict.
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', (code: number) => reject(new Error(`could not connect to the relay (close ${code})`)));
  });
  return ws;
}

/** The next message the relay sent this client, parsed. */
function next(ws: WebSocket, timeoutMs = MESSAGE_TIMEOUT_MS): Promise<Msg> {
  const box = inbox(ws);
  const queued = box.queue.shift();
  if (queued) return Promise.resolve(queued);
  if (box.closeInfo) {
    return Promise.reject(new Error(`socket already closed (${box.closeInfo.code} ${box.closeInfo.reason}); no message pending`));
  }
  return new Promise<Msg>((resolve, reject) => {
    const waiter: Waiter = {
      resolve,
      reject,
      timer: setTimeout(() => {
        box.waiters.splice(box.waiters.indexOf(waiter), 1);
        reject(new Error(`no message from the relay within ${timeoutMs} ms`));
      }, timeoutMs),
    };
    box.waiters.push(waiter);
  });
}

/** Resolves with the close code and reason once this client's socket has closed. */
function closed(ws: WebSocket, timeoutMs = MESSAGE_TIMEOUT_MS): Promise<CloseInfo> {
  const box = inbox(ws);
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    box.closed,
    new Promise<CloseInfo>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Every message received and not yet consumed (use after the socket closed). */
function drain(ws: WebSocket): Msg[] {
  return inbox(ws).queue.splice(0);
}

function send(ws: WebSocket, msg: unknown): void {
  ws.send(JSON.stringify(msg));
}

function newRoom(): string {
  return randomBytes(16).toString('hex');
}

async function closeAll(): Promise<void> {
  const sockets = [...live];
  for (const ws of sockets) ws.close(1000);
  await Promise.all(sockets.map(async (ws) => {
    try {
      await closed(ws, 2_000);
    } catch {
      ws.terminate();
    }
  }));
}

afterEach(closeAll);

/** The next message must be the named error, followed by a close with its code. */
async function expectError(ws: WebSocket, code: string, closeCode?: number): Promise<void> {
  const msg = await next(ws);
  expect(msg).toEqual({ t: 'error', code, message: expect.any(String) });
  expect((msg.message as string).length).toBeGreaterThan(0);
  if (closeCode !== undefined) {
    expect(await closed(ws)).toEqual({ code: closeCode, reason: code });
  }
}

async function hostRoom(room = newRoom()): Promise<{ host: WebSocket; room: string }> {
  const host = await open();
  send(host, { t: 'host', v: 1, room });
  expect(await next(host)).toEqual({ t: 'hosted', room, iceServers: [] });
  return { host, room };
}

async function joinRoom(host: WebSocket, room: string): Promise<{ guest: WebSocket; peer: string }> {
  const guest = await open();
  send(guest, { t: 'join', v: 1, room });
  const joined = await next(guest);
  expect(joined).toEqual({ t: 'joined', room, peer: expect.stringMatching(PEER_ID), iceServers: [] });
  const peer = joined.peer as string;
  expect(await next(host)).toEqual({ t: 'peer-joined', peer });
  return { guest, peer };
}

async function pair(): Promise<{ host: WebSocket; guest: WebSocket; room: string; peer: string }> {
  const { host, room } = await hostRoom();
  const { guest, peer } = await joinRoom(host, room);
  return { host, guest, room, peer };
}

/** A well-formed host+guest pair can still open a room and exchange signals both ways. */
async function assertPairWorks(): Promise<void> {
  expect(relayRunning()).toBe(true);
  const { host, guest, peer } = await pair();
  send(guest, { t: 'signal', data: 'offer' });
  expect(await next(host)).toEqual({ t: 'signal', from: peer, data: 'offer' });
  send(host, { t: 'signal', to: peer, data: 'answer' });
  expect(await next(guest)).toEqual({ t: 'signal', from: 'host', data: 'answer' });
  guest.close(1000);
  host.close(1000);
  await Promise.all([closed(guest), closed(host)]);
}

interface Health { ok: boolean; service: string; rooms: number; connections: number }

async function health(): Promise<{ status: number; contentType: string | null; body: Health }> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: res.status, contentType: res.headers.get('content-type'), body: (await res.json()) as Health };
}

/** Poll /health until it reports the expected counts (closes are processed asynchronously). */
async function waitForCounts(rooms: number, connections: number, timeoutMs = MESSAGE_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Health | undefined;
  while (Date.now() < deadline) {
    last = (await health()).body;
    if (last.rooms === rooms && last.connections === connections) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  expect(last, `health never reported rooms=${rooms} connections=${connections}`).toMatchObject({ rooms, connections });
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe('relay process: health endpoint', () => {
  it('GET /health returns 200 JSON with ok:true and room/connection counts that follow hosts and guests', async () => {
    await waitForCounts(0, 0);
    const first = await health();
    expect(first.status).toBe(200);
    expect(first.contentType).toMatch(/^application\/json/);
    expect(first.body).toMatchObject({ ok: true, service: 'pairmux-relay', rooms: 0, connections: 0 });

    // Counts are updated before the relay answers, so they are exact right after each reply.
    const a = await hostRoom();
    expect((await health()).body).toMatchObject({ ok: true, rooms: 1, connections: 1 });
    const g1 = await joinRoom(a.host, a.room);
    expect((await health()).body).toMatchObject({ rooms: 1, connections: 2 });
    const b = await hostRoom();
    expect((await health()).body).toMatchObject({ rooms: 2, connections: 3 });
    const idle = await open();
    send(idle, { t: 'ping' });
    expect(await next(idle)).toEqual({ t: 'pong' });
    expect((await health()).body).toMatchObject({ rooms: 2, connections: 4 });

    idle.close(1000);
    await waitForCounts(2, 3);
    g1.guest.close(1000);
    await waitForCounts(2, 2);
    a.host.close(1000);
    await waitForCounts(1, 1);
    b.host.close(1000);
    await waitForCounts(0, 0);
  });

  it('any other HTTP path is a 404 pointing at /health', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('/health');
  });
});

describe('relay process: rooms and signal routing', () => {
  it('host opens a room, guests join, and signals are routed only between a guest and its host', async () => {
    const { host, room } = await hostRoom();
    const { guest: guest1, peer: peer1 } = await joinRoom(host, room);
    const { guest: guest2, peer: peer2 } = await joinRoom(host, room);
    expect(peer1).not.toBe(peer2);

    // guest -> host carries the guest's peer id
    send(guest1, { t: 'signal', data: 'x' });
    expect(await next(host)).toEqual({ t: 'signal', from: peer1, data: 'x' });
    // host -> one guest, addressed by peer id
    send(host, { t: 'signal', to: peer1, data: 'y' });
    expect(await next(guest1)).toEqual({ t: 'signal', from: 'host', data: 'y' });

    // The relay handles each socket's messages in order, so if guest2 had been sent
    // either signal above, it would arrive before the pong to this later ping.
    send(guest2, { t: 'ping' });
    expect(await next(guest2)).toEqual({ t: 'pong' });

    // And the other way round: guest2's traffic does not reach guest1.
    send(guest2, { t: 'signal', data: 'z' });
    expect(await next(host)).toEqual({ t: 'signal', from: peer2, data: 'z' });
    send(host, { t: 'signal', to: peer2, data: 'w' });
    expect(await next(guest2)).toEqual({ t: 'signal', from: 'host', data: 'w' });
    send(guest1, { t: 'ping' });
    expect(await next(guest1)).toEqual({ t: 'pong' });
    send(host, { t: 'ping' });
    expect(await next(host)).toEqual({ t: 'pong' });
  });

  it('a host cannot address a guest of another room', async () => {
    const a = await pair();
    const other = await hostRoom();
    send(other.host, { t: 'signal', to: a.peer, data: 'not for you' });
    await expectError(other.host, 'E_PEER_NOT_FOUND');
    // Reported without closing: the host stays usable, and the guest got nothing.
    send(other.host, { t: 'ping' });
    expect(await next(other.host)).toEqual({ t: 'pong' });
    send(a.guest, { t: 'ping' });
    expect(await next(a.guest)).toEqual({ t: 'pong' });
  });
});

describe('relay process: named errors and close codes', () => {
  const cases: Array<{ name: string; act: (ws: WebSocket) => void; code: string; close: number }> = [
    { name: 'invalid JSON', act: (ws) => ws.send('{"t":"host",'), code: 'E_MALFORMED', close: 4400 },
    { name: 'unknown message type', act: (ws) => send(ws, { t: 'bogus' }), code: 'E_UNKNOWN_TYPE', close: 4415 },
    {
      name: 'oversized text message (70 KiB)',
      act: (ws) => send(ws, { t: 'signal', data: 'a'.repeat(70 * 1024) }),
      code: 'E_TOO_LARGE',
      close: 4413,
    },
    {
      name: 'binary message',
      act: (ws) => ws.send(Buffer.from(JSON.stringify({ t: 'ping' }), 'utf8'), { binary: true }),
      code: 'E_MALFORMED',
      close: 4400,
    },
    { name: 'host with wrong version v:99', act: (ws) => send(ws, { t: 'host', v: 99, room: newRoom() }), code: 'E_BAD_VERSION', close: 4426 },
    { name: 'join with wrong version v:99', act: (ws) => send(ws, { t: 'join', v: 99, room: newRoom() }), code: 'E_BAD_VERSION', close: 4426 },
    { name: 'join of a room nobody hosts', act: (ws) => send(ws, { t: 'join', v: 1, room: newRoom() }), code: 'E_ROOM_NOT_FOUND', close: 4404 },
    { name: 'signal before joining', act: (ws) => send(ws, { t: 'signal', data: 'early' }), code: 'E_NOT_IN_ROOM', close: 4400 },
  ];

  it.each(cases)('$name -> $code, close $close; the relay keeps serving', async ({ act, code, close }) => {
    const ws = await open();
    act(ws);
    await expectError(ws, code, close);
    expect(drain(ws)).toEqual([]);
    await assertPairWorks();
  });

  it('hosting a room id that is already hosted -> E_ROOM_EXISTS, close 4409; the original room is untouched', async () => {
    const { host, room } = await hostRoom();
    const impostor = await open();
    send(impostor, { t: 'host', v: 1, room });
    await expectError(impostor, 'E_ROOM_EXISTS', 4409);

    // The original host still owns the room: a guest joins it and signals reach it.
    const { guest, peer } = await joinRoom(host, room);
    send(guest, { t: 'signal', data: 'still mine' });
    expect(await next(host)).toEqual({ t: 'signal', from: peer, data: 'still mine' });
    await assertPairWorks();
  });
});

describe('relay process: room expiry', () => {
  it('when the host closes, every guest gets room-closed and close 4410, and the room is gone', async () => {
    const { host, room } = await hostRoom();
    const { guest: g1 } = await joinRoom(host, room);
    const { guest: g2 } = await joinRoom(host, room);

    host.close(1000);
    for (const g of [g1, g2]) {
      expect(await next(g)).toEqual({ t: 'room-closed' });
      expect(await closed(g)).toEqual({ code: 4410, reason: 'E_ROOM_CLOSED' });
    }

    const late = await open();
    send(late, { t: 'join', v: 1, room });
    await expectError(late, 'E_ROOM_NOT_FOUND', 4404);

    // The room id is free again.
    const again = await hostRoom(room);
    await joinRoom(again.host, room);
  });

  it('when the host drops without a close handshake, guests are still told and closed with 4410', async () => {
    const { host, room } = await hostRoom();
    const { guest } = await joinRoom(host, room);
    host.terminate();
    expect(await next(guest)).toEqual({ t: 'room-closed' });
    expect(await closed(guest)).toEqual({ code: 4410, reason: 'E_ROOM_CLOSED' });
    const late = await open();
    send(late, { t: 'join', v: 1, room });
    await expectError(late, 'E_ROOM_NOT_FOUND', 4404);
  });

  it('when a guest leaves, the host gets peer-left and the other guests are unaffected', async () => {
    const { host, room } = await hostRoom();
    const { guest: leaving, peer: leftPeer } = await joinRoom(host, room);
    const { guest: staying, peer: stayingPeer } = await joinRoom(host, room);

    leaving.close(1000);
    expect(await next(host)).toEqual({ t: 'peer-left', peer: leftPeer });

    // A late signal to the departed guest is a benign race: reported, not fatal.
    send(host, { t: 'signal', to: leftPeer, data: 'too late' });
    await expectError(host, 'E_PEER_NOT_FOUND');
    send(host, { t: 'signal', to: stayingPeer, data: 'hello' });
    expect(await next(staying)).toEqual({ t: 'signal', from: 'host', data: 'hello' });
    send(staying, { t: 'signal', data: 'hi' });
    expect(await next(host)).toEqual({ t: 'signal', from: stayingPeer, data: 'hi' });
  });
});

describe('relay process: flood protection', () => {
  it('a client bursting 500 pings gets E_RATE_LIMITED and close 4429; other clients are unaffected', async () => {
    const bystanders = await pair();
    const loner = await open();
    const flooder = await open();

    for (let i = 0; i < 500; i++) send(flooder, { t: 'ping' });
    expect(await closed(flooder)).toEqual({ code: 4429, reason: 'E_RATE_LIMITED' });

    const got = drain(flooder);
    const pongs = got.filter((m) => m.t === 'pong').length;
    const errors = got.filter((m) => m.t === 'error');
    expect(errors).toEqual([{ t: 'error', code: 'E_RATE_LIMITED', message: expect.any(String) }]);
    expect(got.at(-1)).toEqual(errors[0]); // the error is the last word
    expect(pongs).toBeGreaterThan(0); // the burst allowance was honoured...
    expect(pongs).toBeLessThan(500); // ...but the flood was cut off
    expect(got.length).toBe(pongs + 1);

    send(loner, { t: 'ping' });
    expect(await next(loner)).toEqual({ t: 'pong' });
    send(bystanders.guest, { t: 'signal', data: 'unaffected' });
    expect(await next(bystanders.host)).toEqual({ t: 'signal', from: bystanders.peer, data: 'unaffected' });
    send(bystanders.host, { t: 'ping' });
    expect(await next(bystanders.host)).toEqual({ t: 'pong' });
  });
});

describe('relay process: signal payloads are opaque', () => {
  // The relay never carries terminal data (that goes peer-to-peer); what it does
  // carry, the signal blob, must come out exactly as it went in.
  const sdp = [
    'v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
    'a=group:BUNDLE 0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0', 'a=ice-ufrag:Xy7/', 'a=ice-pwd:q9+Zr/abc==',
    'a=fingerprint:sha-256 12:AB:34:CD', 'a=setup:actpass', 'a=sctp-port:5000', '',
  ].join('\r\n');
  const payloads: Array<[string, string]> = [
    ['an SDP offer with CRLF line endings', JSON.stringify({ type: 'offer', sdp })],
    ['emoji, ZWJ sequences and astral characters', '👩‍💻 pairing 🧑🏽‍🤝‍🧑🏻 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🏳️‍🌈'],
    ['CJK, RTL and combining marks (no normalisation)', '端末を共有 — مرحبا — e\u0301 vs \u00e9 — Ω\u0308'],
    ['control characters, quotes, backslashes and separators', '\u0000\u0001\u001b[31mred\u001b[0m\t"quoted" \\path\\ \u2028\u2029\u007f'],
    ['text that looks like a relay message', '{"t":"room-closed"}'],
    ['an unpaired surrogate', 'a\ud83db'],
    ['the empty string', ''],
    ['a payload at the 32 KiB signal limit', 'q'.repeat(32 * 1024)],
  ];

  it.each(payloads)('%s is forwarded unchanged in both directions', async (_name, data) => {
    const { host, guest, peer } = await pair();
    send(guest, { t: 'signal', data });
    const atHost = await next(host);
    expect(atHost).toEqual({ t: 'signal', from: peer, data });
    expect(Buffer.from(atHost.data as string, 'utf8').equals(Buffer.from(data, 'utf8'))).toBe(true);

    send(host, { t: 'signal', to: peer, data });
    const atGuest = await next(guest);
    expect(atGuest).toEqual({ t: 'signal', from: 'host', data });
    expect(Buffer.from(atGuest.data as string, 'utf8').equals(Buffer.from(data, 'utf8'))).toBe(true);
  });
});

describe('relay process: shutdown', () => {
  it('exits 0 on SIGTERM, disconnecting clients and leaving no process behind', async () => {
    const { host, guest } = await pair();
    const pid = relay!.pid!;
    const result = await stopRelay();
    expect(result).toEqual({ code: 0, signal: null, graceful: true });
    expect(pidIsGone(pid)).toBe(true);
    await Promise.all([closed(host), closed(guest)]);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });
});
