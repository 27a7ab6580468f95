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
import type { Invite } from '../../protocol/invite.js';
import { newJoinNonce, sdpFingerprint, SignalKeys, type LinkAuth, type SignalPlain } from './handshake.js';
import { destroyPeer, PeerLink } from './link.js';
import { SignalingClient } from './signaling-client.js';
import { wrtc } from './webrtc.js';

export const ConnectPolicy = {
  /** One attempt's deadline; a healthy loopback connect takes ~10 ms, a LAN one well under 1 s. */
  attemptTimeoutMs: 8_000,
  /** Attempts in all, and at most this many in flight at once. */
  attempts: 8,
  parallel: 4,
  /** Start another attempt when none has connected after this long (a healthy connect takes 7-30 ms here). */
  hedgeMs: 60,
} as const;

/** Pending peers a host keeps per guest (older ones are dropped). */
const MAX_PENDING_PER_GUEST = 4;

/** A sealed signal telling the other side why its join was refused. */
interface RejectSignal {
  type: 'pairmux-reject';
  code: string;
  message: string;
  /**
   * When the refusing side could not open the box it refuses (so it does not
   * know the join), the nonce of that box: the other side accepts the refusal
   * only for a box it sent in this join, so an old refusal cannot be replayed.
   */
  re?: string;
}
const isReject = (s: unknown): s is RejectSignal => typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'pairmux-reject';

function newPeer(initiator: boolean, iceServers: IceServer[]): Peer.Instance {
  return new Peer({ initiator, trickle: true, wrtc, config: { iceServers }, allowHalfTrickle: false });
}

export interface HostListenerEvents {
  link: [link: PeerLink, peer: string, auth: LinkAuth];
  'peer-joined': [peer: string];
  'peer-left': [peer: string];
  /** A join was refused because its signals failed authentication (a tampering relay). */
  rejected: [peer: string, error: PairmuxError];
  close: [error?: PairmuxError];
}

interface GuestHandshake {
  join?: string;
  lastSeqIn: number;
  seqOut: number;
  peers: Map<number, Peer.Instance>;
  offers: Map<number, string>;
  answers: Map<number, string>;
  /** Joins (by nonce; '' when unknown) that failed: their later signals are ignored. */
  failedJoins: Set<string>;
  /** Refusals already reported, so each is reported once. */
  reported: Set<string>;
}

/** Sealed boxes already opened, so a replayed one is refused (bounded). */
const SEEN_LIMIT = 4096;

/** The host's side: answers every guest's attempts and emits a PeerLink per connected guest. */
export class HostListener extends EventEmitter<HostListenerEvents> {
  private guests = new Map<string, GuestHandshake>();
  private seen = new Set<string>();
  private closed = false;

  private constructor(private readonly sig: SignalingClient, private readonly iceServers: IceServer[], private readonly keys: SignalKeys) {
    super();
    sig.on('message', (m) => this.onMessage(m));
    sig.on('close', (e) => {
      if (!this.closed) this.emit('close', e);
    });
  }

  static async open(relayUrl: string, invite: Invite): Promise<HostListener> {
    const keys = new SignalKeys(invite.secret, invite.room);
    const sig = await SignalingClient.connect(relayUrl);
    try {
      const ice = await sig.host(invite.room);
      return new HostListener(sig, ice, keys);
    } catch (e) {
      sig.close();
      throw e;
    }
  }

  private dropPending(guest: string, keep?: number): void {
    const g = this.guests.get(guest);
    if (!g) return;
    for (const [a, p] of g.peers) if (a !== keep) destroyPeer(p);
    g.peers.clear();
  }

  private sendSealed(to: string, g: GuestHandshake, a: number, s: unknown, join = g.join ?? ''): void {
    this.sig.send({ t: 'signal', to, data: this.keys.seal({ a, j: join, q: ++g.seqOut, s }, 'h2g', to) });
  }

  /** Report a refused join once, and tell the guest (sealed) for the join it belongs to. */
  private reject(peer: string, g: GuestHandshake, err: PairmuxError, join: string, re?: string): void {
    this.dropPending(peer);
    g.failedJoins.add(join);
    const key = `${join}|${err.code}`;
    if (g.reported.has(key)) return;
    g.reported.add(key);
    this.sendSealed(peer, g, 0, { type: 'pairmux-reject', code: err.code, message: err.message, ...(re ? { re } : {}) } satisfies RejectSignal, join);
    this.emit('rejected', peer, err);
  }

  private onMessage(m: RelayMessage): void {
    if (m.t === 'peer-joined') this.emit('peer-joined', m.peer);
    else if (m.t === 'peer-left') {
      this.dropPending(m.peer);
      this.guests.delete(m.peer);
      this.emit('peer-left', m.peer);
    } else if (m.t === 'signal') {
      let g = this.guests.get(m.from);
      if (!g) {
        if (this.guests.size > 1024) return; // the relay caps guests per room; this is a backstop
        g = { lastSeqIn: 0, seqOut: 0, peers: new Map(), offers: new Map(), answers: new Map(), failedJoins: new Set(), reported: new Set() };
        this.guests.set(m.from, g);
      }
      let opened: ReturnType<SignalKeys['open']>;
      try {
        opened = this.keys.open(m.data, 'g2h', m.from);
      } catch (e) {
        const box = m.data.split('.')[0] ?? '';
        return this.reject(m.from, g, e as PairmuxError, g.join ?? '', /^[A-Za-z0-9_-]{32}$/.test(box) ? box : undefined);
      }
      const { plain, nonce } = opened;
      if (this.seen.has(nonce)) {
        return this.reject(m.from, g, new PairmuxError(ErrorCode.SignalReplayed, 'a signaling message was replayed: the relay re-sent an old message'), plain.j);
      }
      this.seen.add(nonce);
      if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value!);
      if (isReject(plain.s)) {
        this.dropPending(m.from);
        g.failedJoins.add(plain.j);
        const key = `${plain.j}|guest`;
        if (!g.reported.has(key)) {
          g.reported.add(key);
          this.emit('rejected', m.from, new PairmuxError(plain.s.code as ErrorCode, `the guest refused the handshake: ${String(plain.s.message).slice(0, 200)}`));
        }
        return;
      }
      // After a box this host could not open, the next join seen from that
      // guest is the one that failed: its other signals are not answered.
      if (g.join === undefined && g.failedJoins.has('')) {
        g.join = plain.j;
        g.failedJoins.add(plain.j);
        return;
      }
      if (g.failedJoins.has(plain.j)) return;
      if ((g.join !== undefined && plain.j !== g.join) || plain.q <= g.lastSeqIn) {
        return this.reject(m.from, g, new PairmuxError(ErrorCode.SignalReplayed, 'a signaling message was replayed: the relay re-sent an old message'), plain.j);
      }
      g.join ??= plain.j;
      g.lastSeqIn = plain.q;
      const sig = plain.s as Peer.SignalData;
      if (sig.type === 'offer' && typeof sig.sdp === 'string') g.offers.set(plain.a, sig.sdp);
      let peer = g.peers.get(plain.a);
      if (!peer) {
        peer = this.answer(m.from, g, plain.a);
        g.peers.set(plain.a, peer);
        if (g.peers.size > MAX_PENDING_PER_GUEST) {
          const oldest = Math.min(...g.peers.keys());
          destroyPeer(g.peers.get(oldest)!);
          g.peers.delete(oldest);
        }
      }
      try {
        peer.signal(sig);
      } catch {
        /* a bad signal fails this attempt; the guest tries another */
      }
    }
  }

  private answer(from: string, g: GuestHandshake, attempt: number): Peer.Instance {
    const peer = newPeer(false, this.iceServers);
    peer.on('signal', (s) => {
      if (s.type === 'answer' && typeof s.sdp === 'string') g.answers.set(attempt, s.sdp);
      this.sendSealed(from, g, attempt, s);
    });
    peer.once('connect', () => {
      // Only the guest picks the winning attempt (it closes the others): if the
      // host also dropped the rest, two attempts connecting at once could each
      // be killed by the side that picked the other.
      g.peers.delete(attempt);
      const guestFingerprint = sdpFingerprint(g.offers.get(attempt) ?? '');
      const hostFingerprint = sdpFingerprint(g.answers.get(attempt) ?? '');
      const link = new PeerLink(peer);
      if (!guestFingerprint || !hostFingerprint || !g.join) {
        link.close();
        return this.reject(from, g, new PairmuxError(ErrorCode.HandshakeFailed, 'the connection has no authenticated DTLS fingerprints'), g.join ?? '');
      }
      this.emit('link', link, from, { keys: this.keys, joinNonce: g.join, guestFingerprint, hostFingerprint });
    });
    peer.on('error', () => {
      destroyPeer(peer);
      g.peers.delete(attempt);
    });
    return peer;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const g of [...this.guests.keys()]) this.dropPending(g);
    return this.sig.close();
  }
}

/**
 * The guest's side: join the room and connect to its host, retrying a failed
 * attempt. Resolves with the link and the signaling client (kept open so the
 * guest can reconnect later).
 */
export async function connectToHost(relayUrl: string, invite: Invite, policy = ConnectPolicy): Promise<{ link: PeerLink; signaling: SignalingClient; peerId: string; auth: LinkAuth }> {
  const keys = new SignalKeys(invite.secret, invite.room);
  const sig = await SignalingClient.connect(relayUrl);
  try {
    const { peer: peerId, iceServers } = await sig.join(invite.room);
    const { link, auth } = await hedgedConnect(sig, iceServers, policy, keys, peerId);
    return { link, signaling: sig, peerId, auth };
  } catch (e) {
    sig.close();
    throw e;
  }
}

/** Run attempts, hedging slow ones, until one connects, all have failed, or the handshake is refused. */
function hedgedConnect(sig: SignalingClient, iceServers: IceServer[], policy: typeof ConnectPolicy, keys: SignalKeys, peerId: string): Promise<{ link: PeerLink; auth: LinkAuth }> {
  return new Promise((resolve, reject) => {
    const join = newJoinNonce();
    let seqOut = 0;
    let lastSeqIn = 0;
    const live = new Map<number, Peer.Instance>();
    const offers = new Map<number, string>();
    const answers = new Map<number, string>();
    let started = 0;
    let settled = false;
    let lastError = 'unknown';
    let hedge: NodeJS.Timeout | undefined;
    const timers = new Map<number, NodeJS.Timeout>();
    /** Nonces of the boxes this join sent (a refusal of one of them is genuine). */
    const sentBoxes = new Set<string>();
    const sendSealed = (a: number, s: unknown) => {
      const data = keys.seal({ a, j: join, q: ++seqOut, s }, 'g2h', peerId);
      sentBoxes.add(data.split('.')[0]!);
      sig.send({ t: 'signal', data });
    };

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
    /** Refuse the handshake: tell the host (sealed, so the relay cannot fake it) and fail the join. */
    const refuse = (err: PairmuxError) => {
      if (settled) return;
      sendSealed(0, { type: 'pairmux-reject', code: err.code, message: err.message } satisfies RejectSignal);
      failAll(err);
    };
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
      peer.on('signal', (s) => {
        if (s.type === 'offer' && typeof s.sdp === 'string') offers.set(a, s.sdp);
        sendSealed(a, s);
      });
      peer.once('connect', () =>
        finish(() => {
          for (const [b, p] of live) if (b !== a) destroyPeer(p);
          const guestFingerprint = sdpFingerprint(offers.get(a) ?? '');
          const hostFingerprint = sdpFingerprint(answers.get(a) ?? '');
          if (!guestFingerprint || !hostFingerprint) {
            destroyPeer(peer);
            return reject(new PairmuxError(ErrorCode.HandshakeFailed, 'the connection has no authenticated DTLS fingerprints'));
          }
          resolve({ link: new PeerLink(peer), auth: { keys, joinNonce: join, guestFingerprint, hostFingerprint } });
        }),
      );
      peer.on('error', (e) => attemptFailed(a, e.message));
      scheduleHedge();
    };
    const onMsg = (m: RelayMessage) => {
      if (m.t === 'room-closed') return failAll(new PairmuxError(ErrorCode.RoomClosed, 'the host ended the session'));
      if (m.t !== 'signal') return;
      let plain: SignalPlain;
      try {
        if (m.from !== 'host') throw new PairmuxError(ErrorCode.SignalForged, 'the relay sent a signal that is not from the host');
        plain = keys.open(m.data, 'h2g', peerId).plain;
      } catch (e) {
        return refuse(e as PairmuxError);
      }
      if (isReject(plain.s)) {
        const forThisJoin = plain.j === join ? plain.q > lastSeqIn : plain.j === '' && typeof plain.s.re === 'string' && sentBoxes.has(plain.s.re);
        if (forThisJoin) return failAll(new PairmuxError(plain.s.code as ErrorCode, `the host refused the handshake: ${String(plain.s.message).slice(0, 200)}`));
        // A refusal of a box this join never sent: the relay either sent the host a
        // box in our name or replayed an old refusal. The two look the same from here.
        if (plain.j === '') return refuse(new PairmuxError(ErrorCode.SignalForged, 'the host refused a message this guest never sent: the relay forged or replayed signaling'));
        return refuse(new PairmuxError(ErrorCode.SignalReplayed, 'a signaling message was replayed: the relay re-sent an old refusal'));
      }
      if (plain.j !== join || plain.q <= lastSeqIn) {
        return refuse(new PairmuxError(ErrorCode.SignalReplayed, 'a signaling message was replayed: the relay re-sent an old message'));
      }
      lastSeqIn = plain.q;
      const s = plain.s as Peer.SignalData;
      if (s.type === 'answer' && typeof s.sdp === 'string') answers.set(plain.a, s.sdp);
      const peer = live.get(plain.a);
      if (!peer) return;
      try {
        peer.signal(s);
      } catch (e) {
        attemptFailed(plain.a, `bad signal: ${(e as Error).message}`);
      }
    };
    const onClose = (e?: PairmuxError) => failAll(e ?? new PairmuxError(ErrorCode.Disconnected, 'the relay closed the connection'));
    sig.on('message', onMsg);
    sig.on('close', onClose);
    start();
  });
}
