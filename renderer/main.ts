/** The renderer's entry: home screen until a session starts, then the session view. */
import type { EngineEvent, RendererBridge, SessionInfo } from '../protocol/api.js';
import { connectBridge, errorText } from './bridge.js';
import { h, toast } from './dom.js';
import { renderHome, showWaiting } from './home.js';
import { SessionView } from './session-view.js';

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  let api: RendererBridge;
  try {
    api = await connectBridge();
  } catch (e) {
    root.replaceChildren(h('div', { class: 'home' }, h('div', { class: 'error' }, errorText(e))));
    return;
  }
  let view: SessionView | undefined;
  // Events that arrive before the session view exists (the first state and screens) are kept for it.
  let early: EngineEvent[] = [];
  api.onEvent((e) => {
    if (e.type === 'waiting-approval') showWaiting();
    else if (view) view.onEvent(e);
    else if (e.type !== 'ended') early.push(e);
  });
  const home = async (reason?: string) => {
    view = undefined;
    early = [];
    renderHome(root, api, await api.getSettings(), start);
    if (reason) toast(reason);
  };
  const start = (info: SessionInfo) => {
    view = new SessionView(root, api, info, (reason) => void home(reason));
    const pending = early.filter((e) => e.type !== 'session');
    early = [];
    view.start(pending);
  };
  await home();
}

void boot();
