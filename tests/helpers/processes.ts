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

/** `pairmux relay` as a separate process on a free loopback port. */
export function startRelayProcess(extraArgs: string[] = []): Promise<RelayProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, 'relay', '--port', '0', '--host', '127.0.0.1', ...extraArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`relay did not start: ${out}`));
    }, 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({
          url: `ws://127.0.0.1:${port}`,
          port,
          proc,
          stop: () =>
            new Promise((r) => {
              if (proc.exitCode !== null) return r();
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
              setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
            }),
        });
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code}: ${out}`));
    });
  });
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
export function startUiProcess(dataDir: string, env: Record<string, string> = {}): Promise<UiProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, 'ui', '--data', dataDir, '--host', '127.0.0.1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`ui did not start: ${out}`));
    }, 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /open (http\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          proc,
          stop: () =>
            new Promise((r) => {
              if (proc.exitCode !== null) return r();
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
              setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
            }),
        });
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ui exited with ${code}: ${out}`));
    });
  });
}
