/**
 * A guest in its own process, driven by run.ts over IPC: join with an invite
 * code, zero its counters on "mark", and report once its replica has parsed
 * everything up to a given offset.
 */
import type { SessionClient } from '../../electron/guest/session-client.js';
import { joinWithRetry, trackGuest, waitCaughtUp, type FromWorker, type GuestCounters, type JoinFailure, type ToWorker } from './lib.js';

let client: SessionClient | undefined;
let pane = 0;
let counters: GuestCounters = { bytes: 0, resets: 0, snapshotChars: 0 };
let base: GuestCounters = { ...counters };
let markedAt = 0;

const reply = (m: FromWorker) => process.send?.(m);

function quit(code: number): void {
  client?.dispose();
  setTimeout(() => process.exit(code), 50);
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.cmd) {
    case 'join': {
      const failures: JoinFailure[] = [];
      const joined = await joinWithRetry(m.code, m.name, failures);
      client = joined.client;
      const ms = joined.ms;
      pane = client.state!.panes[0]!.id;
      counters = trackGuest(client, pane);
      client.on('closed', (r) => {
        if (r) reply({ ev: 'error', message: `guest closed: ${r.message}` });
      });
      reply({ ev: 'joined', ms, pane, offset: client.replicas.get(pane)!.offset, failures });
      return;
    }
    case 'mark':
      base = { ...counters };
      markedAt = performance.now();
      reply({ ev: 'marked', offset: client!.replicas.get(pane)!.offset });
      return;
    case 'expect': {
      const at = await waitCaughtUp(client!, pane, m.end, m.timeoutMs);
      reply({ ev: 'caught-up', bytes: counters.bytes - base.bytes, resets: counters.resets - base.resets, parsedAfterMs: at - markedAt });
      return;
    }
    case 'exit':
      quit(0);
      return;
  }
}

process.on('message', (m: ToWorker) => {
  handle(m).catch((e: unknown) => reply({ ev: 'error', message: (e as Error).message }));
});
process.on('disconnect', () => quit(0));
