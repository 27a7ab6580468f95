/** Starting real pairmux processes for tests, and cleaning them up. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = `${ROOT}bin/pairmux.mjs`;

export interface RelayProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Spawn `pairmux ARGS…` and resolve once its stdout matches `ready` (the match is returned). */
function spawnPairmux(args: string[], ready: RegExp, what: string, env: Record<string, string> = {}): Promise<{ proc: ChildProcess; match: RegExpExecArray; stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${what} did not start: ${out}`));
    }, 20_000);
    const stop = () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
      });
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ proc, match, stop });
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${out}`));
    });
  });
}

/** `pairmux relay` as a separate process on a free loopback port. */
export async function startRelayProcess(extraArgs: string[] = []): Promise<RelayProcess> {
  const { proc, match, stop } = await spawnPairmux(['relay', '--port', '0', '--host', '127.0.0.1', ...extraArgs], /listening on port (\d+)/, 'relay');
  const port = Number(match[1]);
  return { url: `ws://127.0.0.1:${port}`, port, proc, stop };
}

/** Poll `pred` until it returns a truthy value; throw `what` on timeout. */
export async function waitFor<T>(pred: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface UiProcess {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** `pairmux ui`: an engine process serving the renderer over HTTP + WebSocket on loopback. */
export async function startUiProcess(dataDir: string, env: Record<string, string> = {}): Promise<UiProcess> {
  const { proc, match, stop } = await spawnPairmux(['ui', '--data', dataDir, '--host', '127.0.0.1'], /open (http\S+)/, 'ui', env);
  return { url: match[1]!, proc, stop };
}
