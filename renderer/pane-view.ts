/**
 * One pane on screen: an xterm.js terminal at the pty's grid size, fed the
 * pane's stream in order. WebGL renderer when available, DOM otherwise.
 * Terminal output is untrusted: it is only ever written to xterm, and links
 * in it open only through the engine, after the user confirms.
 */
import { Terminal, type ITheme } from '@xterm/xterm';
import { WebglAddon } from '@xterm/addon-webgl';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { SearchAddon } from '@xterm/addon-search';
import { FitAddon } from '@xterm/addon-fit';

export const FONT = { family: "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace", size: 13 } as const;

const DARK: ITheme = { background: '#0f1115', foreground: '#e6e9ef', cursor: '#e6e9ef', selectionBackground: '#3a4556' };
const LIGHT: ITheme = {
  background: '#ffffff', foreground: '#1c2128', cursor: '#1c2128', cursorAccent: '#ffffff', selectionBackground: '#b6d4fe',
  black: '#24292f', red: '#cf222e', green: '#116329', yellow: '#4d2d00', blue: '#0969da', magenta: '#8250df', cyan: '#1b7c83', white: '#6e7781',
  brightBlack: '#57606a', brightRed: '#a40e26', brightGreen: '#1a7f37', brightYellow: '#633c01', brightBlue: '#218bff', brightMagenta: '#a475f9', brightCyan: '#3192aa', brightWhite: '#8c959f',
};
const dark = matchMedia('(prefers-color-scheme: dark)');
export const theme = (): ITheme => (dark.matches ? DARK : LIGHT);

export interface PaneCallbacks {
  input(data: string): void;
  openLink(url: string): void;
  /** A key event reaches the terminal; return false to keep it from the pty (shortcuts). */
  key(e: KeyboardEvent): boolean;
  focus(): void;
}

export class PaneView {
  readonly term: Terminal;
  readonly search = new SearchAddon();
  renderer: 'webgl' | 'dom' = 'dom';

  constructor(readonly id: number, host: HTMLElement, cols: number, rows: number, cb: PaneCallbacks) {
    this.term = new Terminal({
      cols, rows, fontFamily: FONT.family, fontSize: FONT.size, theme: theme(), allowProposedApi: true,
      scrollback: 5000, cursorBlink: false, macOptionIsMeta: true, linkHandler: { activate: (_e, uri) => cb.openLink(uri) },
    });
    this.term.loadAddon(new Unicode11Addon());
    this.term.unicode.activeVersion = '11';
    this.term.loadAddon(new WebLinksAddon((_e, uri) => cb.openLink(uri)));
    this.term.loadAddon(this.search);
    this.term.open(host);
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => {
        webgl.dispose(); // back to the DOM renderer
        this.renderer = 'dom';
      });
      this.term.loadAddon(webgl);
      this.renderer = 'webgl';
    } catch {
      this.renderer = 'dom'; // no WebGL here: xterm's DOM renderer stays
    }
    this.term.attachCustomKeyEventHandler((e) => cb.key(e));
    this.term.onData((d) => cb.input(d));
    this.term.onBinary((d) => cb.input(d));
    this.term.textarea?.addEventListener('focus', () => cb.focus());
    dark.addEventListener('change', this.onTheme);
  }

  private onTheme = () => {
    this.term.options.theme = theme();
  };

  // The stream is applied through xterm's write queue so a reset or resize
  // happens exactly between the bytes it came between.
  write(data: string): void {
    this.term.write(data);
  }

  reset(cols: number, rows: number, data: string): void {
    this.term.write('', () => {
      this.term.reset();
      if (cols !== this.term.cols || rows !== this.term.rows) this.term.resize(cols, rows);
    });
    if (data) this.term.write(data);
  }

  resize(cols: number, rows: number): void {
    this.term.write('', () => {
      if (cols !== this.term.cols || rows !== this.term.rows) this.term.resize(cols, rows);
    });
  }

  /** Visible lines as text (the test hook and accessibility use this). */
  text(): string[] {
    const b = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.term.rows; y++) out.push(b.getLine(b.viewportY + y)?.translateToString(true) ?? '');
    return out;
  }

  dispose(): void {
    dark.removeEventListener('change', this.onTheme);
    this.term.dispose();
  }
}

/**
 * An invisible terminal that fills the pane area: its fit addon says how many
 * cells the area holds (what the host's view asks the ptys to be), and its
 * cell size is the one every pane uses, so the layout lines up to the pixel.
 */
export class AreaProbe {
  private readonly el: HTMLDivElement;
  private readonly term: Terminal;
  private readonly fit = new FitAddon();

  constructor(area: HTMLElement) {
    this.el = document.createElement('div');
    this.el.style.cssText = 'position:absolute;inset:0;visibility:hidden;pointer-events:none';
    area.appendChild(this.el);
    this.term = new Terminal({ cols: 10, rows: 2, fontFamily: FONT.family, fontSize: FONT.size, scrollback: 0 });
    this.term.loadAddon(this.fit);
    this.term.open(this.el);
  }

  /** Cell size in CSS pixels. */
  cell(): { width: number; height: number } {
    const dims = (this.term as unknown as { _core?: { _renderService?: { dimensions?: { css?: { cell?: { width: number; height: number } } } } } })._core?._renderService?.dimensions?.css?.cell;
    if (dims && dims.width > 0) return { width: dims.width, height: dims.height };
    const r = (this.el.querySelector('.xterm-screen') as HTMLElement | null)?.getBoundingClientRect();
    return r && r.width > 0 ? { width: r.width / this.term.cols, height: r.height / this.term.rows } : { width: 8, height: 17 };
  }

  /** Cells that fit in the area now. */
  fits(): { cols: number; rows: number } | undefined {
    return this.fit.proposeDimensions();
  }

  dispose(): void {
    this.term.dispose();
    this.el.remove();
  }
}
