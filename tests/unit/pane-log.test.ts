import { describe, it, expect } from 'vitest';
import { PaneLog } from '../../electron/host/pane-log.js';
import { completeUtf8Length } from '../../electron/host/pane.js';

const bytes = (...xs: number[]) => Uint8Array.from(xs);
const range = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
const enc = new TextEncoder();

/** A reference model: every byte ever appended. */
class Model {
  all: number[] = [];
  append(d: Uint8Array) {
    for (const b of d) this.all.push(b);
  }
}

describe('PaneLog', () => {
  it('starts empty', () => {
    const log = new PaneLog(16);
    expect(log.end).toBe(0);
    expect(log.start).toBe(0);
    expect(log.has(0)).toBe(true);
    expect(log.read(0, 100)).toEqual(new Uint8Array(0));
    expect(log.has(1)).toBe(false);
    expect(log.read(1, 1)).toBeNull();
  });

  it('reads back what was appended, addressed by absolute offset', () => {
    const log = new PaneLog(16);
    log.append(range(0, 5));
    log.append(range(5, 5));
    expect(log.end).toBe(10);
    expect(log.start).toBe(0);
    expect(Array.from(log.read(0, 100)!)).toEqual(Array.from(range(0, 10)));
    expect(Array.from(log.read(3, 4)!)).toEqual([3, 4, 5, 6]);
    expect(log.read(10, 4)).toEqual(new Uint8Array(0));
  });

  it('reads across the wrap-around point', () => {
    const log = new PaneLog(8);
    log.append(range(0, 6)); // 0..5
    log.append(range(6, 5)); // 6..10, wraps: buffer holds 3..10
    expect(log.end).toBe(11);
    expect(log.start).toBe(3);
    expect(Array.from(log.read(3, 100)!)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(Array.from(log.read(6, 3)!)).toEqual([6, 7, 8]);
    expect(Array.from(log.read(7, 100)!)).toEqual([7, 8, 9, 10]);
  });

  it('returns null for evicted offsets and for offsets past the end', () => {
    const log = new PaneLog(8);
    log.append(range(0, 20));
    expect(log.start).toBe(12);
    expect(log.read(11, 1)).toBeNull();
    expect(log.read(0, 1)).toBeNull();
    expect(log.read(21, 1)).toBeNull();
    expect(Array.from(log.read(12, 1)!)).toEqual([12]);
  });

  it('has() is true exactly for offsets in [start, end]', () => {
    const log = new PaneLog(10);
    log.append(range(0, 25));
    expect(log.has(14)).toBe(false);
    expect(log.has(15)).toBe(true);
    expect(log.has(20)).toBe(true);
    expect(log.has(25)).toBe(true);
    expect(log.has(26)).toBe(false);
  });

  it('read returns a copy: later appends do not change it', () => {
    const log = new PaneLog(4);
    log.append(bytes(1, 2, 3, 4));
    const r = log.read(0, 4)!;
    log.append(bytes(9, 9, 9, 9));
    expect(Array.from(r)).toEqual([1, 2, 3, 4]);
  });

  it('one append larger than the capacity keeps the newest bytes, and end advances by the full length', () => {
    const log = new PaneLog(8);
    log.append(range(100, 3));
    log.append(range(0, 21));
    expect(log.end).toBe(24);
    expect(log.start).toBe(16);
    expect(log.has(15)).toBe(false);
    expect(Array.from(log.read(16, 100)!)).toEqual(Array.from(range(13, 8)));
    // And the ring keeps working afterwards.
    log.append(bytes(200, 201, 202));
    expect(Array.from(log.read(20, 100)!)).toEqual([17, 18, 19, 20, 200, 201, 202]);
  });

  it('an append of exactly the capacity replaces everything', () => {
    const log = new PaneLog(8);
    log.append(range(50, 5));
    log.append(range(0, 8));
    expect(log.start).toBe(5);
    expect(Array.from(log.read(5, 8)!)).toEqual(Array.from(range(0, 8)));
  });

  it('empty appends change nothing', () => {
    const log = new PaneLog(4);
    log.append(range(0, 6));
    log.append(new Uint8Array(0));
    expect(log.end).toBe(6);
    expect(Array.from(log.read(2, 10)!)).toEqual([2, 3, 4, 5]);
  });

  it('matches a reference model under many random appends and reads', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (const capacity of [1, 7, 64, 1000]) {
      const log = new PaneLog(capacity);
      const model = new Model();
      for (let step = 0; step < 400; step++) {
        const len = rnd(3) === 0 ? rnd(capacity * 3 + 1) : rnd(capacity + 1);
        const data = Uint8Array.from({ length: len }, () => rnd(256));
        log.append(data);
        model.append(data);
        expect(log.end).toBe(model.all.length);
        expect(log.start).toBe(Math.max(0, model.all.length - capacity));
        const off = rnd(model.all.length + 2);
        const max = rnd(capacity + 2);
        const got = log.read(off, max);
        if (off < log.start || off > log.end) {
          expect(got).toBeNull();
        } else {
          expect(Array.from(got!)).toEqual(model.all.slice(off, off + max));
        }
      }
    }
  });
});

describe('completeUtf8Length', () => {
  it('complete text keeps its full length', () => {
    for (const s of ['', 'a', 'hello world', 'é', '€', '😀', 'aé€😀', '\x1b[31mred\x1b[0m', 'x'.repeat(100) + '漢字']) {
      const b = enc.encode(s);
      expect(completeUtf8Length(b)).toBe(b.length);
    }
  });

  it('withholds a 2-, 3- or 4-byte sequence cut at every position', () => {
    for (const ch of ['é', 'ß', '€', '漢', '\uffff', '😀', '\u{10ffff}']) {
      const seq = enc.encode(ch);
      for (const prefix of ['', 'a', 'ab€', '😀']) {
        const p = enc.encode(prefix);
        // Cut after 1 .. seq.length - 1 bytes of the last character.
        for (let k = 1; k < seq.length; k++) {
          const buf = new Uint8Array(p.length + k);
          buf.set(p, 0);
          buf.set(seq.subarray(0, k), p.length);
          expect(completeUtf8Length(buf), `${JSON.stringify(prefix)} + ${k}/${seq.length} bytes of ${ch}`).toBe(p.length);
        }
        // The whole character is complete.
        const whole = new Uint8Array(p.length + seq.length);
        whole.set(p, 0);
        whole.set(seq, p.length);
        expect(completeUtf8Length(whole)).toBe(whole.length);
      }
    }
  });

  it('splitting any text at any byte and re-joining the withheld tail loses nothing', () => {
    const text = enc.encode('a€b😀c漢ß\r\n'.repeat(3));
    for (let cut = 0; cut <= text.length; cut++) {
      const head = text.subarray(0, cut);
      const n = completeUtf8Length(head);
      expect(n).toBeLessThanOrEqual(cut);
      expect(cut - n).toBeLessThan(4);
      // The emitted part always decodes cleanly.
      expect(() => new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, n))).not.toThrow();
    }
  });

  it('continuation-only tails are not withheld (no lead byte to wait for)', () => {
    expect(completeUtf8Length(bytes(0x80))).toBe(1);
    expect(completeUtf8Length(bytes(0x80, 0x80))).toBe(2);
    expect(completeUtf8Length(bytes(0x80, 0x80, 0x80))).toBe(3);
    expect(completeUtf8Length(bytes(0x61, 0x80, 0x80, 0x80))).toBe(4);
    expect(completeUtf8Length(bytes(0x80, 0x80, 0x80, 0x80, 0x80))).toBe(5);
  });

  it('a lone lead byte at the end is withheld', () => {
    expect(completeUtf8Length(bytes(0x61, 0xc3))).toBe(1);
    expect(completeUtf8Length(bytes(0x61, 0xe2))).toBe(1);
    expect(completeUtf8Length(bytes(0x61, 0xf0))).toBe(1);
    expect(completeUtf8Length(bytes(0xf0))).toBe(0);
  });
});
