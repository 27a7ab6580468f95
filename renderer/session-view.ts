/**
 * The session view: windows as tabs, the active window's panes laid out as
 * the host's layout says (tmux geometry in cells: each pane has a one-row
 * header where tmux draws a border), drag a header to dock a pane on another
 * pane's edge or swap on its centre, drag a border to resize, tmux prefix
 * keys, and the participants panel.
 */
import type { EngineEvent, PeerStatus, RendererBridge, SessionInfo, StreamItem } from '../protocol/api.js';
import { geometry, panesOf, type DockPosition, type Layout, type Rect } from '../protocol/layout.js';
import type { Command, SessionState } from '../protocol/session.js';
import { errorText } from './bridge.js';
import { dialog, h, toast } from './dom.js';
import { AreaProbe, PaneView } from './pane-view.js';

export const SHORTCUTS: [string, string][] = [
  ['Ctrl-B %', 'split side by side'],
  ['Ctrl-B "', 'split stacked'],
  ['Ctrl-B c', 'new window'],
  ['Ctrl-B ,', 'rename window'],
  ['Ctrl-B x', 'close pane'],
  ['Ctrl-B o', 'next pane'],
  ['Ctrl-B ←↑→↓', 'pane in that direction'],
  ['Ctrl-B 0-9', 'window by number'],
  ['Ctrl-B n / p', 'next / previous window'],
  ['Ctrl-B ?', 'this help'],
  ['Ctrl-Shift-C / V', 'copy / paste'],
  ['Ctrl-Shift-F', 'search the scrollback'],
  ['drag a pane header', 'dock it on another pane\'s edge, or swap on its centre'],
  ['drag a border', 'resize'],
];

interface PaneEl {
  view: PaneView;
  root: HTMLDivElement;
  title: HTMLSpanElement;
  who: HTMLSpanElement;
}

export class SessionView {
  private state: SessionState | undefined;
  private peers: PeerStatus[] = [];
  private panes = new Map<number, PaneEl>();
  private cell = { width: 8, height: 17 };
  private readonly tabs = h('div', { class: 'tabs', role: 'tablist' });
  private readonly prefixEl = h('span', { class: 'prefix-indicator', 'data-testid': 'prefix' });
  private readonly area = h('div', { class: 'area', 'data-testid': 'area' });
  private readonly canvas = h('div', { class: 'canvas' });
  private readonly parking = h('div', { style: 'position:absolute;left:-99999px;top:0;visibility:hidden' });
  private readonly sidebar = h('div', { class: 'sidebar', 'data-testid': 'participants' });
  private prefix = false;
  private scale = 1;
  private resizeTimer: number | undefined;
  private lastSize = '';
  private unsubscribe: () => void = () => {};
  private probe: AreaProbe | undefined;
  /** Open approval prompts by request id (their close functions). */
  private approvals = new Map<string, () => void>();
  private readonly viewOnlyBadge = h('span', { class: 'role-badge warn', 'data-testid': 'view-only', hidden: true }, 'view only');

  constructor(private readonly root: HTMLElement, private readonly api: RendererBridge, private readonly info: SessionInfo, private readonly left: (reason: string) => void) {}


  start(pending: EngineEvent[]): void {
    const invite = h('button', { 'data-testid': 'invite', onclick: () => this.showInvite() }, 'Invite');
    const help = h('button', { class: 'ghost', title: 'Keyboard shortcuts (Ctrl-B ?)', onclick: () => this.showHelp() }, '?');
    const leave = h('button', { class: 'ghost', 'data-testid': 'leave', onclick: () => void this.api.leave() }, this.info.role === 'host' ? 'End session' : 'Leave');
    const newWin = h('button', { class: 'ghost', title: 'New window (Ctrl-B c)', 'data-testid': 'new-window', onclick: () => this.run({ type: 'new-window' }) }, '+');
    this.root.replaceChildren(
      h('div', { class: 'topbar' }, this.tabs, newWin, this.prefixEl, h('span', { class: 'role-badge', 'data-testid': 'role' }, this.info.role === 'host' ? 'hosting' : 'guest'), this.viewOnlyBadge, invite, help, leave),
      h('div', { class: 'main' }, this.area, this.sidebar),
    );
    this.area.append(this.canvas, this.parking);
    this.probe = new AreaProbe(this.area);
    this.cell = this.probe.cell();
    this.root.style.setProperty('--cell-h', `${this.cell.height}px`);
    new ResizeObserver(() => this.onAreaResize()).observe(this.area);
    document.addEventListener('keydown', this.onDocKey, true);
    this.unsubscribe = () => document.removeEventListener('keydown', this.onDocKey, true);
    for (const e of pending) this.onEvent(e);
    this.exposeTestHook();
  }

  dispose(): void {
    this.unsubscribe();
    this.probe?.dispose();
    for (const p of this.panes.values()) p.view.dispose();
    this.panes.clear();
  }

  onEvent(e: EngineEvent): void {
    switch (e.type) {
      case 'state':
        this.state = e.state;
        this.render();
        break;
      case 'stream':
        for (const item of e.items) this.apply(item);
        break;
      case 'event':
        if (e.event.type === 'pane-exited') toast(`pane ${e.event.pane} exited (${e.event.exitCode})`);
        else if (e.event.type === 'participant-joined' && e.event.participant !== this.info.participant) toast(`${e.event.name} joined`);
        else if (e.event.type === 'participant-left') toast(`${e.event.name} left`);
        break;
      case 'peers':
        this.peers = e.peers;
        this.renderSidebar();
        break;
      case 'notice':
        toast(e.message);
        break;
      case 'join-request':
        this.askApproval(e.request);
        break;
      case 'join-request-closed':
        this.approvals.get(e.id)?.();
        this.approvals.delete(e.id);
        break;
      case 'ended':
      case 'session':
        if (e.type === 'ended' || e.info === null) {
          this.dispose();
          this.left(e.type === 'ended' ? e.reason : '');
        }
        break;
    }
  }

  // ---- stream ----

  private paneEl(id: number, cols: number, rows: number): PaneEl {
    let p = this.panes.get(id);
    if (p) return p;
    const title = h('span', {});
    const who = h('span', { class: 'who' });
    const close = h('button', { class: 'pane-close', title: 'Close pane (Ctrl-B x)', 'aria-label': `Close pane ${id}`, 'data-testid': `pane-close-${id}` }, '×');
    close.addEventListener('pointerdown', (e) => e.stopPropagation());
    close.addEventListener('click', () => this.run({ type: 'close-pane', pane: id }));
    const header = h('div', { class: 'pane-header', 'data-testid': `pane-header-${id}` }, title, who, close);
    const body = h('div', { class: 'pane-body' });
    const root = h('div', { class: 'pane', 'data-pane': String(id), 'data-testid': `pane-${id}` }, header, body);
    this.parking.append(root);
    const view = new PaneView(id, body, cols, rows, {
      input: (d) => void this.api.input(id, d).catch((err) => toast(errorText(err))),
      openLink: (url) => void this.api.openLink(url),
      key: (ev) => this.onTermKey(ev, id),
      focus: () => {
        const w = this.activeWindow();
        if (w && w.activePane !== id && panesOf(w.layout).includes(id)) this.run({ type: 'select-pane', pane: id });
      },
    });
    header.addEventListener('pointerdown', (ev) => this.startPaneDrag(ev, id));
    p = { view, root, title, who };
    this.panes.set(id, p);
    const me = this.state?.participants.find((x) => x.id === this.info.participant);
    view.term.options.disableStdin = me?.permission === 'view';
    return p;
  }

  private apply(item: StreamItem): void {
    if (item.kind === 'reset') {
      const existed = this.panes.has(item.pane);
      const p = this.paneEl(item.pane, item.cols, item.rows);
      if (existed) p.view.reset(item.cols, item.rows, item.data);
      else if (item.data) p.view.write(item.data);
      if (!existed) this.render();
    } else if (item.kind === 'output') {
      this.panes.get(item.pane)?.view.write(item.data);
    } else {
      this.panes.get(item.pane)?.view.resize(item.cols, item.rows);
    }
  }

  // ---- layout ----

  private activeWindow() {
    const s = this.state;
    return s?.windows.find((w) => w.id === s.activeWindow) ?? s?.windows[0];
  }

  private render(): void {
    const s = this.state;
    if (!s) return;
    this.renderTabs();
    const me = s.participants.find((p) => p.id === this.info.participant);
    const viewOnly = me?.permission === 'view';
    this.viewOnlyBadge.hidden = !viewOnly;
    for (const p of this.panes.values()) p.view.term.options.disableStdin = viewOnly;
    const win = this.activeWindow();
    const live = new Set(s.panes.map((p) => p.id));
    for (const [id, p] of this.panes) {
      if (!live.has(id)) {
        p.view.dispose();
        p.root.remove();
        this.panes.delete(id);
      }
    }
    this.canvas.querySelectorAll('.splitter').forEach((e) => e.remove());
    const shown = new Set<number>();
    if (win) {
      const { width: cw, height: ch } = this.cell;
      const rects = geometry(win.layout, s.cols, s.rows);
      this.canvas.style.width = `${s.cols * cw}px`;
      this.canvas.style.height = `${(s.rows + 1) * ch}px`;
      for (const [id, r] of rects) {
        const info = s.panes.find((p) => p.id === id);
        const p = this.paneEl(id, info?.cols ?? r.cols, info?.rows ?? r.rows);
        shown.add(id);
        if (p.root.parentElement !== this.canvas) this.canvas.append(p.root);
        Object.assign(p.root.style, { left: `${r.x * cw}px`, top: `${r.y * ch}px`, width: `${r.cols * cw}px`, height: `${(r.rows + 1) * ch}px` });
        p.root.classList.toggle('active', id === win.activePane);
        p.title.textContent = `pane ${id}${info?.title ? ` · ${info.title}` : ''}`;
        p.who.replaceChildren(...s.participants.filter((x) => x.focus?.pane === id).map((x) => h('span', { class: 'dot', title: x.name, style: `background:${x.color}` })));
      }
      this.renderSplitters(win.id, win.layout, rects);
      const active = this.panes.get(win.activePane);
      if (active && !this.root.querySelector('.overlay') && document.activeElement !== active.view.term.textarea && !(document.activeElement instanceof HTMLInputElement)) {
        active.view.term.focus();
      }
    }
    for (const [id, p] of this.panes) if (!shown.has(id) && p.root.parentElement !== this.parking) this.parking.append(p.root);
    this.fitCanvas();
    this.renderSidebar();
  }

  /** Guests whose area differs see the host's grid scaled to fit, never cut. */
  private fitCanvas(): void {
    const s = this.state;
    if (!s) return;
    const w = s.cols * this.cell.width;
    const hgt = (s.rows + 1) * this.cell.height;
    const aw = this.area.clientWidth;
    const ah = this.area.clientHeight;
    this.scale = aw > 0 && ah > 0 ? Math.min(1, aw / w, ah / hgt) : 1;
    this.canvas.style.transform = this.scale < 1 ? `scale(${this.scale})` : '';
  }

  /** The host's view sets the session size (until the resize-policy issue). */
  private onAreaResize(): void {
    this.fitCanvas();
    if (this.info.role !== 'host') return;
    clearTimeout(this.resizeTimer);
    this.resizeTimer = window.setTimeout(() => {
      const fit = this.probe?.fits();
      if (!fit) return;
      // One row of the area is the top pane's header (tmux draws no border there).
      const cols = Math.max(10, fit.cols);
      const rows = Math.max(3, fit.rows - 1);
      const key = `${cols}x${rows}`;
      if (key === this.lastSize) return;
      this.lastSize = key;
      this.run({ type: 'resize-client', cols, rows });
    }, 60);
  }

  private renaming = false;

  private renderTabs(): void {
    if (this.renaming) return; // keep the name being typed; tabs redraw when it is done
    const s = this.state!;
    this.tabs.replaceChildren(
      ...s.windows.map((w, i) => {
        const name = h('span', { 'data-testid': `tab-name-${i}` }, `${i}: ${w.name}`);
        const tab = h('div', { class: `tab${w.id === s.activeWindow ? ' active' : ''}`, role: 'tab', 'data-testid': `tab-${i}`, title: 'Double-click to rename' },
          name, h('button', { class: 'close', title: 'Close window', 'aria-label': `Close window ${w.name}`, onclick: (e: MouseEvent) => { e.stopPropagation(); this.run({ type: 'close-window', window: w.id }); } }, '×'));
        tab.addEventListener('click', () => w.id !== s.activeWindow && this.run({ type: 'select-window', window: w.id }));
        tab.addEventListener('dblclick', () => this.renameWindow(w.id, w.name, name));
        return tab;
      }),
    );
  }

  private renameWindow(id: number, current: string, label?: HTMLElement): void {
    const tabLabel = label ?? this.tabs.querySelector<HTMLElement>('.tab.active span');
    if (!tabLabel) return;
    const input = h('input', { type: 'text', value: current, 'data-testid': 'rename-input', 'aria-label': 'Window name' });
    let done = false;
    this.renaming = true;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      this.renaming = false;
      if (ok && input.value.trim() && input.value.trim() !== current) this.run({ type: 'rename-window', window: id, name: input.value.trim() });
      else this.renderTabs();
    };
    input.addEventListener('keydown', (e) => {
      e.stopPropagation();
      if (e.key === 'Enter') finish(true);
      if (e.key === 'Escape') finish(false);
    });
    input.addEventListener('blur', () => finish(true));
    tabLabel.replaceWith(input);
    input.focus();
    input.select();
  }

  private renderSplitters(windowId: number, layout: Layout, rects: Map<number, Rect>): void {
    const { width: cw, height: ch } = this.cell;
    const bounds = (l: Layout): Rect => {
      if (l.kind === 'pane') return rects.get(l.pane)!;
      const rs = l.children.map(bounds);
      const x = Math.min(...rs.map((r) => r.x));
      const y = Math.min(...rs.map((r) => r.y));
      return { x, y, cols: Math.max(...rs.map((r) => r.x + r.cols)) - x, rows: Math.max(...rs.map((r) => r.y + r.rows)) - y };
    };
    const walk = (l: Layout) => {
      if (l.kind === 'pane') return;
      const b = bounds(l);
      const kids = l.children.map(bounds);
      for (let i = 0; i < kids.length - 1; i++) {
        const a = kids[i]!;
        const next = kids[i + 1]!;
        const el = h('div', { class: `splitter ${l.dir === 'row' ? 'v' : 'h'}`, 'data-testid': `splitter-${l.id}-${i}` });
        if (l.dir === 'row') Object.assign(el.style, { left: `${(a.x + a.cols) * cw}px`, top: `${b.y * ch}px`, width: `${cw}px`, height: `${(b.rows + 1) * ch}px` });
        else Object.assign(el.style, { left: `${b.x * cw}px`, top: `${next.y * ch - 3}px`, width: `${b.cols * cw}px`, height: '6px' });
        el.addEventListener('pointerdown', (ev) => this.startSplitDrag(ev, el, windowId, l, kids, i));
        this.canvas.append(el);
      }
      l.children.forEach(walk);
    };
    walk(layout);
  }

  private startSplitDrag(ev: PointerEvent, el: HTMLElement, windowId: number, split: Extract<Layout, { kind: 'split' }>, kids: Rect[], i: number): void {
    ev.preventDefault();
    el.classList.add('dragging');
    el.setPointerCapture(ev.pointerId);
    const row = split.dir === 'row';
    const start = this.canvas.getBoundingClientRect();
    const cellPx = (row ? this.cell.width : this.cell.height) * this.scale;
    const lens = kids.map((k) => (row ? k.cols : k.rows));
    const starts = kids.map((k) => (row ? k.x : k.y));
    const move = (e: PointerEvent) => {
      const pos = ((row ? e.clientX - start.left : e.clientY - start.top) / this.scale) | 0;
      if (row) el.style.left = `${pos}px`;
      else el.style.top = `${pos - 3}px`;
    };
    const up = (e: PointerEvent) => {
      el.removeEventListener('pointermove', move);
      el.removeEventListener('pointerup', up);
      el.classList.remove('dragging');
      const cellPos = Math.round((row ? e.clientX - start.left : e.clientY - start.top) / cellPx);
      const lo = starts[i]! + 1;
      const hi = starts[i + 1]! + lens[i + 1]! - 1;
      const boundary = Math.min(hi, Math.max(lo, cellPos));
      const sizes = lens.slice();
      const pair = lens[i]! + lens[i + 1]!;
      sizes[i] = boundary - starts[i]!;
      sizes[i + 1] = pair - sizes[i]!;
      const total = sizes.reduce((a, b) => a + b, 0);
      this.run({ type: 'resize-split', window: windowId, split: split.id, sizes: sizes.map((s) => s / total) });
    };
    el.addEventListener('pointermove', move);
    el.addEventListener('pointerup', up);
  }

  /** Drag a pane by its header: edges dock, the centre swaps. */
  private startPaneDrag(ev: PointerEvent, id: number): void {
    if (ev.button !== 0) return;
    const header = ev.currentTarget as HTMLElement;
    const x0 = ev.clientX;
    const y0 = ev.clientY;
    let dragging = false;
    let target: { pane: number; position: DockPosition } | undefined;
    const zone = h('div', { class: 'drop-zone', 'data-testid': 'drop-zone' });
    const move = (e: PointerEvent) => {
      if (!dragging && Math.hypot(e.clientX - x0, e.clientY - y0) < 5) return;
      if (!dragging) {
        dragging = true;
        header.style.cursor = 'grabbing';
        this.canvas.append(zone);
      }
      target = this.dropTarget(e.clientX, e.clientY, id);
      if (!target) {
        zone.style.display = 'none';
        return;
      }
      const el = this.panes.get(target.pane)!.root;
      const l = el.offsetLeft;
      const t = el.offsetTop;
      const w = el.offsetWidth;
      const hh = el.offsetHeight;
      const r = { left: { l, t, w: w / 2, h: hh }, right: { l: l + w / 2, t, w: w / 2, h: hh }, top: { l, t, w, h: hh / 2 }, bottom: { l, t: t + hh / 2, w, h: hh / 2 }, center: { l: l + w / 4, t: t + hh / 4, w: w / 2, h: hh / 2 } }[target.position];
      Object.assign(zone.style, { display: 'block', left: `${r.l}px`, top: `${r.t}px`, width: `${r.w}px`, height: `${r.h}px` });
      zone.dataset.position = target.position;
      zone.dataset.target = String(target.pane);
    };
    const up = () => {
      document.removeEventListener('pointermove', move);
      document.removeEventListener('pointerup', up);
      header.style.cursor = '';
      zone.remove();
      if (dragging && target) this.run({ type: 'move-pane', pane: id, target: target.pane, position: target.position });
      else if (!dragging) this.run({ type: 'select-pane', pane: id });
    };
    document.addEventListener('pointermove', move);
    document.addEventListener('pointerup', up);
  }

  private dropTarget(clientX: number, clientY: number, self: number): { pane: number; position: DockPosition } | undefined {
    for (const [pid, p] of this.panes) {
      if (pid === self || p.root.parentElement !== this.canvas) continue;
      const r = p.root.getBoundingClientRect();
      if (clientX < r.left || clientX > r.right || clientY < r.top || clientY > r.bottom) continue;
      const fx = (clientX - r.left) / r.width;
      const fy = (clientY - r.top) / r.height;
      const edge = Math.min(fx, 1 - fx, fy, 1 - fy);
      if (edge > 0.25) return { pane: pid, position: 'center' };
      if (edge === fx) return { pane: pid, position: 'left' };
      if (edge === 1 - fx) return { pane: pid, position: 'right' };
      if (edge === fy) return { pane: pid, position: 'top' };
      return { pane: pid, position: 'bottom' };
    }
    return undefined;
  }

  // ---- participants ----

  private renderSidebar(): void {
    const s = this.state;
    if (!s) return;
    const lastTyper = [...s.participants].filter((p) => p.lastInputAt).sort((a, b) => (b.lastInputAt ?? 0) - (a.lastInputAt ?? 0))[0];
    const connecting = this.peers.filter((p) => p.status === 'connecting');
    this.sidebar.replaceChildren(
      h('h3', {}, `Participants · ${s.participants.length}`),
      ...s.participants.map((p) => {
        const link = this.peers.find((x) => x.participant === p.id);
        const bits = [p.role === 'host' ? 'host' : p.permission === 'control' ? 'can type' : 'view only'];
        if (p.focus) bits.push(`in pane ${p.focus.pane}`);
        if (lastTyper?.id === p.id) bits.push('typed last');
        const conn = p.role === 'guest' && link ? `${link.status}${link.route ? ` · ${link.route}` : ''}${link.rttMs !== undefined ? ` · ${link.rttMs.toFixed(1)} ms` : ''}` : '';
        const controls = this.info.role === 'host' && p.role === 'guest'
          ? h('span', { class: 'sub person-actions' },
            h('button', { class: 'small', 'data-testid': `perm-${p.id}`, onclick: () => void this.api.setPermission(p.id, p.permission === 'control' ? 'view' : 'control').catch((e) => toast(errorText(e))) }, p.permission === 'control' ? 'Make view only' : 'Give control'),
            h('button', { class: 'small danger', 'data-testid': `kick-${p.id}`, onclick: () => void this.api.kick(p.id).catch((e) => toast(errorText(e))) }, 'Remove'))
          : null;
        return h('div', { class: 'person', 'data-testid': `person-${p.id}` },
          h('span', { class: 'dot', style: `background:${p.color}` }),
          h('span', {}, p.name, p.id === this.info.participant ? h('span', { class: 'muted' }, ' (you)') : null),
          h('span', { class: 'sub' }, bits.join(' · ')),
          conn ? h('span', { class: 'sub', 'data-testid': `conn-${p.id}` }, conn) : null,
          controls);
      }),
      ...connecting.map(() => h('div', { class: 'person' }, h('span', { class: 'dot', style: 'background:var(--fg-2)' }), h('span', { class: 'muted' }, 'someone is connecting…'))),
    );
  }

  // ---- commands and keys ----

  private run(cmd: Command): void {
    this.api.command(cmd).catch((e) => toast(errorText(e)));
  }

  private activePane(): number | undefined {
    return this.activeWindow()?.activePane;
  }

  private setPrefix(on: boolean): void {
    this.prefix = on;
    this.prefixEl.textContent = on ? 'Ctrl-B …' : '';
  }

  /** Keys typed into a terminal. Returns false for keys that are shortcuts (kept from the pty). */
  private onTermKey(e: KeyboardEvent, pane: number): boolean {
    if (e.type !== 'keydown') return !this.prefix;
    if (e.ctrlKey && e.shiftKey && ['C', 'V', 'F'].includes(e.key.toUpperCase())) {
      e.preventDefault();
      this.clipboardOrSearch(e.key.toUpperCase(), pane);
      return false;
    }
    if (this.prefix) {
      if (['Shift', 'Control', 'Alt', 'Meta'].includes(e.key)) return false;
      this.setPrefix(false);
      e.preventDefault();
      if (e.ctrlKey && e.key === 'b') return true; // Ctrl-B Ctrl-B sends a literal Ctrl-B
      this.prefixKey(e.key);
      return false;
    }
    if (e.ctrlKey && !e.shiftKey && !e.altKey && e.key === 'b') {
      e.preventDefault();
      this.setPrefix(true);
      return false;
    }
    return true;
  }

  /** The prefix also works when focus is outside a terminal (e.g. on a tab). */
  private onDocKey = (e: KeyboardEvent) => {
    if (e.target instanceof HTMLTextAreaElement && e.target.closest('.xterm')) return; // the terminal handles it
    if (e.target instanceof HTMLInputElement) return;
    if (this.prefix) {
      if (['Shift', 'Control', 'Alt', 'Meta'].includes(e.key)) return;
      e.preventDefault();
      this.setPrefix(false);
      this.prefixKey(e.key);
    } else if (e.ctrlKey && e.key === 'b') {
      e.preventDefault();
      this.setPrefix(true);
    }
  };

  private prefixKey(key: string): void {
    const s = this.state;
    const win = this.activeWindow();
    const pane = this.activePane();
    if (!s || !win || pane === undefined) return;
    const idx = s.windows.indexOf(win);
    switch (key) {
      case '%': return this.run({ type: 'split-pane', pane, direction: 'h' });
      case '"': return this.run({ type: 'split-pane', pane, direction: 'v' });
      case 'c': return this.run({ type: 'new-window' });
      case 'x': return this.run({ type: 'close-pane', pane });
      case ',': return this.renameWindow(win.id, win.name);
      case 'n': return this.run({ type: 'select-window', window: s.windows[(idx + 1) % s.windows.length]!.id });
      case 'p': return this.run({ type: 'select-window', window: s.windows[(idx - 1 + s.windows.length) % s.windows.length]!.id });
      case '?': return this.showHelp();
      case 'o': {
        const ids = panesOf(win.layout);
        return this.run({ type: 'select-pane', pane: ids[(ids.indexOf(pane) + 1) % ids.length]! });
      }
      case 'ArrowLeft': case 'ArrowRight': case 'ArrowUp': case 'ArrowDown': {
        const rects = geometry(win.layout, s.cols, s.rows);
        const a = rects.get(pane)!;
        const cx = a.x + a.cols / 2;
        const cy = a.y + a.rows / 2;
        let best: number | undefined;
        let bestD = Infinity;
        for (const [id, r] of rects) {
          if (id === pane) continue;
          const dx = r.x + r.cols / 2 - cx;
          const dy = r.y + r.rows / 2 - cy;
          const ok = key === 'ArrowLeft' ? r.x + r.cols < a.x + 1 : key === 'ArrowRight' ? r.x > a.x + a.cols - 1 : key === 'ArrowUp' ? r.y + r.rows < a.y + 1 : r.y > a.y + a.rows - 1;
          const d = Math.abs(dx) + Math.abs(dy);
          if (ok && d < bestD) [best, bestD] = [id, d];
        }
        if (best !== undefined) this.run({ type: 'select-pane', pane: best });
        return;
      }
      default:
        if (/^[0-9]$/.test(key) && s.windows[Number(key)]) this.run({ type: 'select-window', window: s.windows[Number(key)]!.id });
    }
  }

  private clipboardOrSearch(key: string, pane: number): void {
    const view = this.panes.get(pane)?.view;
    if (!view) return;
    if (key === 'C') {
      const text = view.term.getSelection();
      if (text) navigator.clipboard.writeText(text).then(() => toast('copied'), () => toast('the clipboard is not available here'));
    } else if (key === 'V') {
      navigator.clipboard.readText().then((t) => t && view.term.paste(t), () => toast('paste with the Edit menu or Ctrl-V: clipboard access was refused'));
    } else {
      this.openSearch(view);
    }
  }

  private openSearch(view: PaneView): void {
    const box = this.panes.get(view.id)?.root.querySelector('.searchbox');
    if (box) return (box.querySelector('input') as HTMLInputElement).focus();
    const input = h('input', { type: 'text', placeholder: 'Search scrollback', 'data-testid': 'search-input' });
    const close = () => {
      view.search.clearDecorations();
      el.remove();
      view.term.focus();
    };
    const find = (back: boolean) => {
      const found = back ? view.search.findPrevious(input.value) : view.search.findNext(input.value);
      if (!found) toast(`"${input.value}" not found`);
    };
    input.addEventListener('keydown', (e) => {
      e.stopPropagation();
      if (e.key === 'Enter') find(e.shiftKey);
      if (e.key === 'Escape') close();
    });
    const el = h('div', { class: 'searchbox' }, input, h('button', { onclick: () => find(true) }, '↑'), h('button', { onclick: () => find(false) }, '↓'), h('button', { onclick: close }, '×'));
    this.panes.get(view.id)!.root.append(el);
    input.focus();
  }

  private askApproval(req: { id: string; name: string }): void {
    const answer = (decision: 'control' | 'view' | 'deny') => {
      close();
      this.approvals.delete(req.id);
      this.api.answerJoin(req.id, decision).catch((e) => toast(errorText(e)));
    };
    const close = dialog(`${req.name} wants to join`, [
      h('div', { class: 'muted' }, 'Only let in people you sent the invite code to. With control they can type in your shells.'),
      h('div', { class: 'row' },
        h('button', { class: 'primary', 'data-testid': 'approve-control', onclick: () => answer('control') }, 'Allow control'),
        h('button', { 'data-testid': 'approve-view', onclick: () => answer('view') }, 'Allow view only'),
        h('button', { class: 'danger', 'data-testid': 'approve-deny', onclick: () => answer('deny') }, 'Deny')),
    ]);
    this.approvals.set(req.id, close);
  }

  private showInvite(): void {
    const code = h('div', { class: 'code', 'data-testid': 'invite-code' }, this.info.code);
    const copy = h('button', { class: 'primary', onclick: () => navigator.clipboard.writeText(this.info.code).then(() => toast('invite code copied'), () => toast('select the code and copy it')) }, 'Copy');
    const reissue = this.info.role === 'host'
      ? h('button', { 'data-testid': 'reissue', title: 'The current code stops working; people already here stay', onclick: () => this.api.reissueCode().then((c) => { this.info.code = c; code.textContent = c; toast('new invite code issued; the old one no longer works'); }, (e) => toast(errorText(e))) }, 'Re-issue code')
      : null;
    dialog('Invite someone', [h('div', { class: 'muted' }, 'Send this code to your pair. They can join once you approve them.'), code, h('div', { class: 'row' }, copy, reissue)]);
  }

  private showHelp(): void {
    dialog('Keyboard shortcuts', [h('div', { class: 'keys' }, ...SHORTCUTS.flatMap(([k, v]) => [h('kbd', {}, k), h('span', {}, v)]))]);
  }

  /** Read-only hooks for the end-to-end tests: what a person sees, as text. */
  private exposeTestHook(): void {
    (window as unknown as { __pairmux: unknown }).__pairmux = {
      state: () => this.state,
      paneText: (id: number) => this.panes.get(id)?.view.text() ?? null,
      renderer: (id: number) => this.panes.get(id)?.view.renderer ?? null,
      termSize: (id: number) => {
        const t = this.panes.get(id)?.view.term;
        return t ? { cols: t.cols, rows: t.rows } : null;
      },
      scale: () => this.scale,
      selection: (id: number) => this.panes.get(id)?.view.term.getSelection() ?? '',
    };
  }
}
