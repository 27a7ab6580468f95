/**
 * The app API: the one contract between the UI (renderer/) and the engine
 * (electron/app/engine.ts). Carried by IPC in Electron (preload exposes
 * exactly this) and by a WebSocket in tests and the browser dev mode. One
 * contract, two carriers.
 */
import type { ErrorCode } from './errors.js';
import type { Command, Participant, Permission, SessionEvent, SessionState } from './session.js';

export interface Settings {
  /** Display name shown to the other participants. */
  name: string;
  /** Relay URL, or null for the embedded LAN relay. */
  relayUrl: string | null;
}

export interface SessionInfo {
  role: 'host' | 'guest';
  /** Our participant id in the session. */
  participant: string;
  /** The invite code (the host always has it; a guest has the one it used). */
  code: string;
}

/** Connection state of one guest, as the host sees it. */
export interface PeerStatus {
  participant: string;
  status: 'connecting' | 'connected' | 'disconnected';
  route?: 'direct' | 'relayed';
  rttMs?: number;
}

/** Pane stream items, in the order they happened. Output is UTF-8 text decoded per pane (no split characters). */
export type StreamItem =
  | { kind: 'output'; pane: number; data: string }
  | { kind: 'reset'; pane: number; cols: number; rows: number; data: string }
  | { kind: 'resize'; pane: number; cols: number; rows: number };

export type EngineEvent =
  | { type: 'session'; info: SessionInfo | null }
  | { type: 'state'; state: SessionState }
  | { type: 'stream'; items: StreamItem[] }
  | { type: 'event'; event: SessionEvent }
  | { type: 'peers'; peers: PeerStatus[] }
  | { type: 'ended'; reason: string }
  /** Host only: someone asks to join (answer with answerJoin). */
  | { type: 'join-request'; request: { id: string; name: string } }
  | { type: 'join-request-closed'; id: string }
  /** Guest only: connected, waiting for the host's approval. */
  | { type: 'waiting-approval' }
  | { type: 'notice'; code: ErrorCode | string; message: string };

/** Requests the renderer may make. Every argument is validated by the engine. */
export interface EngineApi {
  getSettings(): Promise<Settings>;
  setSettings(patch: Partial<Settings>): Promise<Settings>;
  host(): Promise<SessionInfo>;
  join(code: string): Promise<SessionInfo>;
  leave(): Promise<void>;
  command(command: Command): Promise<void>;
  /** Keystrokes for a pane (fire and forget; a rejected one comes back as a notice). */
  input(pane: number, data: string): Promise<void>;
  setPermission(participant: string, permission: Permission): Promise<void>;
  /** Host only: answer a join request. */
  answerJoin(request: string, decision: Permission | 'deny'): Promise<void>;
  /** Host only: remove a guest. */
  kick(participant: string): Promise<void>;
  /** Host only: revoke the invite code and issue a new one; resolves with the new code. */
  reissueCode(): Promise<string>;
  /** Open an http(s) link from terminal output, after the user confirms. Resolves false if refused. */
  openLink(url: string): Promise<boolean>;
}

export type EngineMethod = keyof EngineApi;
export const ENGINE_METHODS: readonly EngineMethod[] = ['getSettings', 'setSettings', 'host', 'join', 'leave', 'command', 'input', 'setPermission', 'answerJoin', 'kick', 'reissueCode', 'openLink'];

/** What the renderer sees: the API plus a subscription to events. */
export interface RendererBridge extends EngineApi {
  onEvent(listener: (e: EngineEvent) => void): () => void;
}

/** Error shape that crosses the carriers (Error objects do not survive structured clone with their code). */
export interface ApiError {
  code: ErrorCode | string;
  message: string;
}

/** Carrier messages (both IPC and WebSocket use these shapes). */
export type CarrierRequest = { id: number; method: EngineMethod; args: unknown[] };
export type CarrierResponse = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ApiError };

/** IPC channel names (Electron). */
export const IpcChannel = {
  invoke: 'pairmux:invoke',
  event: 'pairmux:event',
} as const;

/** Output batching across the carrier (Hyper's numbers): flush every 16 ms or at 200 KB, whichever first. */
export const StreamBatch = { ms: 16, bytes: 200 * 1024 } as const;

export type { Participant };
