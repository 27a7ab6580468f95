/**
 * Attaching the local terminal to a session: `pairmux host` and
 * `pairmux join`. Keys go to the active pane; Ctrl-B is the prefix for
 * session commands (as in tmux), Ctrl-B d detaches.
 */
import { PairmuxError } from '../../protocol/errors.js';
import type { Command } from '../../protocol/session.js';
import { joinSession } from '../guest/join.js';
import { SessionClient } from '../guest/session-client.js';
import { HostSession, type JoinRequest } from '../host/host-session.js';
import { shareSession, type Share } from '../host/share.js';
import type { Permission } from '../../protocol/session.js';
import { LocalLink } from '../net/link.js';
import { composeFrame, diffFrame, type Frame } from './render.js';
import { geometry } from '../../protocol/layout.js';

export const PREFIX = 0x02; // Ctrl-B
const RENDER_MS = 16;

export const HELP = [
  'pairmux keys — press Ctrl-B, then:',
  '  d        detach (host: ends the session)',
  '  %        split side by side      "   split stacked',
  '  o        next pane               ←↑→↓ pane in that direction',
  '  c        new window              n / p  next / previous window',
  '  0-9      window by number        ,  rename window',
  '  x        close pane              i  show the invite code',
  '  R        re-issue the invite code (host; the old code stops working)',
  '  ?        this help               Ctrl-B  send a literal Ctrl-B',
  'Everything else, Ctrl-C included, goes to the program in the pane.',
];

export class TerminalAttach {
  private prev: Frame | undefined;
  private timer: NodeJS.Timeout | undefined;
  private prefix = false;
  private prompt: { label: string; text: string; done: (v: string) => void } | undefined;
  private overlay: string[] | undefined;
  private message = '';
  private detached!: (code: number) => void;
  readonly done: Promise<number>;

  private requests: JoinRequest[] = [];

  constructor(private readonly client: SessionClient, private readonly label: string, private readonly hosting?: { session: HostSession; share: Share }) {
    this.done = new Promise((r) => (this.detached = r));
    if (hosting) {
      hosting.session.on('join-request', (r) => {
        this.requests.push(r);
        this.prev = undefined;
        this.schedule();
      });
      hosting.session.on('join-request-closed', (id) => {
        this.requests = this.requests.filter((r) => r.id !== id);
        this.prev = undefined;
        this.schedule();
      });
      hosting.share.events.on('rejected', (e) => this.flash(`refused a join: ${e.message} [${e.code}]`));
    }
  }

  private get invite(): string | undefined {
    return this.hosting?.share.code;
  }

  start(): void {
    const out = process.stdout;
    out.write('\x1b[?1049h\x1b[H\x1b[2J');
    if (process.stdin.isTTY) process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on('data', this.onKeys);
    out.on('resize', this.onResize);
    this.onResize();
    for (const ev of ['state', 'output', 'reset', 'resize'] as const) this.client.on(ev, this.schedule);
    this.client.on('event', (e) => {
      if (e.type === 'pane-exited') this.flash(`pane ${e.pane} exited (${e.exitCode})`);
      else if (e.type === 'participant-joined') this.flash(`${e.name} joined`);
      else if (e.type === 'participant-left') this.flash(`${e.name} left`);
    });
    this.client.on('notice', (e) => this.flash(e.message));
    this.client.on('closed', (reason) => this.stop(reason ? `pairmux: ${reason.message}` : 'pairmux: session ended', 0));
    this.schedule();
  }

  private stopped = false;

  stop(message: string, code: number): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    process.stdin.off('data', this.onKeys);
    process.stdout.off('resize', this.onResize);
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stdout.write('\x1b[0m\x1b[?25h\x1b[?1049l');
    if (message) process.stdout.write(message + '\n');
    this.detached(code);
  }

  private size() {
    return { cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 };
  }

  private onResize = () => {
    const { cols, rows } = this.size();
    this.prev = undefined;
    process.stdout.write('\x1b[2J');
    this.run({ type: 'resize-client', cols, rows: Math.max(1, rows - 1) });
    this.schedule();
  };

  private schedule = () => {
    if (!this.timer) this.timer = setTimeout(() => this.render(), RENDER_MS);
  };

  private flash(msg: string): void {
    this.message = msg;
    this.schedule();
    setTimeout(() => {
      if (this.message === msg) {
        this.message = '';
        this.schedule();
      }
    }, 3000).unref();
  }

  private activePane(): number | undefined {
    const s = this.client.state;
    return s?.windows.find((w) => w.id === s.activeWindow)?.activePane;
  }

  private statusLine(cols: number): string {
    const s = this.client.state;
    const me = s?.participants.find((p) => p.id === this.client.participant);
    let left = `[${this.label}${me?.permission === 'view' ? ' · view only' : ''}] `;
    if (s) {
      left += s.windows.map((w, i) => `${i}:${w.name}${w.id === s.activeWindow ? '*' : ''}`).join(' ');
    }
    let right = this.prompt ? `${this.prompt.label}${this.prompt.text}` : this.message || (s ? s.participants.map((p) => p.name).join(', ') : 'connecting…');
    if (this.prefix) right = '^B …';
    const space = Math.max(1, cols - left.length - right.length);
    const text = (left + ' '.repeat(space) + right).slice(0, cols).padEnd(cols);
    return `\x1b[30;42m${text}\x1b[0m`;
  }

  private render(): void {
    this.timer = undefined;
    const s = this.client.state;
    const { cols, rows } = this.size();
    if (!s) return;
    const screens = new Map([...this.client.replicas].map(([id, r]) => [id, r.screen.term]));
    const frame = composeFrame(s, screens, cols, rows, this.statusLine(cols));
    const req = this.requests[0];
    const overlay = req
      ? [`${req.name} wants to join this session.`, '', '  c   allow control (they can type in your shells)', '  v   allow view only', '  n   deny', '', 'Only let in people you sent the invite code to.']
      : this.overlay;
    if (overlay) {
      const w = Math.min(cols - 2, Math.max(...overlay.map((l) => l.length)) + 2);
      const top = Math.max(0, Math.floor((rows - 1 - overlay.length) / 2));
      const left = Math.max(0, Math.floor((cols - w) / 2));
      overlay.forEach((l, i) => {
        if (top + i < rows - 1) frame.rows[top + i] = ' '.repeat(left) + `\x1b[7m ${l.padEnd(w - 1).slice(0, w - 1)}\x1b[0m` + ' '.repeat(Math.max(0, cols - left - w));
      });
      delete frame.cursor;
    }
    process.stdout.write(diffFrame(this.prev, frame));
    this.prev = frame;
  }

  private run(cmd: Command): void {
    this.client.command(cmd).catch((e: PairmuxError) => this.flash(e.message));
  }

  private onKeys = (buf: Buffer) => {
    const req = this.requests[0];
    if (req && this.hosting) {
      // The approval prompt takes the next key: c, v or n (anything else is ignored).
      const key = buf.toString('latin1', 0, 1);
      const answer = key === 'c' ? 'control' : key === 'v' ? 'view' : key === 'n' ? 'deny' : undefined;
      if (!answer) return;
      this.requests.shift();
      try {
        if (answer === 'deny') this.hosting.session.deny(req.id);
        else this.hosting.session.approve(req.id, answer);
        this.flash(answer === 'deny' ? `denied ${req.name}` : `${req.name} joined (${answer === 'view' ? 'view only' : 'control'})`);
      } catch (e) {
        this.flash((e as Error).message);
      }
      this.prev = undefined;
      this.schedule();
      return;
    }
    if (this.overlay) {
      this.overlay = undefined;
      this.prev = undefined;
      this.schedule();
      return;
    }
    if (this.prompt) return this.promptKeys(buf);
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      if (this.prefix) {
        // An escape sequence after the prefix (arrow keys) is one key.
        let key = buf.toString('latin1', i, i + 1);
        if (buf[i] === 0x1b && buf[i + 1] === 0x5b && i + 2 < buf.length) {
          key = buf.toString('latin1', i, i + 3);
          i += 2;
        }
        this.prefix = false;
        this.prefixKey(key);
        start = i + 1;
        this.schedule();
      } else if (buf[i] === PREFIX) {
        this.send(buf.subarray(start, i));
        this.prefix = true;
        start = i + 1;
        this.schedule();
      }
    }
    if (!this.prefix) this.send(buf.subarray(start));
  };

  private send(bytes: Uint8Array): void {
    const pane = this.activePane();
    if (bytes.length && pane !== undefined) this.client.input(pane, bytes);
  }

  private prefixKey(key: string): void {
    const s = this.client.state;
    const pane = this.activePane();
    if (!s || pane === undefined) return;
    const idx = s.windows.findIndex((w) => w.id === s.activeWindow);
    switch (key) {
      case '\x02': this.send(Uint8Array.of(PREFIX)); return;
      case 'd': this.stop('pairmux: detached', 0); return;
      case '%': this.run({ type: 'split-pane', pane, direction: 'h' }); return;
      case '"': this.run({ type: 'split-pane', pane, direction: 'v' }); return;
      case 'c': this.run({ type: 'new-window' }); return;
      case 'x': this.run({ type: 'close-pane', pane }); return;
      case 'n': this.run({ type: 'select-window', window: s.windows[(idx + 1) % s.windows.length]!.id }); return;
      case 'p': this.run({ type: 'select-window', window: s.windows[(idx - 1 + s.windows.length) % s.windows.length]!.id }); return;
      case 'o': {
        const win = s.windows[idx]!;
        const ids = [...geometry(win.layout, s.cols, s.rows).keys()];
        this.run({ type: 'select-pane', pane: ids[(ids.indexOf(pane) + 1) % ids.length]! });
        return;
      }
      case ',': {
        const win = s.windows[idx]!;
        this.prompt = { label: '(rename-window) ', text: '', done: (name) => name && this.run({ type: 'rename-window', window: win.id, name }) };
        return;
      }
      case '?': this.overlay = HELP; return;
      case 'R':
        if (!this.hosting) return this.flash('only the host can re-issue the invite code');
        this.hosting.share.reissue().then(
          (code) => { this.overlay = ['Invite code re-issued; the old one no longer works:', ...chunk(code, Math.max(20, this.size().cols - 8))]; this.schedule(); },
          (e: Error) => this.flash(e.message),
        );
        return;
      case 'i': this.overlay = this.invite ? ['Invite code (also printed before attaching):', ...chunk(this.invite, Math.max(20, this.size().cols - 8))] : ['Ask the host for the invite code.']; return;
      case '\x1b[A': case '\x1b[B': case '\x1b[C': case '\x1b[D': {
        const target = neighbour(s, pane, key[2]!);
        if (target !== undefined) this.run({ type: 'select-pane', pane: target });
        return;
      }
      default:
        if (/^[0-9]$/.test(key) && s.windows[Number(key)]) this.run({ type: 'select-window', window: s.windows[Number(key)]!.id });
    }
  }

  private promptKeys(buf: Buffer): void {
    const p = this.prompt!;
    for (const b of buf) {
      if (b === 0x0d) {
        this.prompt = undefined;
        p.done(p.text);
        break;
      } else if (b === 0x1b || b === 0x03) {
        this.prompt = undefined;
        break;
      } else if (b === 0x7f || b === 0x08) p.text = p.text.slice(0, -1);
      else if (b >= 0x20) p.text += String.fromCharCode(b);
    }
    this.schedule();
  }
}

function chunk(s: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += n) out.push(s.slice(i, i + n));
  return out;
}

/** The pane next to `pane` in an arrow's direction (A up, B down, C right, D left). */
function neighbour(s: NonNullable<SessionClient['state']>, pane: number, dir: string): number | undefined {
  const win = s.windows.find((w) => w.id === s.activeWindow);
  if (!win) return undefined;
  const rects = geometry(win.layout, s.cols, s.rows);
  const a = rects.get(pane);
  if (!a) return undefined;
  const overlapsX = (r: typeof a) => r.x < a.x + a.cols && a.x < r.x + r.cols;
  const overlapsY = (r: typeof a) => r.y < a.y + a.rows && a.y < r.y + r.rows;
  for (const [id, r] of rects) {
    if (id === pane) continue;
    if (dir === 'A' && r.y + r.rows + 1 === a.y && overlapsX(r)) return id;
    if (dir === 'B' && a.y + a.rows + 1 === r.y && overlapsX(r)) return id;
    if (dir === 'C' && a.x + a.cols + 1 === r.x && overlapsY(r)) return id;
    if (dir === 'D' && r.x + r.cols + 1 === a.x && overlapsY(r)) return id;
  }
  return undefined;
}

export interface HostCliOptions {
  relayUrl?: string;
  name?: string;
  port?: number;
  /** Admit every guest with this permission instead of asking (scripted hosts). */
  allow?: Permission;
}

export async function runHost(opts: HostCliOptions): Promise<number> {
  const tty = Boolean(process.stdout.isTTY && process.stdin.isTTY);
  const cols = process.stdout.columns || 80;
  const rows = Math.max(1, (process.stdout.rows || 24) - 1);
  if (!tty && !opts.allow) {
    process.stderr.write('pairmux host: without a terminal nobody can approve joins; pass --allow view or --allow control to admit guests automatically\n');
    return 2;
  }
  const session = new HostSession({ cols, rows, approve: opts.allow ?? 'prompt' });
  const share = await shareSession(session, { relayUrl: opts.relayUrl, embeddedPort: opts.port ?? 0 });
  process.stdout.write(`pairmux: session hosted via ${share.relayUrl}. Invite code (give it to your pair):\n${share.code}\n`);
  const end = async () => {
    session.close();
    await share.close();
  };
  if (!tty) {
    // Scripted use: keep serving until told to stop.
    process.stdout.write('pairmux: no terminal attached; serving until SIGINT/SIGTERM\n');
    return new Promise((resolve) => {
      const stop = () => void end().then(() => resolve(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      session.once('ended', stop);
    });
  }
  await new Promise((r) => setTimeout(r, 600)); // a moment to see the code before the screen switches
  const [hostEnd, viewEnd] = LocalLink.pair();
  session.attach(hostEnd, 'host');
  const client = new SessionClient(viewEnd, opts.name ?? process.env.USER ?? 'host');
  const view = new TerminalAttach(client, 'pairmux host', { session, share });
  view.start();
  const code = await view.done;
  await end();
  process.stdout.write(`pairmux: session ended\n`);
  return code;
}

export async function runJoin(code: string, opts: { name?: string; defaultRelayUrl?: string }): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write('pairmux join: run it in a terminal (stdin and stdout must be a tty)\n');
    return 2;
  }
  process.stdout.write('pairmux: joining…\n');
  const client = await joinSession(code, {
    name: opts.name ?? process.env.USER ?? 'guest',
    onPending: () => process.stdout.write('pairmux: connected; waiting for the host to let you in…\n'),
    ...(opts.defaultRelayUrl ? { defaultRelayUrl: opts.defaultRelayUrl } : {}),
  });
  const view = new TerminalAttach(client, 'pairmux');
  view.start();
  const exit = await view.done;
  client.dispose();
  return exit;
}
