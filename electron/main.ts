/**
 * The desktop app's composition root: app lifecycle, windows, and the
 * security policy (DESIGN.md, "Electron security baseline"). Each window has
 * its own AppEngine, found by its webContents id and disposed with it.
 *
 * Built by build/bundle.mjs into dist/electron/main.js (ESM), next to
 * preload.cjs; the UI is dist/renderer/, served over app://pairmux/.
 */
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeTheme, protocol, session, shell } from 'electron';
import type { MenuItemConstructorOptions, WebContents } from 'electron';
import { AppEngine } from './app/engine.js';
import { APP_SCHEME, APP_URL, appFileHandler, forwardEvents, isAppUrl, registerInvokeHandler } from './ipc-main.js';

const PRELOAD = fileURLToPath(new URL('./preload.cjs', import.meta.url));
const RENDERER_ROOT = fileURLToPath(new URL('../renderer/', import.meta.url));

/** Window background before the UI paints, matching the renderer's prefers-color-scheme themes. */
const BACKGROUND = { dark: '#0f1115', light: '#f6f7f9' } as const;

/** The only permission the UI may use: writing (sanitized) text to the clipboard when the user copies. */
const ALLOWED_PERMISSION = 'clipboard-sanitized-write';

interface AppWindow {
  window: BrowserWindow;
  engine: AppEngine;
}

/** One engine per window, by webContents id. */
const windows = new Map<number, AppWindow>();
/** The IPC handler's view of that table. */
const engineByContents = { get: (id: number) => windows.get(id)?.engine };

// Must happen before 'ready': app:// behaves like https (standard, secure
// origin, fetch) instead of like file://.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
// Every renderer is sandboxed, whatever its webPreferences say.
app.enableSandbox();

function backgroundColor(): string {
  return nativeTheme.shouldUseDarkColors ? BACKGROUND.dark : BACKGROUND.light;
}

/** Links from terminal output (untrusted) open only after the user confirms, and only http(s). */
async function confirmLink(window: BrowserWindow, url: string): Promise<boolean> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  if (window.isDestroyed()) return false;
  const { response } = await dialog.showMessageBox(window, {
    type: 'question',
    message: 'Open this link?',
    // The parsed href: an internationalised host shows as punycode, so a look-alike domain is visible.
    detail: u.href,
    buttons: ['Open', 'Cancel'],
    defaultId: 1,
    cancelId: 1,
    noLink: true,
  });
  if (response !== 0) return false;
  await shell.openExternal(u.href);
  return true;
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1200,
    height: 800,
    minWidth: 640,
    minHeight: 400,
    title: 'pairmux',
    show: false,
    backgroundColor: backgroundColor(),
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      // A packaged app has no DevTools at all (the View menu is dev-only too).
      devTools: !app.isPackaged,
    },
  });
  const contents = window.webContents;
  const id = contents.id; // webContents is destroyed by the time 'closed' fires
  const engine = new AppEngine({ dataDir: app.getPath('userData'), confirmLink: (url) => confirmLink(window, url) });
  const stopEvents = forwardEvents(engine, contents);
  windows.set(id, { window, engine });

  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    windows.delete(id);
    stopEvents();
    engine.dispose();
  });
  void window.loadURL(`${APP_URL}index.html`);
  return window;
}

/** Navigation, new windows and webviews are refused for every webContents the app ever creates. */
function lockDown(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  // The UI is one page; it never navigates, so anything that leaves app://pairmux/ is refused.
  contents.on('will-navigate', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
  contents.on('will-frame-navigate', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

function buildMenu(): Menu {
  const template: MenuItemConstructorOptions[] = [
    process.platform === 'darwin' ? { role: 'appMenu' } : { role: 'fileMenu' },
    {
      label: 'Edit',
      submenu: [{ role: 'undo' }, { role: 'redo' }, { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }],
    },
  ];
  if (!app.isPackaged) template.push({ label: 'View', submenu: [{ role: 'toggleDevTools' }] });
  return Menu.buildFromTemplate(template);
}

function disposeEngines(): void {
  for (const { engine } of windows.values()) engine.dispose();
}

function main(): void {
  // A second launch focuses the running app instead of starting another one
  // (two apps would fight over settings and the embedded relay's port).
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => {
    const first = windows.values().next().value;
    if (!first) return;
    if (first.window.isMinimized()) first.window.restore();
    first.window.focus();
  });
  app.on('web-contents-created', (_event, contents) => lockDown(contents));
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (windows.size === 0 && app.isReady()) createWindow();
  });
  app.on('before-quit', disposeEngines);

  nativeTheme.on('updated', () => {
    for (const { window } of windows.values()) window.setBackgroundColor(backgroundColor());
  });

  void app.whenReady().then(() => {
    const ses = session.defaultSession;
    ses.setPermissionRequestHandler((_contents, permission, callback) => callback(permission === ALLOWED_PERMISSION));
    ses.setPermissionCheckHandler((_contents, permission) => permission === ALLOWED_PERMISSION);
    ses.setDevicePermissionHandler(() => false);
    protocol.handle(APP_SCHEME, appFileHandler(RENDERER_ROOT));
    registerInvokeHandler(ipcMain, engineByContents);
    Menu.setApplicationMenu(buildMenu());
    createWindow();
  });
}

main();
