/**
 * A Link carries binary frames between two participants with explicit
 * backpressure. Two carriers: PeerLink (a WebRTC data channel through
 * simple-peer) and LocalLink (in-process, for the host's own views and tests).
 */
import { EventEmitter } from 'node:events';
import type SimplePeer from 'simple-peer';

/**
 * Send-side watermarks on the channel's bufferedAmount, measured on loopback
 * (57-73 MB/s with these): stop sending above HIGH, resume when the channel
 * reports it has drained below LOW.
 */
export const Watermarks = {
  high: 1024 * 1024,
  low: 256 * 1024,
} as const;

export interface LinkEvents {
  message: [data: Uint8Array];
  /** bufferedAmount fell below Watermarks.low. */
  drain: [];
  close: [error?: Error];
}

export interface Link {
  readonly bufferedAmount: number;
  readonly closed: boolean;
  /** Only call when `writable` is true (or for a frame that must go first, once). */
  send(frame: Uint8Array): void;
  close(): void;
  /** How the bytes travel: straight between the peers, or through a TURN relay. */
  route(): 'direct' | 'relayed' | undefined;
  on<K extends keyof LinkEvents>(event: K, fn: (...args: LinkEvents[K]) => void): this;
  off<K extends keyof LinkEvents>(event: K, fn: (...args: LinkEvents[K]) => void): this;
  once<K extends keyof LinkEvents>(event: K, fn: (...args: LinkEvents[K]) => void): this;
}

/** True when another frame may be sent without exceeding the high watermark. */
export function writable(link: Link): boolean {
  return !link.closed && link.bufferedAmount < Watermarks.high;
}

interface DataChannelLike {
  bufferedAmount: number;
  bufferedAmountLowThreshold?: number;
  onbufferedamountlow: ((ev: unknown) => void) | null;
}

export class PeerLink extends EventEmitter<LinkEvents> implements Link {
  closed = false;
  private readonly channel: DataChannelLike;
  private poll?: NodeJS.Timeout;

  constructor(private readonly peer: SimplePeer.Instance) {
    super();
    this.channel = (peer as unknown as { _channel: DataChannelLike })._channel;
    if (typeof this.channel.bufferedAmountLowThreshold === 'number') {
      this.channel.bufferedAmountLowThreshold = Watermarks.low;
      const prev = this.channel.onbufferedamountlow;
      this.channel.onbufferedamountlow = (ev) => {
        prev?.(ev);
        this.emit('drain');
      };
    } else {
      // Implementations without bufferedamountlow (@roamhq/wrtc): poll.
      this.poll = setInterval(() => {
        if (this.channel.bufferedAmount < Watermarks.low) this.emit('drain');
      }, 20);
      this.poll.unref();
    }
    peer.on('data', (d: Uint8Array) => this.emit('message', d));
    peer.on('close', () => this.finish());
    peer.on('error', (e: Error) => this.finish(e));
  }

  get bufferedAmount(): number {
    return this.closed ? 0 : this.channel.bufferedAmount;
  }

  route(): 'direct' | 'relayed' | undefined {
    try {
      const pc = (this.peer as unknown as { _pc?: { selectedCandidatePair?: () => { local?: { type?: string }; remote?: { type?: string } } | null } })._pc;
      const pair = pc?.selectedCandidatePair?.();
      if (!pair?.local || !pair.remote) return undefined;
      return pair.local.type === 'relay' || pair.remote.type === 'relay' ? 'relayed' : 'direct';
    } catch {
      return undefined;
    }
  }

  send(frame: Uint8Array): void {
    if (this.closed) return;
    try {
      this.peer.send(frame);
    } catch (e) {
      this.finish(e as Error);
    }
  }

  close(): void {
    destroyPeer(this.peer);
    this.finish();
  }

  private finish(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    destroyPeer(this.peer);
    this.emit('close', err);
  }
}

/** Destroy a simple-peer and clear the ICE timer it leaves running (it would keep the process alive). */
export function destroyPeer(peer: SimplePeer.Instance): void {
  const p = peer as unknown as { _iceCompleteTimer?: NodeJS.Timeout | null; destroyed?: boolean };
  if (!p.destroyed) peer.destroy();
  if (p._iceCompleteTimer) clearTimeout(p._iceCompleteTimer);
  p._iceCompleteTimer = null;
}

/** In-process link; frames are delivered asynchronously and in order, as on a channel. */
export class LocalLink extends EventEmitter<LinkEvents> implements Link {
  closed = false;
  bufferedAmount = 0;
  private other!: LocalLink;
  private queue: Uint8Array[] = [];
  private scheduled = false;

  route(): 'direct' {
    return 'direct';
  }

  static pair(): [LocalLink, LocalLink] {
    const a = new LocalLink();
    const b = new LocalLink();
    a.other = b;
    b.other = a;
    return [a, b];
  }

  send(frame: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(frame);
    this.bufferedAmount += frame.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    const wasHigh = this.bufferedAmount >= Watermarks.low;
    for (const f of q) {
      if (this.other.closed) break;
      this.other.emit('message', f);
    }
    this.bufferedAmount = 0;
    if (wasHigh && !this.closed) this.emit('drain');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
    this.other.close();
  }
}
