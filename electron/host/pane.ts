/**
 * One pane: a real pty on the host, its output log (byte offsets) and its
 * headless mirror. pty -> batcher -> log + mirror -> (guests read the log).
 */
import { EventEmitter } from 'node:events';
import * as pty from 'node-pty';
import { PaneLog } from './pane-log.js';
import { Screen } from '../term/screen.js';

export const PaneTuning = {
  /**
   * Output is gathered for a few ms before it is logged and sent: fewer,
   * larger frames under load, invisible for typing (one keystroke echo is
   * one read, flushed at once when nothing else is pending).
   */
  batchMs: 4,
  batchMaxBytes: 64 * 1024,
  /** Reads this small, after a flush this small, are typing: sent at once. */
  interactiveBytes: 256,
  /** Output kept per pane for guests to catch up from; behind that they get a snapshot. */
  logBytes: 4 * 1024 * 1024,
  /**
   * Local flow control (VS Code's numbers): pause the pty when the mirror has
   * more than 100,000 unparsed bytes, resume below 5,000. This keeps the host
   * mirror, and so every snapshot, current under a flood like `yes`.
   */
  pauseAbove: 100_000,
  resumeBelow: 5_000,
} as const;

export interface PaneOptions {
  id: number;
  cols: number;
  rows: number;
  shell: string;
  args?: string[];
  cwd: string;
  env: Record<string, string>;
}

export interface SizeChange {
  offset: number;
  cols: number;
  rows: number;
}

export interface PaneEvents {
  /** New bytes at [offset, offset + data.length) are in the log. */
  data: [offset: number, data: Uint8Array];
  resize: [change: SizeChange];
  title: [title: string];
  exit: [exitCode: number, signal: number | undefined];
}

export interface Snapshot {
  offset: number;
  cols: number;
  rows: number;
  data: string;
}

/** Length of `buf` without a trailing, incomplete UTF-8 sequence. */
export function completeUtf8Length(buf: Uint8Array): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = buf[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

export class Pane extends EventEmitter<PaneEvents> {
  readonly id: number;
  readonly log = new PaneLog(PaneTuning.logBytes);
  readonly mirror: Screen;
  readonly pid: number;
  title = '';
  exited: { exitCode: number; signal?: number } | undefined;
  /** Size history by offset, so every reader applies a resize at the same byte. */
  sizes: SizeChange[];
  private readonly proc: pty.IPty;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private lastFlushBytes = 0;

  constructor(opts: PaneOptions) {
    super();
    this.id = opts.id;
    this.mirror = new Screen(opts.cols, opts.rows);
    this.sizes = [{ offset: 0, cols: opts.cols, rows: opts.rows }];
    this.proc = pty.spawn(opts.shell, opts.args ?? [], {
      name: 'xterm-256color',
      cols: opts.cols,
      rows: opts.rows,
      cwd: opts.cwd,
      env: opts.env,
      encoding: null,
      // Packaged apps run with the runAsNode fuse off; node-pty's default
      // ConPTY kill forks a helper, which that fuse breaks. The DLL path does not fork.
      ...(process.platform === 'win32' ? { useConptyDll: true } : {}),
    } as pty.IPtyForkOptions);
    this.pid = this.proc.pid;
    this.proc.onData((d: string | Buffer) => this.onData(typeof d === 'string' ? Buffer.from(d) : d));
    this.proc.onExit(({ exitCode, signal }) => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.flush(true);
      this.exited = signal ? { exitCode, signal } : { exitCode };
      this.emit('exit', exitCode, signal || undefined);
    });
    this.mirror.term.onTitleChange((t) => {
      this.title = t.slice(0, 200);
      this.emit('title', this.title);
    });
  }

  get cols(): number {
    return this.sizes[this.sizes.length - 1]!.cols;
  }
  get rows(): number {
    return this.sizes[this.sizes.length - 1]!.rows;
  }

  /** The pane's size at byte `offset`. */
  sizeAt(offset: number): SizeChange {
    let s = this.sizes[0]!;
    for (const c of this.sizes) {
      if (c.offset <= offset) s = c;
      else break;
    }
    return s;
  }

  /** The first size change after `offset`, if any. */
  nextSizeChange(offset: number): SizeChange | undefined {
    return this.sizes.find((c) => c.offset > offset);
  }

  /**
   * Throttle with a leading edge: the first read after a quiet spell is
   * flushed at once (a keystroke's echo is not delayed), and reads during the
   * next batchMs are gathered into one flush. Small reads while output is
   * small (typing, fast key repeat) also go at once: only a stream of large
   * reads (a build log, `cat`) is worth batching.
   */
  private onData(buf: Buffer): void {
    this.batch.push(buf);
    this.batchBytes += buf.length;
    const interactive = this.batchBytes <= PaneTuning.interactiveBytes && this.lastFlushBytes <= PaneTuning.interactiveBytes;
    if (!this.timer || interactive) {
      this.flush(false);
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.onCooldownEnd(), PaneTuning.batchMs);
    } else if (this.batchBytes >= PaneTuning.batchMaxBytes) {
      this.flush(false);
    }
  }

  private onCooldownEnd(): void {
    this.timer = undefined;
    if (this.batchBytes === 0) return;
    this.flush(true);
    this.timer = setTimeout(() => this.onCooldownEnd(), PaneTuning.batchMs);
  }

  /** Log and mirror the batch; an incomplete trailing UTF-8 sequence waits for the next flush unless `all`. */
  private flush(all: boolean): void {
    if (this.batchBytes === 0) return;
    const joined = this.batch.length === 1 ? this.batch[0]! : Buffer.concat(this.batch, this.batchBytes);
    const cut = all ? joined.length : completeUtf8Length(joined);
    const data = joined.subarray(0, cut);
    const rest = joined.subarray(cut);
    this.batch = rest.length ? [rest] : [];
    this.batchBytes = rest.length;
    if (data.length === 0) return;
    this.lastFlushBytes = data.length;
    const offset = this.log.end;
    this.log.append(data);
    this.mirror.write(data, () => this.maybeResume());
    if (!this.paused && this.mirror.pending > PaneTuning.pauseAbove && !this.exited) {
      this.paused = true;
      this.proc.pause();
    }
    this.emit('data', offset, data);
  }

  private maybeResume(): void {
    if (this.paused && this.mirror.pending < PaneTuning.resumeBelow) {
      this.paused = false;
      if (!this.exited) this.proc.resume();
    }
  }

  write(data: string | Uint8Array): void {
    if (this.exited) return;
    this.proc.write(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength) as unknown as string);
  }

  resize(cols: number, rows: number): void {
    if (this.exited || (cols === this.cols && rows === this.rows)) return;
    this.flush(true); // bytes already read were produced at the old size
    const change = { offset: this.log.end, cols, rows };
    const last = this.sizes[this.sizes.length - 1]!;
    if (last.offset === change.offset) this.sizes[this.sizes.length - 1] = change;
    else this.sizes.push(change);
    // Forget changes older than anything a reader can still start from.
    while (this.sizes.length > 1 && this.sizes[1]!.offset <= this.log.start) this.sizes.shift();
    this.proc.resize(cols, rows);
    this.mirror.resize(cols, rows);
    this.emit('resize', change);
  }

  /** The mirror's screen and scrollback at a known offset: everything before it is in, nothing after. */
  snapshot(): Promise<Snapshot> {
    this.flush(true);
    const offset = this.log.end;
    const { cols, rows } = this.sizeAt(offset);
    return this.mirror.afterParsed(() => ({ offset, cols, rows, data: this.mirror.serialize() }));
  }

  kill(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.exited) {
      try {
        this.proc.kill();
      } catch {
        /* already gone */
      }
    }
  }

  dispose(): void {
    this.kill();
    this.removeAllListeners();
    this.mirror.dispose();
  }
}
