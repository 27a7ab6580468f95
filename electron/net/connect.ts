/**
 * Establishing peer links through the relay.
 *
 * The guest is the WebRTC initiator. Each connection attempt has a number;
 * every signal carries it, so the host starts a fresh peer for a new attempt
 * and drops stale signals. A cold connect occasionally fails in
 * node-datachannel ("remote candidate without ICE transport", ~2 in 25) or
 * stalls: the guest retries with a new attempt instead of failing the join.
 */
import { EventEmitter } from 'node:events';
import Peer from 'simple-peer';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import type { IceServer, RelayMessage } from '../../protocol/signaling.js';
import { destroyPeer, PeerLink } from './link.js';
import { SignalingClient } from './signaling-client.js';
import { wrtc } from './webrtc.js';

export const ConnectPolicy = {
  /** One attempt's deadline; a healthy loopback connect takes ~20 ms, a LAN one well under 1 s. */
  attemptTimeoutMs: 8_000,
  attempts: 4,
} as const;

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
  private pending = new Map<string, { attempt: number; peer: Peer.Instance }>();
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

  private onMessage(m: RelayMessage): void {
    if (m.t === 'peer-joined') this.emit('peer-joined', m.peer);
    else if (m.t === 'peer-left') {
      const p = this.pending.get(m.peer);
      if (p) destroyPeer(p.peer);
      this.pending.delete(m.peer);
      this.emit('peer-left', m.peer);
    } else if (m.t === 'signal') {
      const env = decodeEnvelope(m.data);
      if (!env) return;
      let cur = this.pending.get(m.from);
      if (!cur || env.a > cur.attempt) {
        if (cur) destroyPeer(cur.peer);
        cur = { attempt: env.a, peer: this.answer(m.from, env.a) };
        this.pending.set(m.from, cur);
      }
      if (env.a === cur.attempt) {
        try {
          cur.peer.signal(env.s);
        } catch {
          /* a bad signal fails this attempt; the guest retries */
        }
      }
    }
  }

  private answer(from: string, attempt: number): Peer.Instance {
    const peer = newPeer(false, this.iceServers);
    peer.on('signal', (s) => this.sig.send({ t: 'signal', to: from, data: encodeEnvelope({ a: attempt, s }) }));
    peer.once('connect', () => {
      if (this.pending.get(from)?.peer === peer) this.pending.delete(from);
      this.emit('link', new PeerLink(peer), from);
    });
    peer.on('error', () => {
      destroyPeer(peer);
    });
    return peer;
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) destroyPeer(p.peer);
    this.pending.clear();
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
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= policy.attempts; attempt++) {
      try {
        const link = await attemptConnect(sig, iceServers, attempt, policy.attemptTimeoutMs);
        return { link, signaling: sig, peerId };
      } catch (e) {
        lastError = e as Error;
        if (e instanceof PairmuxError && e.code !== ErrorCode.ConnectFailed) throw e;
      }
    }
    throw new PairmuxError(ErrorCode.ConnectFailed, `could not connect to the host after ${policy.attempts} attempts (${lastError?.message ?? 'unknown'}); a firewall may block WebRTC, or the relay needs a TURN server`);
  } catch (e) {
    sig.close();
    throw e;
  }
}

function attemptConnect(sig: SignalingClient, iceServers: IceServer[], attempt: number, timeoutMs: number): Promise<PeerLink> {
  return new Promise((resolve, reject) => {
    const peer = newPeer(true, iceServers);
    const cleanup = () => {
      clearTimeout(timer);
      sig.off('message', onMsg);
      sig.off('close', onClose);
    };
    const fail = (err: PairmuxError) => {
      cleanup();
      destroyPeer(peer);
      reject(err);
    };
    const onMsg = (m: RelayMessage) => {
      if (m.t === 'room-closed') return fail(new PairmuxError(ErrorCode.RoomClosed, 'the host ended the session'));
      if (m.t !== 'signal' || m.from !== 'host') return;
      const env = decodeEnvelope(m.data);
      if (!env || env.a !== attempt) return;
      try {
        peer.signal(env.s);
      } catch (e) {
        fail(new PairmuxError(ErrorCode.ConnectFailed, `bad signal: ${(e as Error).message}`));
      }
    };
    const onClose = (e?: PairmuxError) => fail(e ?? new PairmuxError(ErrorCode.Disconnected, 'the relay closed the connection'));
    const timer = setTimeout(() => fail(new PairmuxError(ErrorCode.ConnectFailed, `attempt ${attempt} timed out`)), timeoutMs);
    sig.on('message', onMsg);
    sig.on('close', onClose);
    peer.on('signal', (s) => sig.send({ t: 'signal', data: encodeEnvelope({ a: attempt, s }) }));
    peer.once('connect', () => {
      cleanup();
      resolve(new PeerLink(peer));
    });
    peer.on('error', (e) => fail(new PairmuxError(ErrorCode.ConnectFailed, e.message)));
  });
}
