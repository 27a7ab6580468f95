/** The desktop app's settings, remembered between launches in a JSON file. */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';
import { isRelayUrl } from '../../protocol/invite.js';
import { cleanName } from '../../protocol/session.js';
import type { Settings } from '../../protocol/api.js';

export function defaultSettings(): Settings {
  let name = 'me';
  try {
    name = cleanName(userInfo().username) || name;
  } catch {
    /* no user database entry */
  }
  return { name, relayUrl: null };
}

/** Validate a settings patch from the renderer. */
export function checkSettingsPatch(patch: unknown): Partial<Settings> {
  if (typeof patch !== 'object' || patch === null) throw new PairmuxError(ErrorCode.BadCommand, 'settings must be an object');
  const p = patch as Record<string, unknown>;
  const out: Partial<Settings> = {};
  if (p.name !== undefined) {
    if (typeof p.name !== 'string' || !cleanName(p.name)) throw new PairmuxError(ErrorCode.BadCommand, 'your display name must not be empty');
    out.name = cleanName(p.name);
  }
  if (p.relayUrl !== undefined) {
    if (p.relayUrl === null || p.relayUrl === '') out.relayUrl = null;
    else if (typeof p.relayUrl !== 'string' || !isRelayUrl(p.relayUrl.trim())) {
      throw new PairmuxError(ErrorCode.BadCommand, 'the relay must be a ws:// or wss:// URL, e.g. wss://relay.example.org:7420');
    } else out.relayUrl = p.relayUrl.trim();
  }
  return out;
}

export class SettingsStore {
  private readonly file: string;
  constructor(private readonly dir: string) {
    this.file = join(dir, 'settings.json');
  }

  async load(): Promise<Settings> {
    const base = defaultSettings();
    try {
      const saved = JSON.parse(await readFile(this.file, 'utf8')) as unknown;
      return { ...base, ...checkSettingsPatch(saved) };
    } catch {
      return base; // first launch, or a damaged file: start from defaults
    }
  }

  async save(s: Settings): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(s, null, 2));
    await rename(tmp, this.file);
  }
}
