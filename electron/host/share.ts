/**
 * Sharing a HostSession: open a room on a relay (or an embedded one on the
 * LAN), make the invite code, and attach every guest that connects.
 */
import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import type { PairmuxError } from '../../protocol/errors.js';
import { encodeInvite, newInvite, type Invite } from '../../protocol/invite.js';
import { startRelay, type Relay } from '../../relay/server.js';
import { HostListener } from '../net/connect.js';
import type { HostSession } from './host-session.js';

export interface ShareOptions {
  /** Relay URL; when absent an embedded relay is started and its LAN address goes in the code. */
  relayUrl?: string;
  /** The relay users get without saying: left out of the code when used. */
  defaultRelayUrl?: string;
  /** Port of the embedded relay (0: any free port). */
  embeddedPort?: number;
  /** Address the embedded relay listens on (default all interfaces, so LAN guests reach it). */
  embeddedHost?: string;
}

export interface ShareEvents {
  /** A join was refused because its handshake failed (a tampering relay): named error. */
  rejected: [PairmuxError];
}

export interface Share {
  events: EventEmitter<ShareEvents>;
  /** Relay peer ids of guests that are joining but not yet connected. */
  connecting: Set<string>;
  invite: Invite;
  code: string;
  relayUrl: string;
  embeddedRelay?: Relay;
  close(): Promise<void>;
}

/** This machine's first non-internal IPv4 address, for the embedded relay's URL. */
export function lanAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export async function shareSession(session: HostSession, opts: ShareOptions = {}): Promise<Share> {
  let embeddedRelay: Relay | undefined;
  let relayUrl = opts.relayUrl;
  if (!relayUrl) {
    const host = opts.embeddedHost ?? '0.0.0.0';
    embeddedRelay = await startRelay({ port: opts.embeddedPort ?? 0, host });
    const shown = host === '0.0.0.0' ? lanAddress() : host;
    relayUrl = `ws://${shown}:${embeddedRelay.port}`;
  }
  const invite = newInvite(relayUrl === opts.defaultRelayUrl ? undefined : relayUrl);
  const connectUrl = embeddedRelay ? `ws://127.0.0.1:${embeddedRelay.port}` : relayUrl;
  let listener: HostListener;
  try {
    listener = await HostListener.open(connectUrl, invite);
  } catch (e) {
    await embeddedRelay?.close();
    throw e;
  }
  const connecting = new Set<string>();
  const events = new EventEmitter<ShareEvents>();
  listener.on('peer-joined', (peer) => connecting.add(peer));
  listener.on('peer-left', (peer) => connecting.delete(peer));
  listener.on('link', (link, peer, auth) => {
    connecting.delete(peer);
    session.attach(link, 'guest', auth);
  });
  listener.on('rejected', (peer, error) => {
    connecting.delete(peer);
    events.emit('rejected', error);
  });
  const onEnded = () => void close();
  session.once('ended', onEnded);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    session.off('ended', onEnded);
    listener.close();
    await embeddedRelay?.close();
  };
  return { events, connecting, invite, code: encodeInvite(invite), relayUrl, ...(embeddedRelay ? { embeddedRelay } : {}), close };
}
