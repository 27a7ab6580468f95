/**
 * The desktop app's engine: the session (hosted or joined) behind the
 * renderer's API (protocol/api.ts). Runs in Electron's main process, or in a
 * plain Node process behind the WebSocket carrier (tests, browser dev mode).
 * Everything the renderer sends is validated here.
 */
import { EventEmitter } from 'node:events';
import type { EngineApi, EngineEvent, PeerStatus, SessionInfo, Settings, StreamItem } from '../../protocol/api.js';
import { StreamBatch } from '../../protocol/api.js';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import { parseCommand, type Command, type Permission } from '../../protocol/session.js';
import { joinSession } from '../guest/join.js';
import { SessionClient } from '../guest/session-client.js';
import { HostSession, type HostSessionOptions } from '../host/host-session.js';
import { shareSession, type Share } from '../host/share.js';
import { LocalLink } from '../net/link.js';
import { SettingsStore, checkSettingsPatch } from './settings.js';

export interface EngineOptions {
  /** Where settings.json is kept (Electron: app.getPath('userData')). */
  dataDir: string;
  /** Ask the user before opening a link; resolves true to open. Absent: links are refused. */
  confirmLink?: (url: string) => Promise<boolean>;
  /** Shell and environment for hosted panes (tests pin a plain shell). */
  hostOptions?: HostSessionOptions;
  /** Address the embedded relay listens on (default: all interfaces, for LAN guests). */
  embeddedHost?: string;
}

/** How often the host refreshes guests' connection status (RTT, route). */
const PEERS_EVERY_MS = 2000;

export class AppEngine extends EventEmitter<{ event: [EngineEvent] }> implements EngineApi {
  private readonly store: SettingsStore;
  private settings: Settings | undefined;
  private client: SessionClient | undefined;
  private host_: { session: HostSession; share: Share } | undefined;
  private info: SessionInfo | undefined;
  private queue: StreamItem[] = [];
  private queuedBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private peersTimer: NodeJS.Timeout | undefined;
  private decoders = new Map<number, TextDecoder>();
  private busy = false;

  constructor(private readonly opts: EngineOptions) {
    super();
    this.store = new SettingsStore(opts.dataDir);
  }

  private send(e: EngineEvent): void {
    this.emit('event', e);
  }

  async getSettings(): Promise<Settings> {
    this.settings ??= await this.store.load();
    return { ...this.settings };
  }

  async setSettings(patch: Partial<Settings>): Promise<Settings> {
    const clean = checkSettingsPatch(patch);
    this.settings = { ...(await this.getSettings()), ...clean };
    await this.store.save(this.settings);
    return { ...this.settings };
  }

  async host(): Promise<SessionInfo> {
    this.claim();
    try {
      const settings = await this.getSettings();
      const session = new HostSession({ cols: 80, rows: 24, approve: 'prompt', ...this.opts.hostOptions, hostName: settings.name });
      session.on('join-request', (request) => this.send({ type: 'join-request', request }));
      session.on('join-request-closed', (id) => this.send({ type: 'join-request-closed', id }));
      let share: Share;
      try {
        share = await shareSession(session, { ...(settings.relayUrl ? { relayUrl: settings.relayUrl } : {}), ...(this.opts.embeddedHost ? { embeddedHost: this.opts.embeddedHost } : {}) });
      } catch (e) {
        session.close();
        throw e;
      }
      this.host_ = { session, share };
      share.events.on('rejected', (e) => this.send({ type: 'notice', code: e.code, message: `refused a join: ${e.message}` }));
      const [hostEnd, viewEnd] = LocalLink.pair();
      session.attach(hostEnd, 'host');
      const client = new SessionClient(viewEnd, settings.name);
      session.once('ended', () => this.end('the last pane exited; the session ended'));
      this.peersTimer = setInterval(() => this.sendPeers(), PEERS_EVERY_MS);
      return await this.adopt(client, 'host', share.code);
    } finally {
      this.busy = false;
    }
  }

  async join(code: string): Promise<SessionInfo> {
    if (typeof code !== 'string' || code.length > 1000) throw new PairmuxError(ErrorCode.InviteMalformed, 'paste the invite code the host shared');
    this.claim();
    try {
      const settings = await this.getSettings();
      const client = await joinSession(code, {
        name: settings.name,
        onPending: () => this.send({ type: 'waiting-approval' }),
        ...(settings.relayUrl ? { defaultRelayUrl: settings.relayUrl } : {}),
      });
      return await this.adopt(client, 'guest', code.trim());
    } finally {
      this.busy = false;
    }
  }

  async leave(): Promise<void> {
    this.end('');
  }

  async command(command: Command): Promise<void> {
    const cmd = parseCommand(command);
    await this.requireClient().command(cmd);
  }

  async input(pane: number, data: string): Promise<void> {
    if (!Number.isInteger(pane) || typeof data !== 'string' || data.length > 1024 * 1024) throw new PairmuxError(ErrorCode.BadCommand, 'input needs a pane id and text');
    this.requireClient().input(pane, data);
  }

  async setPermission(participant: string, permission: Permission): Promise<void> {
    this.requireHost();
    if (permission !== 'view' && permission !== 'control') throw new PairmuxError(ErrorCode.BadCommand, 'permission must be "view" or "control"');
    this.host_!.session.setPermission(String(participant), permission);
  }

  async answerJoin(request: string, decision: Permission | 'deny'): Promise<void> {
    const host = this.requireHost();
    if (decision === 'deny') host.session.deny(String(request));
    else if (decision === 'view' || decision === 'control') host.session.approve(String(request), decision);
    else throw new PairmuxError(ErrorCode.BadCommand, 'answer "control", "view" or "deny"');
  }

  async kick(participant: string): Promise<void> {
    this.requireHost().session.kick(String(participant));
  }

  async reissueCode(): Promise<string> {
    const host = this.requireHost();
    const code = await host.share.reissue();
    if (this.info) {
      this.info = { ...this.info, code };
      this.send({ type: 'session', info: this.info });
    }
    return code;
  }

  private requireHost(): { session: HostSession; share: Share } {
    if (!this.host_) throw new PairmuxError(ErrorCode.Forbidden, 'only the host can do that');
    return this.host_;
  }

  async openLink(url: string): Promise<boolean> {
    let u: URL;
    try {
      u = new URL(String(url));
    } catch {
      return false;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    return this.opts.confirmLink ? this.opts.confirmLink(u.href) : false;
  }

  /** End everything (app quit). */
  dispose(): void {
    this.end('');
  }

  // ---- internals ----

  private claim(): void {
    if (this.busy || this.client) throw new PairmuxError(ErrorCode.BadCommand, 'already in a session: leave it first');
    this.busy = true;
  }

  private requireClient(): SessionClient {
    if (!this.client) throw new PairmuxError(ErrorCode.Disconnected, 'not in a session');
    return this.client;
  }

  private async adopt(client: SessionClient, role: 'host' | 'guest', code: string): Promise<SessionInfo> {
    this.client = client;
    await client.ready();
    // The renderer starts from each replica's full screen. Snapshot markers are
    // queued now; output that arrives after them is held until its pane's
    // snapshot is out, so nothing is shown twice or lost.
    const held = new Map<number, StreamItem[]>();
    const snapshots = [...client.replicas].map(([pane, r]) => {
      held.set(pane, []);
      return r.screen.afterParsed(() => ({ pane, cols: r.screen.cols, rows: r.screen.rows, data: r.screen.serialize() }));
    });
    const emit = (item: StreamItem, bytes: number) => {
      const h = held.get(item.pane);
      if (h) h.push(item);
      else this.push(item, bytes);
    };
    client.on('state', (state) => {
      this.flush();
      this.send({ type: 'state', state });
    });
    client.on('reset', (pane, s) => {
      this.decoders.set(pane, new TextDecoder());
      emit({ kind: 'reset', pane, cols: s.cols, rows: s.rows, data: s.data }, s.data.length);
    });
    client.on('resize', (pane, cols, rows) => emit({ kind: 'resize', pane, cols, rows }, 0));
    client.on('output', (pane, data) => {
      let dec = this.decoders.get(pane);
      if (!dec) this.decoders.set(pane, (dec = new TextDecoder()));
      const text = dec.decode(data, { stream: true });
      if (text) emit({ kind: 'output', pane, data: text }, data.length);
    });
    client.on('event', (event) => {
      this.flush();
      this.send({ type: 'event', event });
    });
    client.on('notice', (e) => this.send({ type: 'notice', code: e.code, message: e.message }));
    client.on('closed', (reason) => this.end(reason?.message ?? 'disconnected from the host'));
    this.info = { role, participant: client.participant ?? '', code };
    this.send({ type: 'session', info: this.info });
    if (client.state) this.send({ type: 'state', state: client.state });
    for (const snap of await Promise.all(snapshots)) {
      this.queue.push({ kind: 'reset', ...snap });
      this.queue.push(...held.get(snap.pane)!);
      held.delete(snap.pane);
    }
    this.flush();
    return this.info;
  }

  /** Batch pane output across the carrier: 16 ms or 200 KB, whichever first (fewer IPC messages). */
  private push(item: StreamItem, bytes: number): void {
    if (item.kind === 'reset') {
      // A reset replaces everything queued for that pane.
      this.queue = this.queue.filter((q) => q.pane !== item.pane);
    }
    this.queue.push(item);
    this.queuedBytes += bytes;
    if (this.queuedBytes >= StreamBatch.bytes) this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), StreamBatch.ms);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.queue.length) return;
    const items = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    this.send({ type: 'stream', items });
  }

  private sendPeers(): void {
    if (!this.host_) return;
    const peers: PeerStatus[] = [...this.host_.share.connecting].map((p) => ({ participant: `relay:${p}`, status: 'connecting' as const }));
    for (const g of this.host_.session.guestLinks()) peers.push({ status: 'connected', ...g });
    this.send({ type: 'peers', peers });
  }

  private end(reason: string): void {
    const had = Boolean(this.client || this.host_);
    if (this.peersTimer) clearInterval(this.peersTimer);
    this.peersTimer = undefined;
    this.flush();
    const client = this.client;
    const host = this.host_;
    this.client = undefined;
    this.host_ = undefined;
    this.info = undefined;
    this.decoders.clear();
    client?.removeAllListeners();
    client?.dispose();
    if (host) {
      host.session.close();
      void host.share.close();
    }
    if (had) {
      this.send({ type: 'session', info: null });
      if (reason) this.send({ type: 'ended', reason });
    }
  }
}
