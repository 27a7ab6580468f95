import { expect } from 'vitest';
import { PairmuxError } from '../../protocol/errors.js';

/** Run `fn`, expect a PairmuxError, and return its code. */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PairmuxError);
    return (e as PairmuxError).code;
  }
  throw new Error('expected a PairmuxError, but nothing was thrown');
}
