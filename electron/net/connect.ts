/**
 * Establishing peer links through the relay.
 *
 * The guest is the WebRTC initiator. Each connection attempt has a number;
 * every signal carries it, so the host starts a fresh peer for a new attempt
 * and drops stale signals.
 *
 * Measured here: ICE connects in ~5 ms, but in about a third of connects
 * libdatachannel's DTLS handshake loses its first flight and waits out the
 * 1 s DTLS retransmit timer; a cold connect also occasionally fails outright
 * ("remote candidate without ICE transport"). So the guest hedges: if an
 * attempt has not connected after `hedgeMs` it starts another in parallel,
 * and the first to connect wins; a failed attempt is replaced at once.
 */
import { EventEmitter } from 'node:events';
import Peer from 'simple-peer';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import type { IceServer, RelayMessage } from '../../protocol/signaling.js';
import { destroyPeer, PeerLink } from './link.js';
import { SignalingClient } from './signaling-client.js';
import { wrtc } from './webrtc.js';

export const ConnectPolicy = {
  /** One attempt's deadline; a healthy loopback connect takes ~10 ms, a LAN one well under 1 s. */
  attemptTimeoutMs: 8_000,
  /** Attempts in all, and at most this many in flight at once. */
  attempts: 8,
  parallel: 4,
  /** Start another attempt when none has connected after this long (well above a healthy connect). */
  hedgeMs: 150,
} as const;

/** Pending peers a host keeps per guest (older ones are dropped). */
const MAX_PENDING_PER_GUEST = 4;

/** What travels inside a relay signal's opaque `data`. */
interface SignalEnvelope {
  a: number; // attempt
  s: Peer.SignalData;
}

function encodeEnvelope(e: SignalEnvelope): string {
  return JSON.stringify(e);
}
function decodeEnvelope(data: string): SignalEnvelope | undefined {
  try {
    const e = JSON.parse(data) as SignalEnvelope;
    return Number.isInteger(e.a) && typeof e.s === 'object' && e.s !== null ? e : undefined;
  } catch {
    return undefined;
  }
}

function newPeer(initiator: boolean, iceServers: IceServer[]): Peer.Instance {
  return new Peer({ initiator, trickle: true, wrtc, config: { iceServers }, allowHalfTrickle: false });
}

export interface HostListenerEvents {
  link: [link: PeerLink, peer: string];
  'peer-joined': [peer: string];
  'peer-left': [peer: string];
  close: [error?: PairmuxError];
}

/** The host's side: answers every guest's attempts and emits a PeerLink per connected guest. */
export class HostListener extends EventEmitter<HostListenerEvents> {
  /** Per guest, the peers of its attempts still connecting. */
  private pending = new Map<string, Map<number, Peer.Instance>>();
  private closed = false;

  private constructor(private readonly sig: SignalingClient, private readonly iceServers: IceServer[]) {
    super();
    sig.on('message', (m) => this.onMessage(m));
    sig.on('close', (e) => {
      if (!this.closed) this.emit('close', e);
    });
  }

  static async open(relayUrl: string, room: string): Promise<HostListener> {
    const sig = await SignalingClient.connect(relayUrl);
    try {
      const ice = await sig.host(room);
      return new HostListener(sig, ice);
    } catch (e) {
      sig.close();
      throw e;
    }
  }

  private dropPending(guest: string, keep?: number): void {
    const peers = this.pending.get(guest);
    if (!peers) return;
    for (const [a, p] of peers) if (a !== keep) destroyPeer(p);
    this.pending.delete(guest);
  }

  private onMessage(m: RelayMessage): void {
    if (m.t === 'peer-joined') this.emit('peer-joined', m.peer);
    else if (m.t === 'peer-left') {
      this.dropPending(m.peer);
      this.emit('peer-left', m.peer);
    } else if (m.t === 'signal') {
      const env = decodeEnvelope(m.data);
      if (!env) return;
      let peers = this.pending.get(m.from);
      if (!peers) {
        peers = new Map();
        this.pending.set(m.from, peers);
      }
      let peer = peers.get(env.a);
      if (!peer) {
        peer = this.answer(m.from, env.a);
        peers.set(env.a, peer);
        if (peers.size > MAX_PENDING_PER_GUEST) {
          const oldest = Math.min(...peers.keys());
          destroyPeer(peers.get(oldest)!);
          peers.delete(oldest);
        }
      }
      try {
        peer.signal(env.s);
      } catch {
        /* a bad signal fails this attempt; the guest tries another */
      }
    }
  }

  private answer(from: string, attempt: number): Peer.Instance {
    const peer = newPeer(false, this.iceServers);
    peer.on('signal', (s) => this.sig.send({ t: 'signal', to: from, data: encodeEnvelope({ a: attempt, s }) }));
    peer.once('connect', () => {
      this.dropPending(from, attempt);
      this.emit('link', new PeerLink(peer), from);
    });
    peer.on('error', () => {
      destroyPeer(peer);
      this.pending.get(from)?.delete(attempt);
    });
    return peer;
  }

  close(): void {
    this.closed = true;
    for (const g of [...this.pending.keys()]) this.dropPending(g);
    this.sig.close();
  }
}

/**
 * The guest's side: join the room and connect to its host, retrying a failed
 * attempt. Resolves with the link and the signaling client (kept open so the
 * guest can reconnect later).
 */
export async function connectToHost(relayUrl: string, room: string, policy = ConnectPolicy): Promise<{ link: PeerLink; signaling: SignalingClient; peerId: string }> {
  const sig = await SignalingClient.connect(relayUrl);
  try {
    const { peer: peerId, iceServers } = await sig.join(room);
    const link = await hedgedConnect(sig, iceServers, policy);
    return { link, signaling: sig, peerId };
  } catch (e) {
    sig.close();
    throw e;
  }
}

/** Run attempts, hedging slow ones, until one connects or all have failed. */
function hedgedConnect(sig: SignalingClient, iceServers: IceServer[], policy: typeof ConnectPolicy): Promise<PeerLink> {
  return new Promise((resolve, reject) => {
    const live = new Map<number, Peer.Instance>();
    let started = 0;
    let settled = false;
    let lastError = 'unknown';
    let hedge: NodeJS.Timeout | undefined;
    const timers = new Map<number, NodeJS.Timeout>();

    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (hedge) clearTimeout(hedge);
      for (const t of timers.values()) clearTimeout(t);
      sig.off('message', onMsg);
      sig.off('close', onClose);
      fn();
    };
    const failAll = (err: PairmuxError) =>
      finish(() => {
        for (const p of live.values()) destroyPeer(p);
        reject(err);
      });
    const attemptFailed = (a: number, why: string) => {
      const p = live.get(a);
      if (!p || settled) return;
      lastError = why;
      destroyPeer(p);
      live.delete(a);
      clearTimeout(timers.get(a));
      if (started < policy.attempts) start();
      else if (live.size === 0) {
        failAll(new PairmuxError(ErrorCode.ConnectFailed, `could not connect to the host after ${policy.attempts} attempts (${lastError}); a firewall may block WebRTC, or the relay needs a TURN server`));
      }
    };
    const scheduleHedge = () => {
      if (hedge) clearTimeout(hedge);
      hedge = setTimeout(() => {
        if (!settled && started < policy.attempts && live.size < policy.parallel) start();
        else if (!settled) scheduleHedge();
      }, policy.hedgeMs);
    };
    const start = () => {
      const a = ++started;
      const peer = newPeer(true, iceServers);
      live.set(a, peer);
      timers.set(a, setTimeout(() => attemptFailed(a, `attempt ${a} timed out`), policy.attemptTimeoutMs));
      peer.on('signal', (s) => sig.send({ t: 'signal', data: encodeEnvelope({ a, s }) }));
      peer.once('connect', () =>
        finish(() => {
          for (const [b, p] of live) if (b !== a) destroyPeer(p);
          resolve(new PeerLink(peer));
        }),
      );
      peer.on('error', (e) => attemptFailed(a, e.message));
      scheduleHedge();
    };
    const onMsg = (m: RelayMessage) => {
      if (m.t === 'room-closed') return failAll(new PairmuxError(ErrorCode.RoomClosed, 'the host ended the session'));
      if (m.t !== 'signal' || m.from !== 'host') return;
      const env = decodeEnvelope(m.data);
      const peer = env && live.get(env.a);
      if (!peer) return;
      try {
        peer.signal(env.s);
      } catch (e) {
        attemptFailed(env.a, `bad signal: ${(e as Error).message}`);
      }
    };
    const onClose = (e?: PairmuxError) => failAll(e ?? new PairmuxError(ErrorCode.Disconnected, 'the relay closed the connection'));
    sig.on('message', onMsg);
    sig.on('close', onClose);
    start();
  });
}
