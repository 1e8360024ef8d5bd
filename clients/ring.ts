/** A growable FIFO of numbers (send timestamps of frames in flight), without per-item allocation. */
export class NumberRing {
  private items: Float64Array;
  private head = 0;
  private count = 0;

  constructor(capacity = 16) {
    this.items = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(value: number): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = value;
    this.count++;
  }

  shift(): number {
    if (this.count === 0) throw new RangeError('ring is empty');
    const value = this.items[this.head]!;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return value;
  }

  /** The i-th oldest item (0 = next to shift). */
  at(i: number): number {
    return this.items[(this.head + i) % this.items.length]!;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const next = new Float64Array(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.at(i);
    this.items = next;
    this.head = 0;
  }
}
