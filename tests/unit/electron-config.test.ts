/**
 * build/electron-builder.yml cannot be exercised by `npm run dist` here (the
 * Electron binary cannot be downloaded on the dev machine or in CI), so it is
 * checked the way electron-builder itself checks it before packaging:
 * app-builder-lib's validateConfiguration against its scheme.json, plus
 * electron-builder's own asarUnpack matcher. Nothing is downloaded.
 *
 * app-builder-lib and js-yaml come with electron-builder (a devDependency);
 * they are loaded by path with createRequire because neither is a direct
 * dependency and js-yaml has no typings here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

type Config = Record<string, unknown> & {
  asarUnpack?: string[];
  electronFuses?: Record<string, boolean>;
  files?: string[];
  directories?: Record<string, string>;
  linux?: Record<string, unknown>;
  mac?: Record<string, unknown>;
  win?: Record<string, unknown>;
};

const yaml = require('js-yaml') as { load(text: string): unknown };
const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
  validateConfiguration(config: unknown, debugLogger: { isEnabled: boolean; add(key: string, value: unknown): void }): Promise<void>;
};
type FileFilter = (file: string, stat: { isDirectory(): boolean }) => boolean;
const { getFileMatchers, getNodeModuleFileMatcher } = require('app-builder-lib/out/fileMatcher.js') as {
  getFileMatchers(
    config: unknown,
    name: 'asarUnpack',
    defaultDestination: string,
    options: { macroExpander: (s: string) => string; customBuildOptions: unknown; globalOutDir: string; defaultSrc: string },
  ): Array<{ createFilter(): FileFilter }> | null;
  getNodeModuleFileMatcher(
    appDir: string,
    destination: string,
    macroExpander: (s: string) => string,
    platformOptions: unknown,
    packager: { config: unknown; debugLogger: { isEnabled: boolean } },
  ): { createFilter(): FileFilter };
};
const aFile = { isDirectory: () => false };

function loadConfig(): Config {
  return yaml.load(readFileSync(`${root}build/electron-builder.yml`, 'utf8')) as Config;
}

const quietLogger = { isEnabled: false, add: () => {} };

/** validateConfiguration coerces types in place (ajv coerceTypes), so it gets a copy. */
function validate(config: unknown): Promise<void> {
  return validateConfiguration(structuredClone(config), quietLogger);
}

describe('build/electron-builder.yml', () => {
  it('matches electron-builder 26 schema', async () => {
    await expect(validate(loadConfig())).resolves.toBeUndefined();
  });

  it('is checked by a live validator (a misspelled key is rejected)', async () => {
    const config = loadConfig();
    await expect(validate({ ...config, asarUnpak: ['x'] })).rejects.toThrow(/asarUnpak/);
    await expect(validate({ ...config, electronFuses: { ...config.electronFuses, runAsnode: false } })).rejects.toThrow(/electronFuses/);
  });

  it('names the app and puts installers under release/', () => {
    const config = loadConfig();
    expect(config.appId).toBe('dev.pairmux.app');
    expect(config.productName).toBe('pairmux');
    expect(config.directories).toEqual({ output: 'release', buildResources: 'build' });
    expect(config.files).toEqual(expect.arrayContaining(['dist/**/*', 'package.json']));
    expect(config.asar).toBe(true);
    expect(config.npmRebuild).toBe(true);
  });

  it('flips the security fuses', () => {
    expect(loadConfig().electronFuses).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });

  it('unpacks the native modules from asar (electron-builder matcher)', () => {
    const config = loadConfig();
    const appDir = '/project';
    const matchers = getFileMatchers(config, 'asarUnpack', '/out/resources/app', {
      macroExpander: (s) => s,
      customBuildOptions: config.linux ?? {},
      globalOutDir: `${appDir}/release`,
      defaultSrc: appDir,
    });
    expect(matchers).not.toBeNull();
    const unpacked = matchers![0]!.createFilter();
    const file = aFile;
    expect(unpacked(`${appDir}/node_modules/node-pty/build/Release/pty.node`, file)).toBe(true);
    expect(unpacked(`${appDir}/node_modules/node-pty/build/Release/spawn-helper`, file)).toBe(true);
    expect(unpacked(`${appDir}/node_modules/node-pty/lib/index.js`, file)).toBe(true);
    expect(unpacked(`${appDir}/node_modules/node-datachannel/build/Release/node_datachannel.node`, file)).toBe(true);
    expect(unpacked(`${appDir}/node_modules/node-datachannel/dist/esm/polyfill/index.mjs`, file)).toBe(true);
    // ...and only them: the app code stays in the (integrity-checked) archive.
    expect(unpacked(`${appDir}/dist/electron/main.js`, file)).toBe(false);
    expect(unpacked(`${appDir}/node_modules/ws/index.js`, file)).toBe(false);
  });

  it('packs the runtime dependencies but not the CLI-only tsx/esbuild (electron-builder matcher)', () => {
    const config = loadConfig();
    const packed = getNodeModuleFileMatcher('/project', '/out/resources/app', (s) => s, config.linux ?? {}, { config, debugLogger: { isEnabled: false } }).createFilter();
    for (const kept of ['node-pty/lib/index.js', 'node-datachannel/dist/esm/polyfill/index.mjs', 'ws/index.js', 'simple-peer/index.js', '@xterm/headless/package.json']) {
      expect(packed(`/project/node_modules/${kept}`, aFile), kept).toBe(true);
    }
    for (const dropped of ['tsx/dist/cli.mjs', 'esbuild/lib/main.js', '@esbuild/linux-x64/bin/esbuild']) {
      expect(packed(`/project/node_modules/${dropped}`, aFile), dropped).toBe(false);
    }
  });

  it('builds AppImage and deb, dmg with a hardened runtime, and nsis', () => {
    const config = loadConfig();
    expect(config.linux).toMatchObject({ target: ['AppImage', 'deb'], category: 'Development', icon: 'build/icon.png' });
    expect(config.mac).toMatchObject({
      target: 'dmg',
      hardenedRuntime: true,
      entitlements: 'build/entitlements.mac.plist',
      category: 'public.app-category.developer-tools',
    });
    expect(config.win).toMatchObject({ target: 'nsis' });
  });

  it('points at resources that exist', () => {
    const config = loadConfig();
    for (const file of [config.linux?.icon, config.mac?.entitlements, config.mac?.entitlementsInherit]) {
      expect(typeof file).toBe('string');
      expect(existsSync(`${root}${String(file)}`), String(file)).toBe(true);
    }
  });
});

describe('build/entitlements.mac.plist', () => {
  const plist = readFileSync(`${root}build/entitlements.mac.plist`, 'utf8');
  // The comment explains the absent keys; only the <dict> grants anything.
  const dict = plist.replace(/<!--[\s\S]*?-->/g, '');

  it('grants V8 its JIT and nothing broader', () => {
    expect(dict).toMatch(/<key>com\.apple\.security\.cs\.allow-jit<\/key>\s*<true\/>/);
    expect(dict.match(/<key>/g)).toHaveLength(1);
    expect(dict).not.toContain('allow-unsigned-executable-memory');
    expect(dict).not.toContain('disable-library-validation');
  });
});

describe('build/icon.png', () => {
  it('is a square PNG of at least 512x512', () => {
    const png = readFileSync(`${root}build/icon.png`);
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    // The first chunk is IHDR: length (4), type (4), width (4), height (4).
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    expect(width).toBe(height);
    expect(width).toBeGreaterThanOrEqual(512);
  });
});
