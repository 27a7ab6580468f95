/**
 * A terminal screen kept in memory (@xterm/headless): the host's mirror of
 * each pane and a guest's replica of it. Writes and resizes are applied in
 * one order, so the screen at byte offset N is the same on every side.
 */
import headless from '@xterm/headless';
import serializePkg from '@xterm/addon-serialize';

const { Terminal } = headless;
const { SerializeAddon } = serializePkg;
export type HeadlessTerminal = InstanceType<typeof Terminal>;

/** Scrollback kept by mirrors and replicas (tmux's history-limit defaults to 2000). */
export const SCROLLBACK_LINES = 2000;

export class Screen {
  readonly term: HeadlessTerminal;
  private readonly serializer: InstanceType<typeof SerializeAddon>;
  /** Bytes handed to write() whose parse has not finished. */
  pending = 0;
  private disposed = false;

  constructor(cols: number, rows: number, scrollback = SCROLLBACK_LINES) {
    this.term = new Terminal({ cols, rows, scrollback, allowProposedApi: true });
    this.serializer = new SerializeAddon();
    this.term.loadAddon(this.serializer);
  }

  get cols(): number {
    return this.term.cols;
  }
  get rows(): number {
    return this.term.rows;
  }

  write(data: Uint8Array | string, parsed?: () => void): void {
    if (this.disposed) return;
    const n = data.length;
    this.pending += n;
    this.term.write(data, () => {
      this.pending -= n;
      parsed?.();
    });
  }

  /** Resize after everything written so far is parsed (a direct resize would overtake queued data). */
  resize(cols: number, rows: number): void {
    this.write('', () => {
      if (!this.disposed && (cols !== this.term.cols || rows !== this.term.rows)) this.term.resize(cols, rows);
    });
  }

  /** Runs `fn` once everything written so far is parsed, before anything written later. */
  afterParsed<T>(fn: () => T): Promise<T> {
    return new Promise((resolve, reject) => {
      this.write('', () => {
        try {
          resolve(fn());
        } catch (e) {
          reject(e as Error);
        }
      });
    });
  }

  /** Screen, scrollback and modes as a string that recreates them on a fresh terminal of this size. */
  serialize(): string {
    return this.serializer.serialize();
  }

  /** Visible lines as plain text (trailing spaces trimmed): what a person reads. */
  text(): string[] {
    const b = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.term.rows; y++) out.push(b.getLine(b.viewportY + y)?.translateToString(true) ?? '');
    return out;
  }

  dispose(): void {
    this.disposed = true;
    this.term.dispose();
  }
}
