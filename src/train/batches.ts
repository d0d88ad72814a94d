/**
 * The order examples are trained in: a reshuffle per epoch fixed by (seed, epoch), read in
 * batches from a cursor. The cursor is all a checkpoint needs to continue the same order.
 */
import { shuffledOrder } from './data.js';

export interface Cursor {
  readonly epoch: number;
  /** Position within the epoch's shuffled order. */
  readonly index: number;
}

export class BatchStream {
  private order: number[];
  private c: Cursor;

  constructor(
    readonly size: number,
    readonly batchSize: number,
    readonly seed: number,
    cursor: Cursor = { epoch: 0, index: 0 },
  ) {
    if (size <= 0) throw new RangeError('a batch stream needs at least one example');
    if (cursor.index < 0 || cursor.index >= size)
      throw new RangeError(`cursor index ${cursor.index} outside 0…${size - 1}`);
    this.c = cursor;
    this.order = shuffledOrder(size, seed, cursor.epoch);
  }

  /** Batches in one epoch (the last one may be smaller). */
  get batchesPerEpoch(): number {
    return Math.ceil(this.size / this.batchSize);
  }

  get cursor(): Cursor {
    return this.c;
  }

  /** The next batch of example indices; advances the cursor (into the next epoch at the end). */
  next(): number[] {
    const batch = this.order.slice(this.c.index, this.c.index + this.batchSize);
    const index = this.c.index + batch.length;
    if (index >= this.size) {
      this.c = { epoch: this.c.epoch + 1, index: 0 };
      this.order = shuffledOrder(this.size, this.seed, this.c.epoch);
    } else this.c = { epoch: this.c.epoch, index };
    return batch;
  }

  /** The `n` batches from `from` (default: the cursor), leaving the cursor where it is. */
  peek(n: number, from: Cursor = this.c): number[][] {
    const copy = new BatchStream(this.size, this.batchSize, this.seed, from);
    return Array.from({ length: n }, () => copy.next());
  }
}
