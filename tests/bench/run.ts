/**
 * pairmux benchmark, one run on loopback:
 *   (a) keystroke echo round trip, guest over WebRTC vs a local node-pty
 *   (b) `cat` throughput to 1 and 4 guests vs a local node-pty
 *   (c) join time with a pane that has output on screen
 * Prints a table and writes bench-results/bench.json. Missed targets are
 * reported, never fatal: the exit code is non-zero only on an actual error.
 *
 *   npm run bench                 full run
 *   BENCH_QUICK=1 npm run bench   fewer samples, smaller file (a smoke run)
 */
import { fork, execSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance as perfHooks } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as pty from 'node-pty';
import Peer from 'simple-peer';
import { startRelay, type Relay } from '../../relay/server.js';
import { HostSession } from '../../electron/host/host-session.js';
import { PaneTuning, type Pane } from '../../electron/host/pane.js';
import { shareSession, type Share } from '../../electron/host/share.js';
import { SessionClient } from '../../electron/guest/session-client.js';
import { connectToHost } from '../../electron/net/connect.js';
import { destroyPeer } from '../../electron/net/link.js';
import { SignalingClient } from '../../electron/net/signaling-client.js';
import { wrtc } from '../../electron/net/webrtc.js';
import { Screen } from '../../electron/term/screen.js';
import {
  Tap, joinWithRetry, sleep, stats, trackGuest, waitCaughtUp, withTimeout,
  type FromWorker, type JoinFailure, type Stats, type ToWorker,
} from './lib.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const QUICK = process.env.BENCH_QUICK === '1';

const CFG = {
  echoWarmup: 50,
  echoCount: QUICK ? 200 : 1000,
  /** Characters per line of `cat` input; Enter (untimed) after each. */
  echoLine: 50,
  /** Idle time after each echo in the "typing pace" series (> PaneTuning.batchMs). */
  typingGapMs: 10,
  fileMB: QUICK ? 10 : 50,
  joins: 10,
  childGuests: process.env.BENCH_NO_CHILD !== '1',
  cols: 120,
  rows: 40,
} as const;

const TARGETS = {
  echoOverheadP50Ms: 1,
  fourGuestShareOfLocal: 0.5,
  joinMedianMs: 300,
} as const;

const MB = 1e6;
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const sessionEnv: Record<string, string> = { ...(process.env as Record<string, string>), PS1: '$ ', HISTFILE: '/dev/null' };
/** What HostSession gives its panes, so the local pty runs in the same environment. */
const paneEnv: Record<string, string> = { ...sessionEnv, TERM: 'xterm-256color', COLORTERM: 'truecolor', PAIRMUX: '1' };

const log = (s: string) => console.log(s);
const round = (x: number, d = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
const now = () => performance.now();

// ---------------------------------------------------------------- local pty

interface LocalPty {
  proc: pty.IPty;
  tap: Tap;
  onBytes(fn: (d: Buffer) => void): void;
  dispose(): void;
}

async function spawnLocal(): Promise<LocalPty> {
  const proc = pty.spawn('/bin/bash', ['--norc', '--noprofile'], {
    name: 'xterm-256color', cols: CFG.cols, rows: CFG.rows, cwd: process.cwd(), env: paneEnv, encoding: null,
  } as pty.IPtyForkOptions);
  const tap = new Tap();
  const extra: ((d: Buffer) => void)[] = [];
  proc.onData((d: string | Buffer) => {
    const b = typeof d === 'string' ? Buffer.from(d) : d;
    tap.push(b);
    for (const fn of extra) fn(b);
  });
  await tap.until((t) => t.endsWith('$ '), 10_000, 'local shell prompt');
  return {
    proc, tap,
    onBytes: (fn) => void extra.push(fn),
    dispose: () => {
      try {
        proc.kill();
      } catch {
        /* gone */
      }
    },
  };
}

// ---------------------------------------------------------------- (a) echo

interface EchoPort {
  send(s: string): void;
  tap: Tap;
  /** For a guest: the host pane's own output, to split the round trip at the host. */
  hostTap?: Tap;
}

interface EchoSamples {
  total: number[];
  /** Guest only: input sent -> echo in the host pane's output (guest->host link, pty echo, host batching). */
  up: number[];
  /** Guest only: echo in the host pane's output -> guest's 'output' event (host->guest link, replica). */
  down: number[];
}

const emptySamples = (): EchoSamples => ({ total: [], up: [], down: [] });

/** Start `cat` (canonical mode: the tty line discipline echoes each key). */
async function startCat(port: EchoPort): Promise<void> {
  port.tap.clear();
  port.send('cat\r');
  await port.tap.until((t) => t.includes('cat\r\n'), 10_000, 'cat started');
  await sleep(100);
}

async function stopCat(port: EchoPort): Promise<void> {
  port.tap.clear();
  port.send('\x04');
  await port.tap.until((t) => t.endsWith('$ '), 10_000, 'prompt after cat');
}

/**
 * `count` keys, one at a time, each sent once the previous echo arrived (and
 * `gapMs` later); Enter (untimed) every CFG.echoLine keys and at the end.
 * Samples are appended to `out` unless `out` is undefined (warm-up).
 */
async function echoSeries(port: EchoPort, count: number, gapMs: number, out: EchoSamples | undefined): Promise<void> {
  let line = '';
  const enter = async () => {
    port.tap.clear();
    port.hostTap?.clear();
    port.send('\r');
    const want = line + '\r\n';
    await port.tap.until((t) => t.includes(want), 10_000, 'cat printing the line');
    line = '';
  };
  for (let i = 0; i < count; i++) {
    const ch = LETTERS[i % LETTERS.length]!;
    port.tap.clear();
    port.hostTap?.clear();
    const t0 = now();
    port.send(ch);
    const atHost = port.hostTap?.until((t) => t.includes(ch), 10_000, `echo of '${ch}' on the host`);
    const at = await port.tap.until((t) => t.includes(ch), 10_000, `echo of '${ch}'`);
    if (out) {
      out.total.push(at - t0);
      if (atHost) {
        const h = await atHost;
        out.up.push(h - t0);
        out.down.push(at - h);
      }
    }
    line += ch;
    if (line.length >= CFG.echoLine) await enter();
    if (gapMs > 0) await sleep(gapMs);
  }
  if (line) await enter();
}

/** Local and guest series in alternating blocks, so drifting machine load hits both alike. */
async function echoInterleaved(local: EchoPort, guest: EchoPort, gapMs: number): Promise<{ local: EchoSamples; guest: EchoSamples }> {
  const res = { local: emptySamples(), guest: emptySamples() };
  await echoSeries(local, CFG.echoWarmup, gapMs, undefined);
  await echoSeries(guest, CFG.echoWarmup, gapMs, undefined);
  const block = 50;
  for (let done = 0; done < CFG.echoCount; done += block) {
    const n = Math.min(block, CFG.echoCount - done);
    await echoSeries(local, n, gapMs, res.local);
    await echoSeries(guest, n, gapMs, res.guest);
  }
  return res;
}

// ---------------------------------------------------------------- (b) throughput

function makeFile(dir: string, mb: number): string {
  const path = join(dir, 'bench-cat.txt');
  // 1 MB of printable ASCII lines of varied length (< 120 cols: no wrapping), repeated.
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
  const block = Buffer.alloc(MB);
  let i = 0;
  while (i < MB) {
    const len = Math.min(20 + Math.floor(rnd() * 90), MB - i - 1);
    for (let k = 0; k < len; k++) block[i++] = 32 + Math.floor(rnd() * 95);
    if (i < MB) block[i++] = 10;
  }
  const fd = openSync(path, 'w');
  for (let k = 0; k < mb; k++) writeSync(fd, block);
  closeSync(fd);
  return path;
}

/** The main thread's time on a CPU and waiting for one (Linux schedstat), in ms; undefined elsewhere. */
function mainThreadSched(): { runMs: number; waitMs: number } | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return run !== undefined && wait !== undefined ? { runMs: run / 1e6, waitMs: wait / 1e6 } : undefined;
  } catch {
    return undefined;
  }
}

let markerSeq = 0;
function catCommand(file: string): { cmd: string; marker: string } {
  const tag = `${process.pid}x${++markerSeq}`;
  // The typed command reads "$((6*7))"; only the output reads "42".
  return { cmd: `cat '${file}'; echo BENCH_${tag}_$((6*7))_END\r`, marker: `BENCH_${tag}_42_END` };
}

interface GuestHandle {
  name: string;
  /** Zero the guest's counters (and make sure it is idle first). */
  mark(): Promise<void>;
  /** Resolves when the guest's replica has parsed up to `end`: time (this process's clock), bytes, snapshots since mark. */
  caughtUp(end: number, timeoutMs: number): Promise<{ at: number; bytes: number; resets: number }>;
  dispose(): Promise<void>;
}

function inProcessGuest(name: string, client: SessionClient, pane: number): GuestHandle {
  const counters = trackGuest(client, pane);
  let base = { ...counters };
  return {
    name,
    mark: async () => {
      base = { ...counters };
    },
    caughtUp: async (end, timeoutMs) => {
      const at = await waitCaughtUp(client, pane, end, timeoutMs);
      return { at, bytes: counters.bytes - base.bytes, resets: counters.resets - base.resets };
    },
    dispose: async () => client.dispose(),
  };
}

class ChildGuest implements GuestHandle {
  private readonly proc: ChildProcess;
  private waiter: { ev: FromWorker['ev']; resolve: (m: FromWorker & { at: number }) => void; reject: (e: Error) => void } | undefined;
  private exited = false;
  joinMs = NaN;
  joinFailures: JoinFailure[] = [];

  constructor(readonly name: string) {
    this.proc = fork(join(HERE, 'guest-worker.ts'), [], { execArgv: ['--import', 'tsx'], cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m: FromWorker) => {
      const at = now();
      const w = this.waiter;
      if (m.ev === 'error') {
        if (w) {
          this.waiter = undefined;
          w.reject(new Error(`${this.name}: ${m.message}`));
        } else log(`  warning: ${this.name}: ${m.message}`);
        return;
      }
      if (w && w.ev === m.ev) {
        this.waiter = undefined;
        w.resolve({ ...m, at });
      }
    });
    this.proc.on('exit', (code) => {
      this.exited = true;
      const w = this.waiter;
      this.waiter = undefined;
      w?.reject(new Error(`${this.name} exited (${code})`));
    });
  }

  private request<E extends FromWorker['ev']>(msg: ToWorker, ev: E, timeoutMs: number): Promise<Extract<FromWorker, { ev: E }> & { at: number }> {
    if (this.waiter) return Promise.reject(new Error(`${this.name}: request while another is pending`));
    const p = new Promise<FromWorker & { at: number }>((resolve, reject) => {
      this.waiter = { ev, resolve, reject };
      this.proc.send(msg);
    });
    return withTimeout(p, timeoutMs, `${this.name}: ${msg.cmd}`) as Promise<Extract<FromWorker, { ev: E }> & { at: number }>;
  }

  async join(code: string): Promise<void> {
    const r = await this.request({ cmd: 'join', code, name: this.name }, 'joined', 60_000);
    this.joinMs = r.ms;
    this.joinFailures = r.failures;
  }

  async mark(): Promise<void> {
    await this.request({ cmd: 'mark' }, 'marked', 10_000);
  }

  async caughtUp(end: number, timeoutMs: number) {
    const r = await this.request({ cmd: 'expect', end, timeoutMs }, 'caught-up', timeoutMs + 5_000);
    return { at: r.at, bytes: r.bytes, resets: r.resets };
  }

  async dispose(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    try {
      this.proc.send({ cmd: 'exit' } satisfies ToWorker);
    } catch {
      /* channel already closed */
    }
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3_000);
    await gone;
    clearTimeout(t);
  }
}

interface ThroughputResult {
  label: string;
  guests: number;
  bytes: number;
  /** Command issued -> end marker in the host pane's output. */
  hostMs: number;
  /** Command issued -> host mirror parsed everything. */
  hostMirrorMs: number;
  /** Command issued -> every guest's replica parsed everything. */
  allGuestsMs: number;
  perGuestMs: number[];
  mbPerS: number;
  hostMbPerS: number;
  /** Snapshots guests got during the run (fell more than the log behind). */
  resets: number[];
  /** Bytes that arrived as output frames (less than `bytes` if a snapshot replaced some). */
  guestBytes: number[];
  /** Host event loop utilization (0..1) and host process CPU time (all threads) during the run. */
  hostElu: number;
  hostCpuMs: number;
  /** Host main thread: time running on a CPU, and time runnable but waiting for one (Linux). */
  hostMainRunMs?: number;
  hostMainWaitMs?: number;
}

async function throughput(label: string, pane: Pane, guests: GuestHandle[], file: string): Promise<ThroughputResult> {
  const start = pane.log.end;
  await Promise.all(guests.map((g) => g.caughtUp(start, 30_000)));
  for (const g of guests) await g.mark();
  const tap = new Tap();
  const onData = (_o: number, d: Uint8Array) => tap.push(d);
  pane.on('data', onData);
  const { cmd, marker } = catCommand(file);
  try {
    const elu0 = perfHooks.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const sched0 = mainThreadSched();
    const t0 = now();
    pane.write(cmd);
    const tMarker = await tap.until((t) => t.includes(marker), 180_000, `${label}: end marker in host output`);
    const end = pane.log.end;
    const tMirror = await pane.mirror.afterParsed(() => now());
    const done = await Promise.all(guests.map((g) => g.caughtUp(end, 180_000)));
    const bytes = end - start;
    const tAll = Math.max(tMirror, ...done.map((d) => d.at));
    const elu = perfHooks.eventLoopUtilization(elu0).utilization;
    const cpu = process.cpuUsage(cpu0);
    const sched1 = mainThreadSched();
    return {
      label,
      guests: guests.length,
      bytes,
      hostMs: tMarker - t0,
      hostMirrorMs: tMirror - t0,
      allGuestsMs: tAll - t0,
      perGuestMs: done.map((d) => d.at - t0),
      mbPerS: bytes / MB / ((tAll - t0) / 1000),
      hostMbPerS: bytes / MB / ((tMirror - t0) / 1000),
      resets: done.map((d) => d.resets),
      guestBytes: done.map((d) => d.bytes),
      hostElu: elu,
      hostCpuMs: (cpu.user + cpu.system) / 1000,
      ...(sched0 && sched1 ? { hostMainRunMs: sched1.runMs - sched0.runMs, hostMainWaitMs: sched1.waitMs - sched0.waitMs } : {}),
    };
  } finally {
    pane.off('data', onData);
  }
}

/** The same `cat` on a local node-pty: bytes until the end marker. With `parse`, also through one headless screen, flow-controlled like a pane. */
async function localCat(file: string, parse: boolean): Promise<{ bytes: number; ms: number; mbPerS: number }> {
  const local = await spawnLocal();
  try {
    let screen: Screen | undefined;
    if (parse) {
      const s = new Screen(CFG.cols, CFG.rows);
      screen = s;
      let paused = false;
      local.onBytes((d) => {
        s.write(d, () => {
          if (paused && s.pending < PaneTuning.resumeBelow) {
            paused = false;
            local.proc.resume();
          }
        });
        if (!paused && s.pending > PaneTuning.pauseAbove) {
          paused = true;
          local.proc.pause();
        }
      });
    }
    const { cmd, marker } = catCommand(file);
    local.tap.clear();
    const b0 = local.tap.bytes;
    const t0 = now();
    local.proc.write(cmd);
    let t = await local.tap.until((x) => x.includes(marker), 180_000, 'local cat end marker');
    if (screen) t = await screen.afterParsed(() => now());
    const bytes = local.tap.bytes - b0;
    screen?.dispose();
    return { bytes, ms: t - t0, mbPerS: bytes / MB / ((t - t0) / 1000) };
  } finally {
    local.dispose();
  }
}

// ---------------------------------------------------------------- (c) join / connect probes

/** Two simple-peers in this process, signalled directly: the floor for a WebRTC connect. */
async function rawRtcConnect(): Promise<number> {
  const t0 = now();
  // As pairmux makes them (electron/net/connect.ts): trickle, no ICE servers on loopback.
  const a = new Peer({ initiator: true, wrtc, trickle: true, config: { iceServers: [] } });
  const b = new Peer({ wrtc, trickle: true, config: { iceServers: [] } });
  a.on('signal', (d) => b.signal(d));
  b.on('signal', (d) => a.signal(d));
  try {
    return await withTimeout(new Promise<number>((res, rej) => {
      a.once('connect', () => res(now() - t0));
      a.on('error', rej);
      b.on('error', rej);
    }), 10_000, 'raw WebRTC connect');
  } finally {
    destroyPeer(a);
    destroyPeer(b);
  }
}

// ---------------------------------------------------------------- main

interface Row {
  metric: string;
  result: string;
  reference: string;
  target: string;
  verdict: string;
}

async function main(): Promise<void> {
  const tStart = now();
  const results: Record<string, unknown> = {};
  const rows: Row[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'pairmux-bench-'));
  let relay: Relay | undefined;
  let session: HostSession | undefined;
  let share: Share | undefined;
  const guests: GuestHandle[] = [];
  const clients: SessionClient[] = [];
  /** Failed joins outside the timed join series (retried). */
  const joinFailures: JoinFailure[] = [];

  const cleanup = async () => {
    for (const g of guests.splice(0)) await g.dispose().catch(() => {});
    for (const c of clients.splice(0)) c.dispose();
    session?.close();
    await share?.close().catch(() => {});
    await relay?.close().catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
  };

  try {
    results.loadavgStart = loadavg();
    log(`pairmux bench${QUICK ? ' (QUICK)' : ''}: node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), ${process.platform}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    // The relay's per-address join limits (30/min) would trip over this bench's ~30 joins from 127.0.0.1.
    if (loadavg()[0]! > 0.5 * cpus().length) log(`  warning: the machine is busy before the bench starts (load ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cpus): expect noisy numbers`);
    relay = await startRelay({ port: 0, host: '127.0.0.1', joinsPerMinutePerAddress: 10_000, joinsPerMinutePerRoom: 10_000 });
    // A scripted host admits guests itself (the default asks the host to approve each join).
    session = new HostSession({ shell: '/bin/bash', args: ['--norc', '--noprofile'], env: sessionEnv, cols: CFG.cols, rows: CFG.rows, approve: 'control' });
    share = await shareSession(session, { relayUrl: relay.url });
    const paneId = session.paneIds()[0]!;
    const pane = session.pane(paneId)!;
    {
      // The shell may have printed its prompt already: start from what the log holds.
      const tap = new Tap();
      const onData = (_o: number, d: Uint8Array) => tap.push(d);
      const held = pane.log.read(Math.max(pane.log.start, pane.log.end - 4096), 4096);
      if (held) tap.push(held);
      pane.on('data', onData);
      await tap.until((t) => t.endsWith('$ '), 10_000, 'host pane prompt');
      pane.off('data', onData);
    }

    // ---- (a) echo
    log(`\n(a) keystroke echo: ${CFG.echoCount} keys after ${CFG.echoWarmup} warm-up, into \`cat\` (tty echo), sequential`);
    const guestA = (await joinWithRetry(share.code, 'A', joinFailures)).client;
    clients.push(guestA);
    const guestTap = new Tap();
    guestA.on('output', (p, d) => {
      if (p === paneId) guestTap.push(d);
    });
    const hostTap = new Tap();
    const onHostData = (_o: number, d: Uint8Array) => hostTap.push(d);
    pane.on('data', onHostData);
    const guestPort: EchoPort = { send: (s) => guestA.input(paneId, s), tap: guestTap, hostTap };
    const local = await spawnLocal();
    const localPort: EchoPort = { send: (s) => local.proc.write(s), tap: local.tap };
    await startCat(localPort);
    await startCat(guestPort);
    const typing = await echoInterleaved(localPort, guestPort, CFG.typingGapMs);
    const burst = await echoInterleaved(localPort, guestPort, 0);
    await stopCat(localPort);
    await stopCat(guestPort);
    pane.off('data', onHostData);
    local.dispose();
    // The link's own round trip (no pty), back to back and at typing pace.
    const pingMs: number[] = [];
    const pingIdleMs: number[] = [];
    for (let i = 0; i < 100; i++) pingMs.push(await guestA.ping());
    for (let i = 0; i < 100; i++) {
      await sleep(CFG.typingGapMs);
      pingIdleMs.push(await guestA.ping());
    }

    const echo = {
      typing: { gapMs: CFG.typingGapMs, local: stats(typing.local.total), guest: stats(typing.guest.total), guestUp: stats(typing.guest.up), guestDown: stats(typing.guest.down) },
      backToBack: { local: stats(burst.local.total), guest: stats(burst.guest.total), guestUp: stats(burst.guest.up), guestDown: stats(burst.guest.down) },
      guestPing: stats(pingMs),
      guestPingTypingPace: stats(pingIdleMs),
    };
    const r3 = (xs: number[]) => xs.map((x) => round(x));
    results.echo = { ...echo, samples: { typing: { local: r3(typing.local.total), guest: r3(typing.guest.total), guestUp: r3(typing.guest.up), guestDown: r3(typing.guest.down) }, backToBack: { local: r3(burst.local.total), guest: r3(burst.guest.total), guestUp: r3(burst.guest.up), guestDown: r3(burst.guest.down) } } };
    for (const [name, s] of [['typing pace', echo.typing], ['back-to-back', echo.backToBack]] as const) {
      const over = s.guest.p50 - s.local.p50;
      log(`  ${name.padEnd(12)} local p50 ${s.local.p50.toFixed(3)} p99 ${s.local.p99.toFixed(3)} | guest p50 ${s.guest.p50.toFixed(3)} p99 ${s.guest.p99.toFixed(3)} ms | overhead ${over.toFixed(3)} ms, ratio ${(s.guest.p50 / s.local.p50).toFixed(1)}x`);
      log(`  ${''.padEnd(12)} guest split at the host (p50): input -> echo on host ${s.guestUp.p50.toFixed(3)} ms, host -> guest output ${s.guestDown.p50.toFixed(3)} ms`);
      rows.push({
        metric: `echo p50/p99, ${name === 'typing pace' ? `typing pace (${CFG.typingGapMs} ms idle between keys)` : 'back-to-back keys'}`,
        result: `guest ${s.guest.p50.toFixed(3)} / ${s.guest.p99.toFixed(3)} ms; overhead +${over.toFixed(3)} ms (${(s.guest.p50 / s.local.p50).toFixed(1)}x)`,
        reference: `local pty ${s.local.p50.toFixed(3)} / ${s.local.p99.toFixed(3)} ms; link ping p50 ${(name === 'typing pace' ? echo.guestPingTypingPace : echo.guestPing).p50.toFixed(3)} ms`,
        target: `overhead < ${TARGETS.echoOverheadP50Ms} ms`,
        verdict: over < TARGETS.echoOverheadP50Ms ? 'PASS' : 'MISS',
      });
    }
    log(`  guest ping (link round trip, no pty): back to back p50 ${echo.guestPing.p50.toFixed(3)} p99 ${echo.guestPing.p99.toFixed(3)} ms; every ${CFG.typingGapMs} ms p50 ${echo.guestPingTypingPace.p50.toFixed(3)} p99 ${echo.guestPingTypingPace.p99.toFixed(3)} ms`);

    // ---- (b) throughput
    log(`\n(b) throughput: cat of a ${CFG.fileMB} MB text file`);
    const file = makeFile(tmp, CFG.fileMB);
    // The local rate is taken three times across the section (load on a shared machine drifts); the median is the reference.
    const localRuns = [await localCat(file, false)];
    log(`  local node-pty alone:        ${localRuns[0]!.mbPerS.toFixed(1).padStart(5)} MB/s (${(localRuns[0]!.bytes / MB).toFixed(1)} MB in ${localRuns[0]!.ms.toFixed(0)} ms)`);
    const localParsed = await localCat(file, true);
    log(`  local node-pty + 1 parser:   ${localParsed.mbPerS.toFixed(1)} MB/s (${localParsed.ms.toFixed(0)} ms)`);

    const printTp = (r: ThroughputResult) =>
      log(`  ${r.label.padEnd(27)} ${r.mbPerS.toFixed(1).padStart(5)} MB/s: ${r.allGuestsMs.toFixed(0)} ms; host saw the end at ${r.hostMs.toFixed(0)} ms, its mirror parsed it at ${r.hostMirrorMs.toFixed(0)} ms; host main thread ${(r.hostElu * 100).toFixed(0)}% busy` +
        (r.hostMainRunMs !== undefined ? ` (on a CPU ${((r.hostMainRunMs / r.allGuestsMs) * 100).toFixed(0)}%, waiting for one ${(((r.hostMainWaitMs ?? 0) / r.allGuestsMs) * 100).toFixed(0)}%)` : '') +
        `, host process CPU ${(r.hostCpuMs / r.allGuestsMs).toFixed(2)} cores` +
        (r.guests ? `; per guest ${r.perGuestMs.map((x) => x.toFixed(0)).join('/')} ms, snapshots ${r.resets.join('/')}, output frames ${r.guestBytes.map((b) => (b / MB).toFixed(1)).join('/')} MB` : ''));

    guests.push(inProcessGuest('A', guestA, paneId));
    const tp1 = await throughput('1 guest (in-process)', pane, guests, file);
    printTp(tp1);
    for (const name of ['B', 'C', 'D']) {
      const c = (await joinWithRetry(share.code, name, joinFailures)).client;
      clients.push(c);
      guests.push(inProcessGuest(name, c, paneId));
    }
    const tp4 = await throughput('4 guests (in-process)', pane, guests, file);
    printTp(tp4);
    for (const g of guests.splice(0)) await g.dispose();
    for (const c of clients.splice(0)) c.dispose();
    await sleep(300);
    // The host pipeline with nobody watching: pty -> log + mirror (flow-controlled by the mirror's parse).
    const tp0 = await throughput('host alone (no guest)', pane, [], file);
    printTp(tp0);
    localRuns.push(await localCat(file, false));

    let tp1c: ThroughputResult | undefined;
    let tp4c: ThroughputResult | undefined;
    if (CFG.childGuests) {
      const kids = ['P1', 'P2', 'P3', 'P4'].map((n) => new ChildGuest(n));
      guests.push(...kids);
      await kids[0]!.join(share.code);
      tp1c = await throughput('1 guest (child process)', pane, [kids[0]!], file);
      printTp(tp1c);
      await Promise.all(kids.slice(1).map((k) => k.join(share!.code)));
      for (const k of kids) joinFailures.push(...k.joinFailures);
      log(`  child-process guests joined in ${kids.map((k) => k.joinMs.toFixed(0)).join('/')} ms (their processes start cold)`);
      tp4c = await throughput('4 guests (child processes)', pane, kids, file);
      printTp(tp4c);
      for (const g of guests.splice(0)) await g.dispose();
      await sleep(200);
    }
    localRuns.push(await localCat(file, false));
    const localRaw = [...localRuns].sort((a, b) => a.mbPerS - b.mbPerS)[1]!;
    log(`  local node-pty alone, again: ${localRuns.slice(1).map((r) => r.mbPerS.toFixed(1)).join(', ')} MB/s; median of 3: ${localRaw.mbPerS.toFixed(1)} MB/s`);
    results.throughput = { fileMB: CFG.fileMB, localRaw, localRuns, localParsed, hostAlone: tp0, inProcess: [tp1, tp4], childProcess: [tp1c, tp4c].filter(Boolean) };
    const tpRow = (r: ThroughputResult, target: boolean): Row => ({
      metric: `throughput, ${r.label}`,
      result: `${r.mbPerS.toFixed(1)} MB/s (${(r.mbPerS / localRaw.mbPerS).toFixed(2)}x local)${r.resets.some((x) => x > 0) ? `, ${r.resets.reduce((a, b) => a + b, 0)} snapshot(s)` : ''}`,
      reference: `local pty ${localRaw.mbPerS.toFixed(1)} MB/s (+parse ${localParsed.mbPerS.toFixed(1)})`,
      target: target ? `>= ${TARGETS.fourGuestShareOfLocal} x local` : '-',
      verdict: target ? (r.mbPerS >= TARGETS.fourGuestShareOfLocal * localRaw.mbPerS ? 'PASS' : 'MISS') : '-',
    });
    rows.push(tpRow(tp0, false), tpRow(tp1, false), tpRow(tp4, true));
    if (tp1c) rows.push(tpRow(tp1c, false));
    if (tp4c) rows.push(tpRow(tp4c, true));

    // ---- (c) join
    log(`\n(c) join: ${CFG.joins} joins, pane showing the tail of \`seq 1 5000\``);
    {
      const tap = new Tap();
      const onData = (_o: number, d: Uint8Array) => tap.push(d);
      pane.on('data', onData);
      pane.write('clear; seq 1 5000\r');
      await tap.until((t) => t.includes('\n4999\r\n5000\r\n') && t.endsWith('$ '), 30_000, 'seq 1 5000');
      pane.off('data', onData);
      await pane.mirror.afterParsed(() => 0);
    }
    const snap = await pane.snapshot();
    log(`  snapshot: ${snap.data.length} chars at offset ${snap.offset}`);
    const joinMs: number[] = [];
    const joinParsedMs: number[] = [];
    const timedFailures: JoinFailure[] = [];
    for (let i = 0; joinMs.length < CFG.joins; i++) {
      if (timedFailures.length > CFG.joins) throw new Error(`too many failed joins: ${JSON.stringify(timedFailures.slice(0, 3))}`);
      const t0 = now();
      let c: SessionClient;
      try {
        c = (await joinWithRetry(share.code, `J${i}`, timedFailures, 1)).client;
      } catch {
        log(`  join J${i} FAILED after ${timedFailures[timedFailures.length - 1]!.afterMs.toFixed(0)} ms: ${timedFailures[timedFailures.length - 1]!.message}`);
        await sleep(300);
        continue;
      }
      const t1 = now();
      const r = c.replicas.get(paneId);
      if (!r) throw new Error(`join ${i}: no replica of pane ${paneId}`);
      const lines = await r.screen.afterParsed(() => r.screen.text());
      const t2 = now();
      if (!lines.includes('5000')) throw new Error(`join ${i}: replica screen lacks "5000": ${JSON.stringify(lines.slice(-5))}`);
      joinMs.push(t1 - t0);
      joinParsedMs.push(t2 - t0);
      c.dispose();
      await sleep(100);
    }
    // Where the time goes: the same steps as joinSession, timed apart.
    const rawRtcFailures: string[] = [];
    const phase = { wsConnect: [] as number[], connectToHost: [] as number[], welcome: [] as number[], ready: [] as number[], rawRtc: [] as number[] };
    for (let i = 0; i < CFG.joins; i++) {
      let t0 = now();
      const sig = await SignalingClient.connect(share.relayUrl);
      phase.wsConnect.push(now() - t0);
      sig.close();
      t0 = now();
      try {
        const { link, signaling, auth } = await connectToHost(share.relayUrl, share.invite);
        const t1 = now();
        signaling.close();
        const c = new SessionClient(link, `probe${i}`, { auth });
        let tw = NaN;
        c.once('welcome', () => (tw = now()));
        try {
          await c.ready();
        } finally {
          c.dispose();
        }
        const t2 = now();
        phase.connectToHost.push(t1 - t0);
        phase.welcome.push(tw - t1);
        phase.ready.push(t2 - t1);
      } catch (e) {
        timedFailures.push({ name: `probe${i}`, afterMs: now() - t0, message: (e as Error).message });
        log(`  probe join ${i} FAILED after ${(now() - t0).toFixed(0)} ms: ${(e as Error).message}`);
      }
      try {
        phase.rawRtc.push(await rawRtcConnect());
      } catch (e) {
        rawRtcFailures.push((e as Error).message);
      }
      await sleep(100);
    }
    const slow = (xs: number[]) => xs.filter((x) => !(x < 500)).length;
    const joinRes = {
      joinSession: stats(joinMs),
      joinAndParsed: stats(joinParsedMs),
      snapshotChars: snap.data.length,
      /** Samples over 500 ms: a WebRTC connect that waited out libdatachannel's 1 s DTLS retransmit. */
      slow: { joinSession: slow(joinMs), connectToHost: slow(phase.connectToHost), rawRtc: slow(phase.rawRtc) },
      failures: timedFailures,
      rawRtcFailures,
      otherJoinFailures: joinFailures,
      phases: Object.fromEntries(Object.entries(phase).map(([k, v]) => [k, stats(v)])) as Record<keyof typeof phase, Stats>,
      samples: { joinMs: joinMs.map((x) => round(x)), joinParsedMs: joinParsedMs.map((x) => round(x)), ...Object.fromEntries(Object.entries(phase).map(([k, v]) => [k, v.map((x) => round(x))])) },
    };
    results.join = joinRes;
    log(`  joinSession: median ${joinRes.joinSession.p50.toFixed(1)} ms (min ${joinRes.joinSession.min.toFixed(1)}, max ${joinRes.joinSession.max.toFixed(1)}); screen parsed: median ${joinRes.joinAndParsed.p50.toFixed(1)} ms`);
    log(`  joins over 500 ms: joinSession ${joinRes.slow.joinSession}/${joinMs.length}, connectToHost ${joinRes.slow.connectToHost}/${phase.connectToHost.length}, bare WebRTC pair ${joinRes.slow.rawRtc}/${phase.rawRtc.length} (${rawRtcFailures.length} failed${rawRtcFailures.length ? `: ${rawRtcFailures[0]}` : ''}); failed joins: ${timedFailures.length} in the timed series, ${joinFailures.length} elsewhere (retried)`);
    log(`  phases (median): relay ws connect ${joinRes.phases.wsConnect.p50.toFixed(1)} ms; connectToHost (ws + room join + WebRTC) ${joinRes.phases.connectToHost.p50.toFixed(1)} ms; link -> welcome ${joinRes.phases.welcome.p50.toFixed(1)} ms; link -> ready (state + snapshot) ${joinRes.phases.ready.p50.toFixed(1)} ms; bare in-process WebRTC connect ${joinRes.phases.rawRtc.p50.toFixed(1)} ms`);
    rows.push({
      metric: `join (median of ${CFG.joins})`,
      result: `${joinRes.joinSession.p50.toFixed(1)} ms (max ${joinRes.joinSession.max.toFixed(0)}, ${joinRes.slow.joinSession}/${joinMs.length} > 500 ms, ${timedFailures.length + joinFailures.length} failed); +parse ${joinRes.joinAndParsed.p50.toFixed(1)} ms`,
      reference: `bare WebRTC pair ${joinRes.phases.rawRtc.p50.toFixed(1)} ms (${joinRes.slow.rawRtc}/${phase.rawRtc.length} > 500 ms)`,
      target: `< ${TARGETS.joinMedianMs} ms`,
      verdict: joinRes.joinSession.p50 < TARGETS.joinMedianMs ? 'PASS' : 'MISS',
    });

    // ---- report
    const headers: Row = { metric: 'metric', result: 'result', reference: 'reference', target: 'target', verdict: 'verdict' };
    const keys = Object.keys(headers) as (keyof Row)[];
    const width = Object.fromEntries(keys.map((k) => [k, Math.max(...[headers, ...rows].map((r) => r[k].length))])) as Record<keyof Row, number>;
    const fmt = (r: Row) => '| ' + keys.map((k) => r[k].padEnd(width[k])).join(' | ') + ' |';
    log('\n' + fmt(headers));
    log('|' + keys.map((k) => '-'.repeat(width[k] + 2)).join('|') + '|');
    for (const r of rows) log(fmt(r));
    log(`\nLoad average at start ${(results.loadavgStart as number[]).map((x) => x.toFixed(2)).join(' ')}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')} (${cpus().length} cpus).`);
    log(`Notes: MB = 10^6 bytes. In-process guests share one event loop (and CPU) with the host and its mirror; child-process guests each have their own. Echo is timed from client.input() to the guest's 'output' event with the character; local from pty.write() to onData.`);

    let commit = '';
    try {
      commit = execSync('git rev-parse HEAD', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      /* not a git checkout */
    }
    const out = {
      date: new Date().toISOString(),
      commit,
      node: process.version,
      cpus: cpus().length,
      loadavgEnd: loadavg(),
      cpuModel: cpus()[0]?.model,
      platform: process.platform,
      quick: QUICK,
      config: CFG,
      tuning: { ...PaneTuning },
      targets: TARGETS,
      table: rows,
      ...results,
      durationS: round((now() - tStart) / 1000, 1),
    };
    const dir = join(ROOT, 'bench-results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'bench.json'), JSON.stringify(out, null, 2) + '\n');
    log(`\nwrote bench-results/bench.json (${out.durationS} s)`);
  } finally {
    await cleanup();
  }
}

const watchdog = setTimeout(() => {
  console.error('bench: watchdog: still running after 10 minutes, giving up');
  process.exit(2);
}, 600_000);
watchdog.unref();

main().then(
  () => setTimeout(() => process.exit(0), 100),
  (e: unknown) => {
    console.error('bench failed:', e);
    setTimeout(() => process.exit(1), 100);
  },
);
