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

interface XtermCore {
  _bufferService?: { buffer: { scrollTop: number; scrollBottom: number; x: number; y: number } };
  _charsetService?: { glevel: number; _charsets?: (Record<string, string> | undefined)[] };
  coreService?: { decPrivateModes?: { origin?: boolean } };
}

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

  /**
   * Screen, scrollback and modes as a string that recreates them on a fresh
   * terminal of this size. The serialize addon leaves out the scroll region
   * and the designated character sets; without them a late joiner's screen
   * diverges at the next scroll in vim or less, or shows `qqqq` for line
   * drawing, so they are appended here.
   */
  serialize(): string {
    return this.serializer.serialize() + this.epilogue();
  }

  private epilogue(): string {
    // Internal state that the public API does not expose (xterm.js 6).
    const core = (this.term as unknown as { _core: XtermCore })._core;
    const buf = core._bufferService?.buffer;
    let out = '';
    const charsets = core._charsetService;
    if (charsets) {
      const finals = ['(', ')', '*', '+'];
      charsets._charsets?.forEach((set, i) => {
        const designator = set?.['q'] === '─' ? '0' : set?.['#'] === '£' ? 'A' : undefined;
        if (designator) out += `\x1b${finals[i]}${designator}`;
      });
      if (charsets.glevel === 1) out += '\x0e';
    }
    if (buf && (buf.scrollTop !== 0 || buf.scrollBottom !== this.term.rows - 1)) {
      const origin = core.coreService?.decPrivateModes?.origin === true;
      // DECSTBM homes the cursor, so put it back where it was.
      out += `\x1b[${buf.scrollTop + 1};${buf.scrollBottom + 1}r`;
      out += `\x1b[${(origin ? buf.y - buf.scrollTop : buf.y) + 1};${buf.x + 1}H`;
    }
    return out;
  }

  /** Visible lines as plain text, what a person reads (unwritten cells at the end of a line are dropped; spaces the program wrote stay). */
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
