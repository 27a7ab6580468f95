/** Joining a session from an invite code. */
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import { decodeInvite } from '../../protocol/invite.js';
import { connectToHost } from '../net/connect.js';
import { SessionClient } from './session-client.js';

/** How long a guest waits for the host to approve the join (the host's own timeout is shorter). */
export const APPROVAL_WAIT_MS = 150_000;

export interface JoinOptions {
  name?: string;
  /** Called when the host has been asked to approve this join. */
  onPending?: () => void;
  approvalTimeoutMs?: number;
  /** Used when the code carries no relay address. */
  defaultRelayUrl?: string;
}

/** Decode the code, connect peer-to-peer through its relay, and wait until every pane's screen has arrived. */
export async function joinSession(code: string, opts: JoinOptions = {}): Promise<SessionClient> {
  const invite = decodeInvite(code);
  const relay = invite.relay ?? opts.defaultRelayUrl;
  if (!relay) throw new PairmuxError(ErrorCode.InviteMalformed, 'this invite code names no relay and no default relay is configured: pass --relay URL');
  const { link, signaling, auth } = await connectToHost(relay, invite);
  // The peer link stands on its own; the relay is not needed once connected.
  signaling.close();
  const client = new SessionClient(link, opts.name ?? 'guest', { auth });
  if (opts.onPending) client.once('pending', opts.onPending);
  try {
    await client.ready(opts.approvalTimeoutMs ?? APPROVAL_WAIT_MS);
  } catch (e) {
    client.dispose();
    throw e;
  }
  return client;
}
