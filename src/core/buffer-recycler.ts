import { invalidArgument } from './errors.js';

/**
 * Float32 arrays handed out for batches, and taken back once their consumer is done with them (it
 * copied the batch to a device, say): a released array is written again while still in cache, where
 * a fresh one costs a page-faulting, cache-missing allocation per batch (measured: nearly half of
 * distortedInputs' time at 160k samples/s). Nothing is reused unless released; at most `keep` spare
 * arrays are held. An array out with a holder (its batch) is taken back only from that holder, so a
 * late second release of an earlier batch cannot hand the array to two batches at once.
 */
export class BufferRecycler {
  private readonly issued = new WeakSet<Float32Array>();
  /** The batch each array out was delivered in. */
  private readonly holders = new WeakMap<Float32Array, object>();
  private readonly spares: Float32Array[] = [];

  constructor(
    private readonly stage: string,
    readonly keep = 12,
  ) {}

  /** An array of `length` floats, released or new; its contents are undefined (the caller fills it). */
  take(length: number): Float32Array {
    const reused = this.spare(length);
    if (reused) return reused;
    // Uninitialised memory (allocUnsafeSlow: its own ArrayBuffer, not the pool's): the caller
    // overwrites all of it, and zero-filling would write every byte twice.
    const bytes = Buffer.allocUnsafeSlow(length * 4);
    const array = new Float32Array(bytes.buffer, bytes.byteOffset, length);
    this.issued.add(array);
    return array;
  }

  /** A released array of `length` floats to write into, if one is spare. */
  spare(length: number): Float32Array | undefined {
    const i = this.spares.findIndex((a) => a.length === length);
    return i >= 0 ? this.spares.splice(i, 1)[0] : undefined;
  }

  /** Counts an array made elsewhere (a worker's) as handed out, so that it can be released. */
  adopt(array: Float32Array): Float32Array {
    this.issued.add(array);
    return array;
  }

  /** Records the batch an array out is delivered in: only that batch can release it. */
  bind(array: Float32Array, holder: object): void {
    this.holders.set(array, holder);
  }

  /** Takes back an array from `take` (from `holder`, if it was bound); the caller must not touch it afterwards. */
  release(array: Float32Array, holder?: object): void {
    if (!(array instanceof Float32Array) || !this.issued.has(array))
      throw invalidArgument('batch', 'a batch this stream delivered', array, this.stage);
    const bound = this.holders.get(array);
    // Spare, moved to a worker (detached), or out again with a later batch: released already.
    if (this.spares.includes(array) || array.byteLength === 0 || (bound !== undefined && bound !== holder))
      throw invalidArgument('batch', 'a batch not released already', array, this.stage);
    this.holders.delete(array);
    if (this.spares.length < this.keep) this.spares.push(array);
  }
}
