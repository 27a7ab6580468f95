/**
 * The desktop app's renderer end to end, as two people use it: two app
 * instances (each its own engine process, `pairmux ui`), a real relay
 * process, real ptys and WebRTC, and the UI in headless Chromium. The host
 * clicks Host session, the guest pastes the invite code, both type, split and
 * drag panes. Screenshots land in test-artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { ROOT, startRelayProcess, startUiProcess, waitFor, type RelayProcess, type UiProcess } from '../helpers/processes.js';

const ARTIFACTS = join(ROOT, 'test-artifacts');
const env = { SHELL: '/bin/bash', PS1: '$ ' };

let relay: RelayProcess;
let hostUi: UiProcess;
let guestUi: UiProcess;
let browser: Browser;
let host: Page;
let guest: Page;
let code: string;
const dirs: string[] = [];

type Hook = { state(): { windows: { layout: unknown; activePane: number; name: string }[]; panes: { id: number }[]; participants: { id: string; name: string }[]; activeWindow: number } | undefined; paneText(id: number): string[] | null; renderer(id: number): string | null; scale(): number };
const hook = (p: Page) => ({
  state: () => p.evaluate(() => (window as unknown as { __pairmux?: Hook }).__pairmux?.state()),
  text: (id: number) => p.evaluate((i) => ((window as unknown as { __pairmux?: Hook }).__pairmux?.paneText(i) ?? []).join('\n'), id),
});

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'build/bundle.mjs'), 'renderer'], { cwd: ROOT });
  mkdirSync(ARTIFACTS, { recursive: true });
  relay = await startRelayProcess();
  const d1 = mkdtempSync(join(tmpdir(), 'pairmux-host-'));
  const d2 = mkdtempSync(join(tmpdir(), 'pairmux-guest-'));
  dirs.push(d1, d2);
  [hostUi, guestUi] = await Promise.all([startUiProcess(d1, env), startUiProcess(d2, env)]);
  browser = await launchChromium();
  host = await (await browser.newContext({ viewport: { width: 1280, height: 760 }, colorScheme: 'dark' })).newPage();
  guest = await (await browser.newContext({ viewport: { width: 1100, height: 700 }, colorScheme: 'light' })).newPage();
  await Promise.all([host.goto(hostUi.url), guest.goto(guestUi.url)]);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([hostUi?.stop(), guestUi?.stop(), relay?.stop()]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('desktop app in Chromium: host and guest', () => {
  it('home screen: a malformed invite code gets a clear message', async () => {
    await guest.getByTestId('invite-input').fill('hello there');
    await guest.getByTestId('join').click();
    await expect.poll(() => guest.getByTestId('home-error').textContent()).toContain('not a pairmux invite code');
    await guest.getByTestId('invite-input').fill('pmx1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    await guest.getByTestId('join').click();
    await expect.poll(() => guest.getByTestId('home-error').textContent()).toMatch(/damaged|wrong length/);
  });

  it('settings: display name and relay are remembered', async () => {
    for (const [page, name, dir] of [[host, 'alice', dirs[0]!], [guest, 'bob', dirs[1]!]] as const) {
      await page.getByTestId('name-input').fill(name);
      await page.getByTestId('name-input').dispatchEvent('change');
      await page.getByTestId('relay-custom').check();
      await page.getByTestId('relay-input').fill(relay.url);
      await page.getByTestId('relay-input').dispatchEvent('change');
      await waitFor(() => {
        try {
          const s = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')) as { name: string; relayUrl: string };
          return s.name === name && s.relayUrl === relay.url;
        } catch {
          return false;
        }
      }, `${name}'s settings to be saved`);
    }
    await host.reload();
    await expect.poll(() => host.getByTestId('name-input').inputValue()).toBe('alice');
    expect(await host.getByTestId('relay-input').inputValue()).toBe(relay.url);
    await host.screenshot({ path: join(ARTIFACTS, 'home.png') });
  });

  it('the host clicks Host session and the invite code is shown', async () => {
    await host.getByTestId('host').click();
    await host.getByTestId('invite').click();
    code = (await host.getByTestId('invite-code').textContent())!.trim();
    expect(code).toMatch(/^pmx1[a-z2-7]+$/);
    await host.screenshot({ path: join(ARTIFACTS, 'invite.png') });
    await host.keyboard.press('Escape');
  });

  it('the guest pastes the code; the host is asked and allows control; both see each other', async () => {
    await guest.getByTestId('invite-input').fill(code);
    await guest.getByTestId('join').click();
    await expect.poll(() => guest.getByTestId('join').textContent()).toContain('Waiting for the host');
    await host.getByTestId('approve-control').waitFor();
    expect(await host.locator('.dialog h2').textContent()).toBe('bob wants to join');
    await host.screenshot({ path: join(ARTIFACTS, 'approval.png') });
    await host.getByTestId('approve-control').click();
    await guest.getByTestId('participants').waitFor();
    await expect.poll(() => guest.getByTestId('participants').textContent()).toMatch(/alice.*bob|bob.*alice/s);
    await expect.poll(() => host.getByTestId('participants').textContent()).toContain('bob');
  });

  it('the guest types a command into a pane and both pages show the output', async () => {
    const s = await hook(guest).state();
    const pane = s!.windows[0]!.activePane;
    await guest.locator(`[data-testid=pane-${pane}] .xterm`).click();
    await guest.keyboard.type('echo typed-by-$((6*7))-bob\n');
    await expect.poll(() => hook(guest).text(pane), { timeout: 15_000 }).toContain('typed-by-42-bob');
    await expect.poll(() => hook(host).text(pane), { timeout: 15_000 }).toContain('typed-by-42-bob');
  });

  it('the guest splits a pane (Ctrl-B %) and both pages show two panes side by side', async () => {
    await guest.keyboard.press('Control+b');
    await guest.keyboard.press('%');
    for (const page of [host, guest]) {
      await expect.poll(async () => {
        const s = await hook(page).state();
        const l = s?.windows[0]?.layout as { kind: string; dir?: string; children?: unknown[] } | undefined;
        return l?.kind === 'split' && l.dir === 'row' && l.children?.length === 2;
      }, { timeout: 15_000 }).toBe(true);
    }
    const [a, b] = (await hook(host).state())!.panes.map((p) => p.id);
    const ra = (await host.getByTestId(`pane-${a}`).boundingBox())!;
    const rb = (await host.getByTestId(`pane-${b}`).boundingBox())!;
    expect(ra.x + ra.width).toBeLessThanOrEqual(rb.x + 1); // a is left of b
  });

  it('the host drags a pane onto the bottom edge of the other; both pages show the new layout', async () => {
    const [a, b] = (await hook(host).state())!.panes.map((p) => p.id) as [number, number];
    const header = (await host.getByTestId(`pane-header-${a}`).boundingBox())!;
    const target = (await host.getByTestId(`pane-${b}`).boundingBox())!;
    await host.mouse.move(header.x + header.width / 2, header.y + header.height / 2);
    await host.mouse.down();
    const to = { x: target.x + target.width / 2, y: target.y + target.height * 0.92 };
    await host.mouse.move(to.x, to.y, { steps: 12 });
    await expect.poll(() => host.getByTestId('drop-zone').getAttribute('data-position')).toBe('bottom');
    await host.screenshot({ path: join(ARTIFACTS, 'host-dragging.png') });
    await host.mouse.up();
    for (const page of [host, guest]) {
      await expect.poll(async () => {
        const l = (await hook(page).state())?.windows[0]?.layout as { kind: string; dir?: string; children?: { pane?: number }[] } | undefined;
        return l?.kind === 'split' && l.dir === 'col' && l.children?.[0]?.pane === b && l.children?.[1]?.pane === a;
      }, { timeout: 15_000 }).toBe(true);
      // And on screen: b above a.
      await expect.poll(async () => {
        const ra = await page.getByTestId(`pane-${a}`).boundingBox();
        const rb = await page.getByTestId(`pane-${b}`).boundingBox();
        return Boolean(ra && rb && rb.y + rb.height <= ra.y + 2);
      }).toBe(true);
    }
    // Each terminal shows its pty's exact grid (no lines cut or rewrapped).
    for (const page of [host, guest]) {
      await expect.poll(() => page.evaluate(() => {
        const api = (window as unknown as { __pairmux: { state(): { panes: { id: number; cols: number; rows: number }[] }; termSize(id: number): { cols: number; rows: number } | null } }).__pairmux;
        return api.state().panes.every((p) => {
          const t = api.termSize(p.id);
          return t !== null && t.cols === p.cols && t.rows === p.rows;
        });
      })).toBe(true);
    }
    await host.screenshot({ path: join(ARTIFACTS, 'host.png') });
    await guest.screenshot({ path: join(ARTIFACTS, 'guest.png') });
  });

  it('a window renamed by double-clicking its tab is renamed for everyone', async () => {
    await guest.getByTestId('tab-0').dblclick();
    await guest.getByTestId('rename-input').fill('build');
    await guest.keyboard.press('Enter');
    await expect.poll(() => host.getByTestId('tab-name-0').textContent()).toBe('0: build');
    await expect.poll(() => guest.getByTestId('tab-name-0').textContent()).toBe('0: build');
  });

  it('dragging the border between two panes resizes them for everyone', async () => {
    const st = (await hook(host).state())!;
    const layout = st.windows[0]!.layout as { kind: string; id: number; sizes: number[]; children: { pane: number }[] };
    const [top, bottom] = layout.children.map((c) => c.pane) as [number, number];
    const splitter = (await host.getByTestId(`splitter-${layout.id}-0`).boundingBox())!;
    const before = (await host.getByTestId(`pane-${top}`).boundingBox())!;
    await host.mouse.move(splitter.x + splitter.width / 2, splitter.y + splitter.height / 2);
    await host.mouse.down();
    await host.mouse.move(splitter.x + splitter.width / 2, splitter.y - before.height * 0.4, { steps: 8 });
    await host.mouse.up();
    for (const page of [host, guest]) {
      await expect.poll(async () => {
        const l = (await hook(page).state())?.windows[0]?.layout as { sizes: number[] } | undefined;
        return l ? l.sizes[0]! < 0.4 : false;
      }, { timeout: 15_000 }).toBe(true);
    }
    await expect.poll(async () => (await host.getByTestId(`pane-${top}`).boundingBox())!.height).toBeLessThan(before.height * 0.8);
    await expect.poll(async () => (await host.getByTestId(`pane-${bottom}`).boundingBox())!.height).toBeGreaterThan(before.height * 1.2);
  });

  it('Ctrl-Shift-F searches the scrollback and selects the match', async () => {
    const pane = (await hook(guest).state())!.windows[0]!.activePane;
    await guest.locator(`[data-testid=pane-${pane}] .xterm`).click();
    await guest.keyboard.type('echo needle-in-haystack\n');
    await expect.poll(() => hook(guest).text(pane)).toContain('needle-in-haystack');
    await guest.keyboard.press('Control+Shift+F');
    await guest.getByTestId('search-input').fill('needle-in');
    await guest.keyboard.press('Enter');
    await expect.poll(() => guest.evaluate((i) => (window as unknown as { __pairmux: { selection(i: number): string } }).__pairmux.selection(i), pane)).toBe('needle-in');
    await guest.keyboard.press('Escape');
  });

  it('Ctrl-B ? shows the shortcuts, and a pane closed from its header disappears for everyone', async () => {
    await host.locator('.pane.active .xterm').click();
    await host.keyboard.press('Control+b');
    await host.keyboard.press('?');
    await expect.poll(() => host.locator('.dialog').textContent()).toContain('split side by side');
    await host.screenshot({ path: join(ARTIFACTS, 'help.png') });
    await host.keyboard.press('Escape');
    const [a, b] = (await hook(host).state())!.panes.map((p) => p.id) as [number, number];
    await host.getByTestId(`pane-close-${a}`).click();
    for (const page of [host, guest]) {
      await expect.poll(async () => (await hook(page).state())?.panes.map((p) => p.id)).toEqual([b]);
      await expect.poll(() => page.getByTestId(`pane-${a}`).count()).toBe(0);
    }
  });

  it('the host makes the guest view-only: the guest sees it and its typing reaches no shell; control comes back', async () => {
    const guestId = (await hook(guest).state())!.participants.find((p) => p.name === 'bob')!.id;
    await host.getByTestId(`perm-${guestId}`).click();
    await expect.poll(() => guest.getByTestId('view-only').isVisible()).toBe(true);
    const pane = (await hook(guest).state())!.windows[0]!.activePane;
    await guest.locator(`[data-testid=pane-${pane}] .xterm`).click();
    await guest.keyboard.type('echo view-only-typed\n');
    await host.locator(`[data-testid=pane-${pane}] .xterm`).click();
    await host.keyboard.type('echo host-still-types\n');
    await expect.poll(() => hook(host).text(pane)).toContain('host-still-types');
    expect(await hook(host).text(pane)).not.toContain('view-only-typed');
    await guest.screenshot({ path: join(ARTIFACTS, 'guest-view-only.png') });
    await host.getByTestId(`perm-${guestId}`).click();
    await expect.poll(() => guest.getByTestId('view-only').isVisible()).toBe(false);
  });
});
