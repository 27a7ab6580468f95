// Builds the app into dist/: the renderer (browser bundle + html + css), and
// the Electron main process and preload. Native modules stay external (they
// are unpacked from asar by electron-builder).
import { build } from 'esbuild';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/`;
const only = process.argv[2]; // 'renderer' to build just the UI

await mkdir(`${out}renderer`, { recursive: true });
await build({
  entryPoints: [`${root}renderer/main.ts`],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'chrome120',
  outfile: `${out}renderer/app.js`,
  sourcemap: true,
  logLevel: 'warning',
  loader: { '.css': 'css' },
});
await build({
  entryPoints: [`${root}renderer/styles.css`],
  bundle: true,
  outfile: `${out}renderer/app.css`,
  logLevel: 'warning',
});
await cp(`${root}renderer/index.html`, `${out}renderer/index.html`);

if (only !== 'renderer') {
  const external = ['electron', 'node-pty', 'node-datachannel', 'node-datachannel/*', '@xterm/headless', '@xterm/addon-serialize', 'ws', 'simple-peer'];
  await build({
    entryPoints: [`${root}electron/main.ts`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: `${out}electron/main.js`,
    external,
    sourcemap: true,
    logLevel: 'warning',
  });
  // A sandboxed preload must be CommonJS.
  await build({
    entryPoints: [`${root}electron/preload.ts`],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: `${out}electron/preload.cjs`,
    external: ['electron'],
    logLevel: 'warning',
  });
}
const pkg = JSON.parse(await readFile(`${root}package.json`, 'utf8'));
await writeFile(`${out}build-info.json`, JSON.stringify({ version: pkg.version, builtAt: new Date().toISOString() }));
console.log(`built ${only ?? 'app'} into dist/`);
