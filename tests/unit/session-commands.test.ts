import { describe, it, expect } from 'vitest';
import { Limits, cleanName, parseCommand, type Command } from '../../protocol/session.js';
import { ErrorCode, PairmuxError } from '../../protocol/errors.js';

function badCommand(x: unknown): PairmuxError {
  try {
    parseCommand(x);
  } catch (e) {
    expect(e).toBeInstanceOf(PairmuxError);
    expect((e as PairmuxError).code).toBe(ErrorCode.BadCommand);
    return e as PairmuxError;
  }
  throw new Error(`expected E_BAD_COMMAND for ${JSON.stringify(x)}`);
}

describe('parseCommand accepts every command type', () => {
  const valid: Command[] = [
    { type: 'new-window' },
    { type: 'new-window', name: 'build' },
    { type: 'rename-window', window: 1, name: 'logs' },
    { type: 'close-window', window: 2 },
    { type: 'split-pane', pane: 3, direction: 'h' },
    { type: 'split-pane', pane: 3, direction: 'v' },
    { type: 'close-pane', pane: 0 },
    { type: 'move-pane', pane: 1, target: 2, position: 'left' },
    { type: 'move-pane', pane: 1, target: 2, position: 'right' },
    { type: 'move-pane', pane: 1, target: 2, position: 'top' },
    { type: 'move-pane', pane: 1, target: 2, position: 'bottom' },
    { type: 'move-pane', pane: 1, target: 2, position: 'center' },
    { type: 'resize-split', window: 1, split: 4, sizes: [0.25, 0.75] },
    { type: 'resize-split', window: 1, split: 4, sizes: [1, 2, 0] },
    { type: 'select-window', window: 0xffffffff },
    { type: 'select-pane', pane: 7 },
    { type: 'send-keys', pane: 7, keys: 'ls\r' },
    { type: 'send-keys', pane: 7, keys: '' },
    { type: 'resize-client', cols: 120, rows: 40 },
  ];
  for (const cmd of valid) {
    it(`${cmd.type} ${JSON.stringify(cmd)}`, () => {
      expect(parseCommand(cmd)).toEqual(cmd);
      // Commands arrive as JSON from the network.
      expect(parseCommand(JSON.parse(JSON.stringify(cmd)))).toEqual(cmd);
    });
  }

  it('drops extra fields a peer adds', () => {
    expect(parseCommand({ type: 'close-pane', pane: 1, evil: true, window: 3 })).toEqual({ type: 'close-pane', pane: 1 });
    expect(parseCommand({ type: 'send-keys', pane: 1, keys: 'x', as: 'host' })).toEqual({ type: 'send-keys', pane: 1, keys: 'x' });
  });

  it('cleans window names of new and renamed windows', () => {
    expect(parseCommand({ type: 'new-window', name: '\x1b[31mred\x07' })).toEqual({ type: 'new-window', name: '[31mred' });
    expect(parseCommand({ type: 'rename-window', window: 1, name: '  a\tb  ' })).toEqual({ type: 'rename-window', window: 1, name: 'ab' });
    expect(parseCommand({ type: 'new-window', name: 'n'.repeat(500) })).toEqual({ type: 'new-window', name: 'n'.repeat(64) });
  });
});

describe('parseCommand rejects bad commands with E_BAD_COMMAND', () => {
  it('non-objects', () => {
    for (const x of [null, undefined, 'new-window', 1, true]) badCommand(x);
  });

  it('unknown or missing type', () => {
    badCommand({ type: 'nope' });
    badCommand({ type: 'kill-server' });
    badCommand({});
    badCommand([]);
    badCommand({ type: 7 });
    expect(badCommand({ type: 'x'.repeat(1000) }).message.length).toBeLessThan(100);
  });

  it('bad ids: negative, fractional, strings, too large, missing', () => {
    for (const id of [-1, 1.5, '1', 'abc', 2 ** 32, NaN, Infinity, null, undefined, {}]) {
      badCommand({ type: 'close-window', window: id });
      badCommand({ type: 'select-window', window: id });
      badCommand({ type: 'close-pane', pane: id });
      badCommand({ type: 'select-pane', pane: id });
      badCommand({ type: 'split-pane', pane: id, direction: 'h' });
      badCommand({ type: 'send-keys', pane: id, keys: 'x' });
      badCommand({ type: 'rename-window', window: id, name: 'ok' });
      badCommand({ type: 'move-pane', pane: id, target: 1, position: 'left' });
      badCommand({ type: 'move-pane', pane: 1, target: id, position: 'left' });
      badCommand({ type: 'resize-split', window: id, split: 1, sizes: [0.5, 0.5] });
      badCommand({ type: 'resize-split', window: 1, split: id, sizes: [0.5, 0.5] });
    }
  });

  it('the error names the field', () => {
    expect(badCommand({ type: 'move-pane', pane: 1, target: -3, position: 'left' }).message).toMatch(/target/);
    expect(badCommand({ type: 'close-window', window: 'w' }).message).toMatch(/window/);
  });

  it('bad split direction', () => {
    for (const direction of ['x', 'H', 'horizontal', '', 1, undefined]) badCommand({ type: 'split-pane', pane: 1, direction });
  });

  it('bad dock position', () => {
    for (const position of ['middle', 'Left', '', 3, undefined, ['left']]) badCommand({ type: 'move-pane', pane: 1, target: 2, position });
  });

  it('invalid resize-split sizes', () => {
    const base = { type: 'resize-split', window: 1, split: 1 };
    for (const sizes of [undefined, 'x', [], [1], [0, 0], [0.5, -0.5], [0.5, NaN], [0.5, Infinity], [0.5, '0.5'], [0.5, null], new Array(65).fill(1 / 65)]) {
      badCommand({ ...base, sizes });
    }
    // 64 children is still fine.
    expect(parseCommand({ ...base, sizes: new Array(64).fill(1 / 64) })).toMatchObject({ type: 'resize-split' });
  });

  it('bad names', () => {
    badCommand({ type: 'new-window', name: 5 });
    badCommand({ type: 'new-window', name: null });
    badCommand({ type: 'rename-window', window: 1 });
    badCommand({ type: 'rename-window', window: 1, name: 5 });
    badCommand({ type: 'rename-window', window: 1, name: '' });
    badCommand({ type: 'rename-window', window: 1, name: ' \x00\x1b\t ' });
  });

  it(`send-keys longer than ${Limits.maxSendKeys} characters`, () => {
    expect(parseCommand({ type: 'send-keys', pane: 1, keys: 'k'.repeat(Limits.maxSendKeys) })).toMatchObject({ type: 'send-keys' });
    badCommand({ type: 'send-keys', pane: 1, keys: 'k'.repeat(Limits.maxSendKeys + 1) });
    badCommand({ type: 'send-keys', pane: 1 });
    badCommand({ type: 'send-keys', pane: 1, keys: ['a'] });
  });

  it('resize-client with non-numbers', () => {
    for (const [cols, rows] of [['80', 24], [80, '24'], [NaN, 24], [80, Infinity], [undefined, 24], [null, null]]) {
      badCommand({ type: 'resize-client', cols, rows });
    }
  });
});

describe('resize-client clamps to the supported size', () => {
  it('clamps cols to 1..1000 and rows to 1..500', () => {
    expect(parseCommand({ type: 'resize-client', cols: 0, rows: 0 })).toEqual({ type: 'resize-client', cols: 1, rows: 1 });
    expect(parseCommand({ type: 'resize-client', cols: -50, rows: -1 })).toEqual({ type: 'resize-client', cols: 1, rows: 1 });
    expect(parseCommand({ type: 'resize-client', cols: 5000, rows: 9999 })).toEqual({ type: 'resize-client', cols: 1000, rows: 500 });
    expect(parseCommand({ type: 'resize-client', cols: 1000, rows: 500 })).toEqual({ type: 'resize-client', cols: 1000, rows: 500 });
    expect(parseCommand({ type: 'resize-client', cols: 1, rows: 1 })).toEqual({ type: 'resize-client', cols: 1, rows: 1 });
  });

  it('rounds fractional sizes to whole cells', () => {
    expect(parseCommand({ type: 'resize-client', cols: 80.4, rows: 23.6 })).toEqual({ type: 'resize-client', cols: 80, rows: 24 });
    expect(parseCommand({ type: 'resize-client', cols: 0.2, rows: 500.4 })).toEqual({ type: 'resize-client', cols: 1, rows: 500 });
  });
});

describe('cleanName', () => {
  it('strips C0, DEL and C1 control characters', () => {
    expect(cleanName('a\x00b\x1fc\x7fd\x80e\x9ff')).toBe('abcdef');
    expect(cleanName('\x1b]0;evil title\x07shell')).toBe(']0;evil titleshell');
    expect(cleanName('line1\nline2\r')).toBe('line1line2');
  });

  it('keeps ordinary Unicode', () => {
    expect(cleanName('build ✓ 漢字 😀')).toBe('build ✓ 漢字 😀');
    expect(cleanName('\u00a0nbsp')).toBe('nbsp'); // U+00A0 is whitespace, trimmed
  });

  it('trims surrounding whitespace', () => {
    expect(cleanName('   logs   ')).toBe('logs');
  });

  it(`truncates to ${Limits.maxWindowName} characters`, () => {
    expect(Limits.maxWindowName).toBe(64);
    expect(cleanName('x'.repeat(64))).toBe('x'.repeat(64));
    expect(cleanName('y'.repeat(65))).toBe('y'.repeat(64));
    expect(cleanName('z'.repeat(10_000)).length).toBe(64);
    // Control characters are removed before counting.
    expect(cleanName('\x01'.repeat(100) + 'a'.repeat(64))).toBe('a'.repeat(64));
  });
});
