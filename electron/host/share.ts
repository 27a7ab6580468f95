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
  /** Revoke the current code and issue a new one without ending the session. */
  reissue(): Promise<string>;
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
  const publicUrl = relayUrl;
  const connectUrl = embeddedRelay ? `ws://127.0.0.1:${embeddedRelay.port}` : relayUrl;
  const connecting = new Set<string>();
  const events = new EventEmitter<ShareEvents>();

  /** A fresh room and secret on the relay, with its listener wired to the session. */
  const openRoom = async () => {
    const invite = newInvite(publicUrl === opts.defaultRelayUrl ? undefined : publicUrl);
    const listener = await HostListener.open(connectUrl, invite);
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
    return { invite, listener };
  };

  let room: Awaited<ReturnType<typeof openRoom>>;
  try {
    room = await openRoom();
  } catch (e) {
    await embeddedRelay?.close();
    throw e;
  }
  const onEnded = () => void share.close();
  session.once('ended', onEnded);
  let closed = false;
  const share: Share = {
    events,
    connecting,
    invite: room.invite,
    code: encodeInvite(room.invite),
    relayUrl: publicUrl,
    ...(embeddedRelay ? { embeddedRelay } : {}),
    // Revoke the code and issue a new one: the old room closes on the relay
    // (its secret is useless from now on); guests already connected stay,
    // since their links are peer-to-peer.
    reissue: async () => {
      const next = await openRoom();
      await room.listener.close(); // the old room is gone on the relay before the new code is handed out
      connecting.clear();
      room = next;
      share.invite = next.invite;
      share.code = encodeInvite(next.invite);
      return share.code;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      session.off('ended', onEnded);
      await room.listener.close();
      await embeddedRelay?.close();
    },
  };
  return share;
}
