/**
 * The recent output of one pane, addressed by absolute byte offset: a ring
 * buffer. Guests read from their own offset; a guest that falls behind what
 * the ring still holds gets a snapshot instead (see GuestSender).
 */
export class PaneLog {
  private readonly buf: Uint8Array;
  /** Total bytes ever appended: the offset just past the newest byte. */
  end = 0;

  constructor(readonly capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  /** Oldest offset still held. */
  get start(): number {
    return Math.max(0, this.end - this.capacity);
  }

  append(data: Uint8Array): void {
    let src = data;
    if (src.length > this.capacity) src = src.subarray(src.length - this.capacity);
    const skipped = data.length - src.length;
    let at = (this.end + skipped) % this.capacity;
    const first = Math.min(src.length, this.capacity - at);
    this.buf.set(src.subarray(0, first), at);
    if (first < src.length) this.buf.set(src.subarray(first), 0);
    this.end += data.length;
  }

  /** True if bytes from `offset` on are still held. */
  has(offset: number): boolean {
    return offset >= this.start && offset <= this.end;
  }

  /** Up to `max` bytes starting at `offset` (a copy), or null if they were overwritten. */
  read(offset: number, max: number): Uint8Array | null {
    if (!this.has(offset)) return null;
    const len = Math.min(max, this.end - offset);
    const out = new Uint8Array(len);
    const at = offset % this.capacity;
    const first = Math.min(len, this.capacity - at);
    out.set(this.buf.subarray(at, at + first), 0);
    if (first < len) out.set(this.buf.subarray(0, len - first), first);
    return out;
  }
}
