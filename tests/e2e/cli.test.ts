/**
 * The terminal client as a person uses it: `pairmux host` and `pairmux join`
 * run in tmux; keys are typed with send-keys and screens read with
 * capture-pane. Real relay process, real ptys, real WebRTC.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, startRelayProcess, waitFor, type RelayProcess } from '../helpers/processes.js';

const SOCKET = `pairmux-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const screen = (target: string) => tmux('capture-pane', '-p', '-J', '-t', target);
const keys = (target: string, ...k: string[]) => tmux('send-keys', '-t', target, ...k);
const shellEnv = `env -u TMUX PS1='$ ' SHELL=/bin/bash`;

let relay: RelayProcess;
let code: string;

beforeAll(async () => {
  relay = await startRelayProcess();
  tmux('new-session', '-d', '-s', 'host', '-x', '100', '-y', '30', `cd ${ROOT} && ${shellEnv} ${process.execPath} ${BIN} host --name alice --relay ${relay.url}; sleep 60`);
  code = await waitFor(() => {
    let text = '';
    try {
      text = tmux('capture-pane', '-p', '-J', '-a', '-t', 'host');
    } catch {
      text = screen('host');
    }
    return /^(pmx1[a-z2-7]+)$/m.exec(text)?.[1];
  }, 'the host to print an invite code');
  await waitFor(() => screen('host').includes('[pairmux host]'), 'the host to attach');
  tmux('new-session', '-d', '-s', 'guest', '-x', '90', '-y', '25', `cd ${ROOT} && ${shellEnv} ${process.execPath} ${BIN} join ${code} --name bob; sleep 60`);
  await waitFor(() => screen('host').includes('bob wants to join this session'), 'the host to be asked about bob');
  keys('host', 'c');
  await waitFor(() => screen('guest').includes('alice, bob'), 'the guest to join');
});

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    /* already gone */
  }
  await relay?.stop();
});

describe('pairmux CLI in tmux', () => {
  it('prints the invite code on a line of its own', () => {
    expect(code).toMatch(/^pmx1[a-z2-7]{80,}$/);
  });

  it('what the guest types runs on the host and shows on both screens', async () => {
    keys('guest', 'echo cli-$((6*7))', 'Enter');
    await waitFor(() => screen('guest').includes('cli-42'), 'output on the guest');
    await waitFor(() => screen('host').includes('cli-42'), 'output on the host');
  });

  it('Ctrl-C goes to the remote program, not to the client', async () => {
    keys('guest', 'sleep 30; echo not-interrupted', 'Enter');
    await waitFor(() => screen('host').includes('sleep 30; echo not-interrupted'), 'the command to start');
    keys('guest', 'C-c');
    keys('guest', 'echo after-ctrl-c', 'Enter');
    await waitFor(() => /^after-ctrl-c\s*$/m.test(screen('guest')), 'the shell to answer after Ctrl-C');
    expect(screen('guest')).not.toMatch(/^not-interrupted\s*$/m);
    expect(screen('guest')).toContain('[pairmux]'); // the client is still attached
  });

  it('forwards the terminal size of the participant who typed last', async () => {
    tmux('resize-window', '-t', 'guest', '-x', '72', '-y', '21');
    keys('guest', 'clear; stty size', 'Enter');
    // 21 rows minus the status line.
    await waitFor(() => /^20 72\s*$/m.test(screen('guest')), 'stty to report the guest size');
  });

  it('splits with Ctrl-B % and both sides see two panes', async () => {
    keys('guest', 'C-b', '%');
    await waitFor(() => screen('guest').includes('│') && screen('host').includes('│'), 'a vertical border on both screens');
    keys('guest', 'echo in-new-pane', 'Enter');
    await waitFor(() => /│.*in-new-pane/.test(screen('host')), 'output in the right-hand pane on the host');
  });

  it('renames a window with Ctrl-B , and opens one with Ctrl-B c', async () => {
    keys('guest', 'C-b', ',');
    keys('guest', 'work', 'Enter');
    await waitFor(() => screen('host').includes('0:work*'), 'the new window name on the host');
    keys('guest', 'C-b', 'c');
    await waitFor(() => screen('host').includes('1:bash*'), 'a second window');
  });

  it('the host denies a second guest, who is told so plainly', async () => {
    tmux('new-session', '-d', '-s', 'eve', '-x', '90', '-y', '10', `cd ${ROOT} && ${shellEnv} ${process.execPath} ${BIN} join ${code} --name eve; sleep 60`);
    await waitFor(() => screen('eve').includes('waiting for the host'), 'eve to wait for approval');
    await waitFor(() => screen('host').includes('eve wants to join this session'), 'the host to be asked about eve');
    keys('host', 'n');
    await waitFor(() => screen('eve').includes('the host declined your request to join'), 'eve to be told she was denied');
    await waitFor(() => !screen('host').includes('eve wants to join'), 'the prompt to close');
  });

  it('detaches the guest with Ctrl-B d and the host goes on', async () => {
    keys('guest', 'C-b', 'd');
    await waitFor(() => screen('guest').includes('pairmux: detached'), 'the detach message');
    await waitFor(() => screen('host').includes('bob left'), 'the host to see the guest leave');
    expect(screen('host')).toContain('[pairmux host]');
  });
});
