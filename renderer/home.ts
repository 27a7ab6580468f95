/** The home screen: Host session, Join with an invite code, name and relay settings. */
import type { RendererBridge, SessionInfo, Settings } from '../protocol/api.js';
import { decodeInvite } from '../protocol/invite.js';
import { PairmuxError } from '../protocol/errors.js';
import { errorText } from './bridge.js';
import { h } from './dom.js';

/** Shown while the host decides whether to let this guest in. */
export function showWaiting(): void {
  const btn = document.querySelector<HTMLButtonElement>('[data-testid=join]');
  if (btn) btn.textContent = 'Waiting for the host to let you in…';
}

export function renderHome(root: HTMLElement, api: RendererBridge, settings: Settings, started: (info: SessionInfo) => void): void {
  const error = h('div', { class: 'error', role: 'alert', 'data-testid': 'home-error' });
  const hostBtn = h('button', { class: 'primary big', 'data-testid': 'host' }, 'Host session');
  const code = h('input', { type: 'text', placeholder: 'Paste an invite code (pmx1…)', 'aria-label': 'Invite code', 'data-testid': 'invite-input', spellcheck: false, autocomplete: 'off' });
  const joinBtn = h('button', { 'data-testid': 'join' }, 'Join');
  const name = h('input', { type: 'text', value: settings.name, 'aria-label': 'Display name', 'data-testid': 'name-input' });
  const embedded = h('input', { type: 'radio', name: 'relay', checked: settings.relayUrl === null, 'data-testid': 'relay-embedded' });
  const custom = h('input', { type: 'radio', name: 'relay', checked: settings.relayUrl !== null, 'data-testid': 'relay-custom' });
  const relayUrl = h('input', { type: 'text', value: settings.relayUrl ?? '', placeholder: 'wss://relay.example.org:7420', 'aria-label': 'Relay URL', 'data-testid': 'relay-input', disabled: settings.relayUrl === null });
  const settingsError = h('div', { class: 'error', 'data-testid': 'settings-error' });

  const busy = (on: boolean) => {
    hostBtn.disabled = joinBtn.disabled = on;
  };
  const save = async (patch: Partial<Settings>) => {
    settingsError.textContent = '';
    try {
      await api.setSettings(patch);
    } catch (e) {
      settingsError.textContent = errorText(e);
    }
  };
  name.addEventListener('change', () => void save({ name: name.value }));
  const relayChanged = () => {
    relayUrl.disabled = embedded.checked;
    if (embedded.checked) void save({ relayUrl: null });
    else if (relayUrl.value.trim()) void save({ relayUrl: relayUrl.value.trim() });
  };
  embedded.addEventListener('change', relayChanged);
  custom.addEventListener('change', relayChanged);
  relayUrl.addEventListener('change', relayChanged);

  hostBtn.addEventListener('click', async () => {
    error.textContent = '';
    busy(true);
    hostBtn.textContent = 'Starting…';
    try {
      started(await api.host());
    } catch (e) {
      error.textContent = errorText(e);
      hostBtn.textContent = 'Host session';
      busy(false);
    }
  });
  const join = async () => {
    error.textContent = '';
    const text = code.value.trim();
    try {
      decodeInvite(text); // a malformed code is explained before anything touches the network
    } catch (e) {
      error.textContent = e instanceof PairmuxError ? e.message : String(e);
      return;
    }
    busy(true);
    joinBtn.textContent = 'Joining…';
    try {
      started(await api.join(text));
    } catch (e) {
      const err = e as { code?: string };
      error.textContent = err.code === 'E_ROOM_NOT_FOUND' ? 'No session is open with this code: the host may have ended it, or the code was re-issued.' : errorText(e);
      joinBtn.textContent = 'Join';
      busy(false);
    }
  };
  joinBtn.addEventListener('click', () => void join());
  code.addEventListener('keydown', (e) => e.key === 'Enter' && void join());

  root.replaceChildren(
    h('div', { class: 'home' },
      h('div', { class: 'home-card' },
        h('div', { class: 'brand' }, h('h1', {}, 'pairmux'), h('span', { class: 'muted' }, 'pair programming in a shared terminal')),
        h('div', { class: 'panel' },
          h('h2', {}, 'Start a session'),
          h('div', { class: 'muted' }, 'Your shells run on this machine; people you invite see and type in them.'),
          h('div', { class: 'row' }, hostBtn)),
        h('div', { class: 'panel' },
          h('h2', {}, 'Join a session'),
          h('div', { class: 'row' }, code, joinBtn),
          error),
        h('div', { class: 'panel' },
          h('h2', {}, 'Settings'),
          h('div', { class: 'row' }, h('span', { class: 'muted', style: 'width:110px' }, 'Display name'), name),
          h('label', { class: 'radio' }, embedded, 'Embedded relay on this network (no server needed on a LAN)'),
          h('label', { class: 'radio' }, custom, 'Relay server', relayUrl),
          settingsError))));
  code.focus();
}
