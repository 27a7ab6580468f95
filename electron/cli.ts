/**
 * `pairmux` — terminal front end over the session engine.
 *
 *   pairmux host [--relay URL] [--name NAME] [--port N]
 *   pairmux join CODE [--name NAME] [--relay URL]
 *   pairmux relay [--port N] [--host ADDR] [--ice-server URL]...
 */
import { parseArgs } from 'node:util';
import { PairmuxError } from '../protocol/errors.js';
import type { IceServer } from '../protocol/signaling.js';
import { startRelay } from '../relay/server.js';

const USAGE = `usage:
  pairmux host [--relay URL] [--name NAME] [--port N] [--allow view|control]
                                                        start a session and attach to it; each guest
                                                        must be approved (--allow admits everyone)
  pairmux join CODE [--name NAME] [--relay URL]         join a session with an invite code
  pairmux relay [--port N] [--host ADDR] [--ice-server URL]... [--idle-seconds N]
                [--max-connections-per-address N] [--joins-per-minute N]
                                                        run a signaling relay (default port 7420)
  pairmux ui [--port N] [--data DIR]                    the desktop UI in a local browser (dev mode)
Keys in a session (prefix Ctrl-B, as in tmux): d detach, % split side by side,
" split stacked, o / arrows next pane, c new window, n/p next/previous window,
x close pane, i invite code, R re-issue the code, ? help.
Ctrl-B Ctrl-B sends a literal Ctrl-B.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      relay: { type: 'string' },
      name: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'ice-server': { type: 'string', multiple: true },
      data: { type: 'string' },
      allow: { type: 'string' },
      'idle-seconds': { type: 'string' },
      'joins-per-minute': { type: 'string' },
      'max-connections-per-address': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    console.log(USAGE);
    return 0;
  }
  switch (cmd) {
    case 'relay': {
      const iceServers: IceServer[] = (values['ice-server'] ?? []).map((urls) => ({ urls }));
      const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
      const relay = await startRelay({
        port: values.port ? Number(values.port) : 7420,
        host: values.host ?? '0.0.0.0',
        iceServers,
        ...(values['idle-seconds'] ? { idleMs: num(values['idle-seconds'])! * 1000 } : {}),
        ...(values['max-connections-per-address'] ? { maxConnectionsPerAddress: num(values['max-connections-per-address'])! } : {}),
        ...(values['joins-per-minute'] ? { joinsPerMinutePerAddress: num(values['joins-per-minute'])!, joinsPerMinutePerRoom: num(values['joins-per-minute'])! } : {}),
        log: (l) => console.log(`[relay] ${l}`),
      });
      console.log(`pairmux relay listening on port ${relay.port} (health: http://127.0.0.1:${relay.port}/health)`);
      const stop = () => void relay.close().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      return new Promise(() => {});
    }
    case 'host': {
      const { runHost } = await import('./cli/attach.js');
      const allow = values.allow;
      if (allow !== undefined && allow !== 'view' && allow !== 'control') {
        console.error('pairmux host: --allow takes "view" or "control"');
        return 2;
      }
      return runHost({ relayUrl: values.relay, name: values.name, port: values.port ? Number(values.port) : undefined, allow });
    }
    case 'join': {
      const code = positionals[0];
      if (!code) {
        console.error('pairmux join: paste the invite code after "join"');
        return 2;
      }
      const { runJoin } = await import('./cli/attach.js');
      return runJoin(code, { name: values.name, defaultRelayUrl: values.relay });
    }
    case 'ui': {
      const { AppEngine } = await import('./app/engine.js');
      const { serveUi } = await import('./app/ws-carrier.js');
      const { fileURLToPath } = await import('node:url');
      const { homedir } = await import('node:os');
      const dataDir = values.data ?? `${homedir()}/.config/pairmux`;
      const engine = new AppEngine({ dataDir, embeddedHost: values.host });
      const ui = await serveUi(engine, { rendererDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)), port: values.port ? Number(values.port) : 0 });
      console.log(`pairmux ui: open ${ui.url}`);
      const stop = () => {
        engine.dispose();
        void ui.close().then(() => process.exit(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      return new Promise(() => {});
    }
    default:
      console.error(`pairmux: unknown command "${cmd}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof PairmuxError) console.error(`pairmux: ${e.message} [${e.code}]`);
    else console.error(`pairmux: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
