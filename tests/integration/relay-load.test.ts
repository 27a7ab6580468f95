/**
 * The relay under abuse, as a separate process with its default limits:
 * thousands of connections from many (loopback) addresses sending malformed,
 * oversized and flooding messages, while a well-formed host and guest are
 * still served; per-address caps, idle and join limits answer with named
 * errors; memory stays bounded. Loopback only (127.0.0.0/8).
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelayProcess, waitFor, type RelayProcess } from '../helpers/processes.js';

// Two relay processes: one with a short idle limit for that test, one with
// every default for the load (opening 2,000 connections on a loaded machine
// can take longer than a short idle limit).
let relay: RelayProcess;
let limitsRelay: RelayProcess;
let loadRelay: RelayProcess;

beforeAll(async () => {
  [limitsRelay, loadRelay] = await Promise.all([startRelayProcess(['--idle-seconds', '3']), startRelayProcess()]);
  relay = limitsRelay;
});
afterAll(async () => {
  await Promise.all([limitsRelay?.stop(), loadRelay?.stop()]);
});

interface Conn {
  ws: WebSocket;
  messages: { t: string; code?: string; [k: string]: unknown }[];
  closed: Promise<{ code: number; reason: string }>;
}

function open(localAddress = '127.0.0.1'): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(relay.url, { localAddress });
    const messages: Conn['messages'] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('error', reject);
  });
}

const room = () => Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
const health = async () => (await (await fetch(`http://127.0.0.1:${relay.port}/health`)).json()) as { connections: number; rooms: number; addresses: number; heapUsed: number };

/** A host and a guest that find each other and exchange a signal both ways. */
async function wellFormedPair(address = '127.0.0.1'): Promise<void> {
  const r = room();
  const host = await open(address);
  host.ws.send(JSON.stringify({ t: 'host', v: 1, room: r }));
  await waitFor(() => host.messages.find((m) => m.t === 'hosted'), 'hosted', 10_000, 10);
  const guest = await open(address);
  guest.ws.send(JSON.stringify({ t: 'join', v: 1, room: r }));
  const joined = await waitFor(() => guest.messages.find((m) => m.t === 'joined'), 'joined', 10_000, 10);
  guest.ws.send(JSON.stringify({ t: 'signal', data: 'offer' }));
  await waitFor(() => host.messages.find((m) => m.t === 'signal' && m.data === 'offer'), 'the offer at the host', 10_000, 10);
  host.ws.send(JSON.stringify({ t: 'signal', to: joined.peer, data: 'answer' }));
  await waitFor(() => guest.messages.find((m) => m.t === 'signal' && m.data === 'answer'), 'the answer at the guest', 10_000, 10);
  host.ws.close();
  guest.ws.close();
}

describe('relay limits', () => {
  it('caps connections per address with E_TOO_MANY_CONNECTIONS (4431), others unaffected', async () => {
    const conns = await Promise.all(Array.from({ length: 64 }, () => open('127.0.2.1')));
    const extra = await open('127.0.2.1');
    const c = await extra.closed;
    expect(c.code).toBe(4431);
    expect(extra.messages[0]).toMatchObject({ t: 'error', code: 'E_TOO_MANY_CONNECTIONS' });
    await wellFormedPair('127.0.2.2');
    for (const x of conns) x.ws.close();
    await waitFor(async () => (await health()).connections === 0, 'connections to drain');
  });

  it('closes a connection that never hosts or joins with E_IDLE (4408)', async () => {
    const c = await open('127.0.2.3');
    const closed = await c.closed;
    expect(closed.code).toBe(4408);
    expect(c.messages[0]).toMatchObject({ t: 'error', code: 'E_IDLE' });
  });

  it('limits join attempts per address with E_RATE_LIMITED (guessing rooms goes nowhere)', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 35; i++) {
      const c = await open('127.0.2.4');
      c.ws.send(JSON.stringify({ t: 'join', v: 1, room: room() }));
      await c.closed;
      codes.push(String(c.messages[0]?.code));
    }
    expect(codes.slice(0, 30).every((x) => x === 'E_ROOM_NOT_FOUND')).toBe(true);
    expect(codes.slice(30).every((x) => x === 'E_RATE_LIMITED')).toBe(true);
    await wellFormedPair('127.0.2.5'); // another address is unaffected
  });
});

describe('relay under load', () => {
  it('serves a host and guest while 2,000 abusive connections come and go; memory stays bounded', async () => {
    relay = loadRelay;
    const base = await health();
    const round = async (r: number) => {
      const clients: Conn[] = [];
      // 40 addresses x 50 connections: under the per-address cap, so every one is accepted.
      for (let a = 1; a <= 40; a++) {
        const batch = await Promise.all(Array.from({ length: 50 }, () => open(`127.0.${10 + r}.${a}`)));
        clients.push(...batch);
      }
      expect((await health()).connections).toBeGreaterThanOrEqual(2000);
      const big = 'x'.repeat(70 * 1024);
      clients.forEach((c, i) => {
        switch (i % 5) {
          case 0: c.ws.send('{not json'); break;
          case 1: c.ws.send(big); break;
          case 2: for (let k = 0; k < 300; k++) c.ws.send('{"t":"ping"}'); break;
          case 3: c.ws.send(JSON.stringify({ t: 'nope' })); break;
          default: c.ws.send(JSON.stringify({ t: 'host', v: 1, room: room() }));
        }
      });
      // While that is going on, a well-formed pair is served.
      await wellFormedPair();
      const closes = await Promise.all(clients.filter((_, i) => i % 5 !== 4).map((c) => c.closed));
      const byCode = new Map<number, number>();
      for (const c of closes) byCode.set(c.code, (byCode.get(c.code) ?? 0) + 1);
      expect(byCode.get(4400)).toBe(400); // malformed
      expect(byCode.get(4413)).toBe(400); // oversized
      expect(byCode.get(4429)).toBe(400); // flood
      expect(byCode.get(4415)).toBe(400); // unknown type
      expect((await health()).rooms).toBeGreaterThanOrEqual(400);
      for (const c of clients) c.ws.close();
      await waitFor(async () => (await health()).connections === 0, 'all connections to close', 30_000, 100);
      const h = await health();
      expect(h.rooms).toBe(0);
      expect(h.addresses).toBe(0); // per-address bookkeeping is released
      return h.heapUsed;
    };
    const heap1 = await round(1);
    const heap2 = await round(2);
    // Bounded: the state is released (checked above: no connections, rooms or
    // per-address entries left), the heap stays well under what 2,000 live
    // connections need, and a second identical round does not add what the
    // first left (allowing for garbage not yet collected).
    expect(heap1 - base.heapUsed).toBeLessThan(128 * 1024 * 1024);
    expect(heap2 - heap1).toBeLessThan(64 * 1024 * 1024);
    await wellFormedPair();
  }, 120_000);
});
