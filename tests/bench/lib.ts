/**
 * Helpers shared by the benchmark (run.ts) and its out-of-process guest
 * (guest-worker.ts).
 */
import { joinSession } from '../../electron/guest/join.js';
import type { SessionClient } from '../../electron/guest/session-client.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const TAIL = 4096;

/**
 * Watches a byte stream: counts bytes and keeps the last few KB as latin1
 * text, and resolves waiters with the time (performance.now()) of the chunk
 * that satisfied them, taken inside the data callback.
 */
export class Tap {
  text = '';
  bytes = 0;
  private waiters: { pred: (t: string) => boolean; resolve: (at: number) => void }[] = [];

  push(d: Uint8Array): void {
    const at = performance.now();
    this.bytes += d.length;
    const tail = d.length > TAIL ? d.subarray(d.length - TAIL) : d;
    this.text += Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength).toString('latin1');
    if (this.text.length > TAIL) this.text = this.text.slice(-TAIL);
    if (this.waiters.length === 0) return;
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.pred(this.text)) w.resolve(at);
      else keep.push(w);
    }
    this.waiters = keep;
  }

  clear(): void {
    this.text = '';
  }

  /** Resolves with the arrival time of the chunk after which `pred(text)` holds. */
  until(pred: (t: string) => boolean, timeoutMs: number, what: string): Promise<number> {
    if (pred(this.text)) return Promise.resolve(performance.now());
    let entry: { pred: (t: string) => boolean; resolve: (at: number) => void } | undefined;
    const p = new Promise<number>((resolve) => {
      entry = { pred, resolve };
      this.waiters.push(entry);
    });
    return withTimeout(p, timeoutMs, `${what} (last output: ${JSON.stringify(this.text.slice(-200))})`).catch((e: unknown) => {
      this.waiters = this.waiters.filter((w) => w !== entry);
      throw e;
    });
  }
}

export interface JoinFailure {
  name: string;
  afterMs: number;
  message: string;
}

/**
 * joinSession, tried up to `tries` times; each failure is recorded (a failed
 * join is a finding to report, not a reason to abandon the benchmark).
 */
export async function joinWithRetry(code: string, name: string, failures: JoinFailure[], tries = 3): Promise<{ client: SessionClient; ms: number }> {
  for (let i = 1; ; i++) {
    const t0 = performance.now();
    try {
      const client = await joinSession(code, { name });
      return { client, ms: performance.now() - t0 };
    } catch (e) {
      failures.push({ name, afterMs: performance.now() - t0, message: (e as Error).message });
      if (i >= tries) throw e;
      await sleep(200);
    }
  }
}

export interface GuestCounters {
  /** Pane bytes received as output frames. */
  bytes: number;
  /** Snapshots received (join, or a fall-behind resync). */
  resets: number;
  snapshotChars: number;
}

export function trackGuest(client: SessionClient, pane: number): GuestCounters {
  const c: GuestCounters = { bytes: 0, resets: 0, snapshotChars: 0 };
  client.on('output', (p, d) => {
    if (p === pane) c.bytes += d.length;
  });
  client.on('reset', (p, s) => {
    if (p !== pane) return;
    c.resets++;
    c.snapshotChars += s.data.length;
  });
  return c;
}

/**
 * Resolves with performance.now() once the guest's replica of `pane` holds
 * every byte up to `end` and its screen has parsed them.
 */
export function waitCaughtUp(client: SessionClient, pane: number, end: number, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const cleanup = () => {
      clearTimeout(timer);
      client.off('output', check);
      client.off('reset', check);
      client.off('closed', onClosed);
    };
    const check = () => {
      if (settled) return;
      const r = client.replicas.get(pane);
      if (!r || r.offset < end) return;
      settled = true;
      cleanup();
      r.screen.afterParsed(() => performance.now()).then(resolve, reject);
    };
    const onClosed = () => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(new Error('guest disconnected while waiting for output'));
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      cleanup();
      const r = client.replicas.get(pane);
      reject(new Error(`guest did not catch up to offset ${end} within ${timeoutMs} ms (at ${r?.offset ?? 'no replica'})`));
    }, timeoutMs);
    client.on('output', check);
    client.on('reset', check);
    client.on('closed', onClosed);
    check();
  });
}

export interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

export function stats(samples: number[]): Stats {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;
  return {
    n: s.length,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
  };
}

/** Messages between run.ts and guest-worker.ts. */
export type ToWorker =
  | { cmd: 'join'; code: string; name: string }
  | { cmd: 'mark' }
  | { cmd: 'expect'; end: number; timeoutMs: number }
  | { cmd: 'exit' };

export type FromWorker =
  | { ev: 'joined'; ms: number; pane: number; offset: number; failures: JoinFailure[] }
  | { ev: 'marked'; offset: number }
  | { ev: 'caught-up'; bytes: number; resets: number; parsedAfterMs: number }
  | { ev: 'error'; message: string };
