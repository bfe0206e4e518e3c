import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CancelledError, FIFOQueue, InvalidArgumentError, OutOfRangeError } from '../../src/index.js';
import { rejection, type Tracked, tick, track } from '../helpers/promises.js';

/** The promise-state helper: races against a resolved sentinel after letting reactions run. */
const PENDING = Symbol('pending');
async function promiseState(p: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  await tick();
  try {
    return (await Promise.race([p, Promise.resolve(PENDING)])) === PENDING ? 'pending' : 'fulfilled';
  } catch {
    return 'rejected';
  }
}

function fifo(capacity: number, name = 'q'): FIFOQueue<number> {
  return new FIFOQueue<number>({ capacity, name });
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('FIFOQueue: order and blocking', () => {
  it('dequeues in enqueue order', async () => {
    const q = fifo(10);
    for (const x of [5, 3, 9, 1]) await q.enqueue(x);
    await q.enqueueMany([7, 2]);
    expect(q.size()).toBe(6);
    expect(await q.dequeue()).toBe(5);
    expect(await q.dequeueMany(3)).toEqual([3, 9, 1]);
    expect(await q.dequeueMany(2)).toEqual([7, 2]);
    expect(q.size()).toBe(0);
  });

  it('the promise-state helper sees pending, fulfilled and rejected promises', async () => {
    const never = new Promise(() => {});
    const rejected = Promise.reject(new Error('x'));
    rejected.catch(() => {});
    expect(await promiseState(never)).toBe('pending');
    expect(await promiseState(Promise.resolve(1))).toBe('fulfilled');
    expect(await promiseState(rejected)).toBe('rejected');
  });

  it('a blocked dequeue resolves when an element arrives', async () => {
    const q = fifo(2);
    const d = q.dequeue();
    expect(await promiseState(d)).toBe('pending');
    await q.enqueue(42);
    expect(await promiseState(d)).toBe('fulfilled');
    expect(await d).toBe(42);
    expect(q.size()).toBe(0);
  });

  it('enqueue blocks while full and resolves when space frees', async () => {
    const q = fifo(2);
    await q.enqueue(1);
    await q.enqueue(2);
    const e = q.enqueue(3);
    expect(await promiseState(e)).toBe('pending');
    expect(q.size()).toBe(2);
    expect(q.tryEnqueue(99)).toBe(false);
    expect(await q.dequeue()).toBe(1);
    expect(await promiseState(e)).toBe('fulfilled');
    expect(q.size()).toBe(2);
    expect(await q.dequeueMany(2)).toEqual([2, 3]);
  });

  it('serves pending enqueues strictly in arrival order (head of line)', async () => {
    const q = fifo(1);
    await q.enqueue(0);
    const e1 = track(q.enqueue(1));
    const e2 = track(q.enqueueMany([2, 3, 4]));
    const e3 = track(q.enqueue(5));
    await tick();
    expect([e1.status, e2.status, e3.status]).toEqual(['pending', 'pending', 'pending']);
    // While enqueues wait, tryEnqueue must not jump the line even once space frees.
    expect(q.tryEnqueue(100)).toBe(false);
    const out: number[] = [];
    for (let i = 0; i < 6; i++) out.push(await q.dequeue());
    await tick();
    expect(out).toEqual([0, 1, 2, 3, 4, 5]);
    expect([e1.status, e2.status, e3.status]).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(e1.order!).toBeLessThan(e2.order!);
    expect(e2.order!).toBeLessThan(e3.order!);
    expect(q.size()).toBe(0);
  });

  it('a single enqueue waits behind a partially inserted enqueueMany even when there is space', async () => {
    const q = fifo(3);
    const many = track(q.enqueueMany([1, 2, 3, 4, 5]));
    const single = track(q.enqueue(6));
    await tick();
    expect(q.size()).toBe(3);
    expect(await q.dequeueMany(2)).toEqual([1, 2]);
    await tick();
    // Space for 2 freed: 4 and 5 go in (the rest of the head request), not 6.
    expect(many.status).toBe('fulfilled');
    expect(single.status).toBe('pending');
    expect(await q.dequeueMany(3)).toEqual([3, 4, 5]);
    await tick();
    expect(single.status).toBe('fulfilled');
    expect(await q.dequeue()).toBe(6);
  });

  it('enqueueMany inserts element by element as space frees (partial progress visible)', async () => {
    const q = fifo(3);
    const e = track(q.enqueueMany(range(1, 7)));
    await tick();
    expect(q.size()).toBe(3);
    expect(e.status).toBe('pending');
    expect(await q.dequeue()).toBe(1);
    await tick();
    expect(q.size()).toBe(3); // 4 went in
    expect(e.status).toBe('pending');
    expect(await q.dequeueMany(3)).toEqual([2, 3, 4]);
    await tick();
    expect(q.size()).toBe(2); // 5 and 6
    expect(e.status).toBe('fulfilled');
    expect(q.stats().elementsIn).toBe(6);
    expect(await q.dequeueMany(2)).toEqual([5, 6]);
  });

  it('an empty enqueueMany resolves at once, even on a full queue', async () => {
    const q = fifo(1);
    await q.enqueue(1);
    const blocked = q.enqueue(2);
    expect(await promiseState(q.enqueueMany([]))).toBe('fulfilled');
    expect(await promiseState(blocked)).toBe('pending');
    expect(q.size()).toBe(1);
    await q.dequeue();
    await blocked;
  });

  it('dequeueMany(n) with n > capacity does not deadlock (incremental)', async () => {
    const q = fifo(2);
    const d = track(q.dequeueMany(5));
    const sizes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const e = q.enqueue(i);
      await tick();
      sizes.push(q.size());
      expect(await promiseState(e)).toBe('fulfilled');
      if (i < 4) expect(d.status).toBe('pending');
    }
    await tick();
    expect(d.status).toBe('fulfilled');
    expect(d.value).toEqual([0, 1, 2, 3, 4]);
    // Elements moved into the pending batch at once, so the queue never filled up.
    expect(sizes).toEqual([0, 0, 0, 0, 0]);
  });

  it('dequeueMany(n) with n > capacity completes against one large enqueueMany', async () => {
    const q = fifo(3);
    const d = q.dequeueMany(10);
    const e = q.enqueueMany(range(0, 12));
    expect(await d).toEqual(range(0, 10));
    await e;
    expect(q.size()).toBe(2);
  });

  it('pending dequeues are served in arrival order', async () => {
    const q = fifo(5);
    const d1 = track(q.dequeueMany(2));
    const d2 = track(q.dequeue());
    const d3 = track(q.dequeueUpTo(2));
    await q.enqueueMany([1, 2, 3]);
    await tick();
    expect([d1.status, d2.status, d3.status]).toEqual(['fulfilled', 'fulfilled', 'pending']);
    expect(d1.value).toEqual([1, 2]);
    expect(d2.value).toBe(3);
    await q.enqueueMany([4, 5]);
    await tick();
    expect(d3.value).toEqual([4, 5]);
  });

  it('dequeueMany(0) resolves to [] immediately', async () => {
    const q = fifo(2);
    const d = q.dequeueMany(0);
    expect(await promiseState(d)).toBe('fulfilled');
    expect(await d).toEqual([]);
    expect(await q.dequeueUpTo(0)).toEqual([]);
    await q.enqueue(1);
    expect(await q.dequeueMany(0)).toEqual([]);
    expect(q.size()).toBe(1);
  });
});

describe('FIFOQueue: close', () => {
  it('close() waits for pending enqueues, then closes', async () => {
    const q = fifo(1);
    await q.enqueue(1);
    const e2 = track(q.enqueue(2));
    const closing = track(q.close());
    await tick();
    expect(closing.status).toBe('pending');
    expect(e2.status).toBe('pending');
    expect(q.isClosed).toBe(false);
    // A new enqueue after close() was requested is cancelled.
    expect(await rejection(q.enqueue(3))).toBeInstanceOf(CancelledError);
    expect(await q.dequeue()).toBe(1);
    await tick();
    expect(e2.status).toBe('fulfilled');
    expect(closing.status).toBe('fulfilled');
    expect(q.isClosed).toBe(true);
    expect(await q.dequeue()).toBe(2);
    expect(await rejection(q.dequeue())).toBeInstanceOf(OutOfRangeError);
  });

  it('close() on an idle queue closes at once, and a second close() resolves', async () => {
    const q = fifo(3);
    await q.close();
    expect(q.isClosed).toBe(true);
    expect(await promiseState(q.close())).toBe('fulfilled');
  });

  it('enqueue after close rejects with CancelledError naming the queue', async () => {
    const q = fifo(3, 'my_queue');
    await q.close();
    const err = await rejection(q.enqueue(1));
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as Error).message).toBe("FIFOQueue 'my_queue' is closed.");
    expect(await rejection(q.enqueueMany([1, 2]))).toBeInstanceOf(CancelledError);
    expect(q.tryEnqueue(1)).toBe(false);
    expect(q.size()).toBe(0);
  });

  it('close({ cancelPendingEnqueues: true }) closes now and cancels pending enqueues', async () => {
    const q = fifo(2);
    const many = track(q.enqueueMany([1, 2, 3, 4]));
    const single = track(q.enqueue(5));
    await tick();
    expect(q.size()).toBe(2);
    const closing = track(q.close({ cancelPendingEnqueues: true }));
    await tick();
    expect(closing.status).toBe('fulfilled');
    expect(q.isClosed).toBe(true);
    expect(many.status).toBe('rejected');
    expect(single.status).toBe('rejected');
    expect(many.reason).toBeInstanceOf(CancelledError);
    expect(single.reason).toBeInstanceOf(CancelledError);
    expect((many.reason as Error).message).toBe('Enqueue operation was cancelled');
    // Elements already inserted stay and drain.
    expect(await q.dequeueUpTo(10)).toEqual([1, 2]);
    expect(await rejection(q.dequeue())).toBeInstanceOf(OutOfRangeError);
  });

  it('close({ cancelPendingEnqueues: true }) cancels enqueues left pending by an earlier close()', async () => {
    const q = fifo(1);
    await q.enqueue(1);
    const e = track(q.enqueue(2));
    const first = track(q.close());
    await tick();
    expect(first.status).toBe('pending');
    await q.close({ cancelPendingEnqueues: true });
    await tick();
    expect(e.reason).toBeInstanceOf(CancelledError);
    expect(first.status).toBe('fulfilled');
    expect(q.isClosed).toBe(true);
  });

  it('dequeue on a closed empty queue rejects with TF’s OutOfRangeError message', async () => {
    const q = fifo(4, 'batch_q');
    await q.close();
    const err = await rejection(q.dequeue());
    expect(err).toBeInstanceOf(OutOfRangeError);
    expect((err as Error).message).toBe(
      "FIFOQueue 'batch_q' is closed and has insufficient elements (requested 1, current size 0)",
    );
  });

  it('uses the kind as the default name', async () => {
    const q = new FIFOQueue<number>({ capacity: 1 });
    expect(q.name).toBe('FIFOQueue');
    await q.close();
    expect(((await rejection(q.dequeue())) as Error).message).toMatch(/^FIFOQueue 'FIFOQueue' is closed/);
  });

  it('close() fails a dequeue that is waiting on an empty queue', async () => {
    const q = fifo(4);
    const d = track(q.dequeue());
    await tick();
    expect(d.status).toBe('pending');
    await q.close();
    await tick();
    expect(d.reason).toBeInstanceOf(OutOfRangeError);
    expect((d.reason as Error).message).toMatch(/requested 1, current size 0\)$/);
  });

  it('dequeueMany on a closed queue with too few elements fails and puts the elements back in order', async () => {
    const q = fifo(10, 'q');
    await q.enqueueMany([1, 2, 3]);
    await q.close();
    const err = await rejection(q.dequeueMany(5));
    expect(err).toBeInstanceOf(OutOfRangeError);
    expect((err as Error).message).toBe(
      "FIFOQueue 'q' is closed and has insufficient elements (requested 5, current size 3)",
    );
    expect(q.size()).toBe(3);
    expect(await q.dequeueUpTo(10)).toEqual([1, 2, 3]);
  });

  it('a pending dequeueMany that collected part of its batch puts it back at the front when closed', async () => {
    const q = fifo(10, 'q');
    const d = track(q.dequeueMany(5));
    await q.enqueueMany([1, 2, 3]);
    await tick();
    expect(d.status).toBe('pending');
    expect(q.size()).toBe(0); // the three are in the pending batch
    await q.close();
    await tick();
    expect(d.status).toBe('rejected');
    expect(d.reason).toBeInstanceOf(OutOfRangeError);
    expect((d.reason as Error).message).toMatch(/requested 5, current size 3\)$/);
    expect(q.size()).toBe(3);
    expect(await q.dequeue()).toBe(1);
    expect(await q.dequeueUpTo(5)).toEqual([2, 3]);
    expect(await rejection(q.dequeueUpTo(5))).toBeInstanceOf(OutOfRangeError);
  });

  it('after a failed dequeueMany, a later pending dequeue is served from the put-back elements', async () => {
    // TF: once the head attempt fails and restores its elements, the next attempt runs against them.
    const q = fifo(10, 'q');
    const big = track(q.dequeueMany(5));
    const small = track(q.dequeueMany(2));
    const upTo = track(q.dequeueUpTo(4));
    await q.enqueueMany([1, 2, 3]);
    await q.close();
    await tick();
    expect(big.reason).toBeInstanceOf(OutOfRangeError);
    expect(small.status).toBe('fulfilled');
    expect(small.value).toEqual([1, 2]);
    expect(upTo.status).toBe('fulfilled');
    expect(upTo.value).toEqual([3]);
  });

  it('dequeueUpTo returns the 1..n-1 remainder after close, then fails', async () => {
    const q = fifo(10);
    await q.enqueueMany([1, 2, 3, 4, 5]);
    await q.close();
    expect(await q.dequeueUpTo(3)).toEqual([1, 2, 3]);
    expect(await q.dequeueUpTo(3)).toEqual([4, 5]);
    const err = await rejection(q.dequeueUpTo(3));
    expect(err).toBeInstanceOf(OutOfRangeError);
    expect((err as Error).message).toMatch(/requested 3, current size 0\)$/);
  });

  it('a pending dequeueUpTo resolves with its partial batch on close', async () => {
    const q = fifo(10);
    const d = track(q.dequeueUpTo(5));
    await q.enqueueMany([1, 2]);
    await tick();
    expect(d.status).toBe('pending');
    await q.close();
    await tick();
    expect(d.status).toBe('fulfilled');
    expect(d.value).toEqual([1, 2]);
  });

  it('dequeueUpTo on a closing queue waits for the pending enqueues', async () => {
    const q = fifo(1);
    await q.enqueue(1);
    const e = track(q.enqueueMany([2, 3]));
    const closing = track(q.close());
    const d = track(q.dequeueUpTo(5));
    await tick();
    expect(d.status).toBe('fulfilled');
    expect(d.value).toEqual([1, 2, 3]);
    expect(e.status).toBe('fulfilled');
    expect(closing.status).toBe('fulfilled');
  });
});

describe('FIFOQueue: argument validation', () => {
  it.each([
    [0, '0'],
    [-1, '-1'],
    [1.5, '1.5'],
    [undefined, 'undefined'],
    [Number.NaN, 'NaN'],
    ['4', '"4"'],
  ])('rejects capacity %s with InvalidArgumentError', (capacity, shown) => {
    let err: unknown;
    try {
      new FIFOQueue<number>({ capacity: capacity as number });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgumentError);
    const message = (err as Error).message;
    expect(message).toMatch(/Expected .+ for capacity but received /);
    expect(message.endsWith(`but received ${shown}`)).toBe(true);
    expect((err as InvalidArgumentError).parameter).toBe('capacity');
  });

  it('rejects missing options with InvalidArgumentError, not a TypeError', () => {
    expect(() => new FIFOQueue<number>(undefined as unknown as { capacity: number })).toThrow(
      InvalidArgumentError,
    );
  });

  it('accepts capacity 1', () => {
    expect(fifo(1).capacity).toBe(1);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects n = %s in dequeueMany/dequeueUpTo with InvalidArgumentError',
    async (n) => {
      const q = fifo(4);
      await q.enqueueMany([1, 2, 3]);
      for (const p of [q.dequeueMany(n), q.dequeueUpTo(n)]) {
        const err = await rejection(p);
        expect(err).toBeInstanceOf(InvalidArgumentError);
        expect((err as InvalidArgumentError).parameter).toBe('n');
        expect((err as Error).message).toMatch(
          /^FIFOQueue 'q': Expected a non-negative integer for n but received /,
        );
      }
      // The queue is untouched and still works.
      expect(q.size()).toBe(3);
      expect(await q.dequeueMany(3)).toEqual([1, 2, 3]);
    },
  );
});

describe('FIFOQueue: fail and cancel', () => {
  it('fail(err) rejects pending and later dequeues with err', async () => {
    const q = fifo(4);
    const d = track(q.dequeueMany(2));
    await q.enqueue(1);
    await tick();
    expect(d.status).toBe('pending');
    const boom = new Error('producer failed');
    q.fail(boom);
    await tick();
    expect(d.reason).toBe(boom);
    expect(await rejection(q.dequeue())).toBe(boom);
    expect(await rejection(q.dequeueUpTo(3))).toBe(boom);
    expect(q.isClosed).toBe(true);
    expect(await rejection(q.enqueue(9))).toBeInstanceOf(CancelledError);
  });

  it('fail(err) is seen at once even with elements buffered, and rejects pending enqueues', async () => {
    const q = fifo(1);
    await q.enqueue(1);
    const e = track(q.enqueue(2));
    const closing = track(q.close());
    const boom = new Error('boom');
    q.fail(boom);
    await tick();
    expect(e.reason).toBe(boom);
    expect(closing.status).toBe('fulfilled');
    expect(await rejection(q.dequeue())).toBe(boom);
    // A second failure does not replace the first.
    q.fail(new Error('later'));
    expect(await rejection(q.dequeue())).toBe(boom);
  });

  it('cancel() fails pending dequeues, pending enqueues and later operations with CancelledError', async () => {
    const q = fifo(1, 'cq');
    const d = track(q.dequeueMany(3));
    await q.enqueueMany([1, 2]); // moved into the pending batch
    await tick();
    expect(d.status).toBe('pending');
    q.cancel();
    await tick();
    expect(d.reason).toBeInstanceOf(CancelledError);
    expect((d.reason as Error).message).toBe("FIFOQueue 'cq' was cancelled");
    expect(await rejection(q.dequeue())).toBeInstanceOf(CancelledError);
    expect(await rejection(q.enqueue(6))).toBeInstanceOf(CancelledError);
    expect(q.isClosed).toBe(true);

    const full = fifo(1, 'full');
    await full.enqueue(1);
    const e = track(full.enqueueMany([2, 3]));
    await tick();
    expect(e.status).toBe('pending');
    full.cancel();
    await tick();
    expect(e.reason).toBeInstanceOf(CancelledError);
    // The buffered element is dropped with the cancellation, not delivered.
    expect(await rejection(full.dequeue())).toBeInstanceOf(CancelledError);
  });
});

describe('FIFOQueue: stats', () => {
  it('reports size, capacity, fractionFull, elementsIn and elementsOut', async () => {
    const q = fifo(4, 'stats_q');
    let s = q.stats();
    expect(s).toMatchObject({ name: 'stats_q', size: 0, capacity: 4, fractionFull: 0, elementsIn: 0 });
    expect(s.elementsOut).toBe(0);
    await q.enqueueMany([1, 2, 3]);
    s = q.stats();
    expect(s).toMatchObject({ size: 3, capacity: 4, fractionFull: 0.75, elementsIn: 3, elementsOut: 0 });
    await q.dequeueMany(2);
    s = q.stats();
    expect(s).toMatchObject({ size: 1, fractionFull: 0.25, elementsIn: 3, elementsOut: 2 });
    await q.enqueueMany([4, 5, 6]);
    s = q.stats();
    expect(s).toMatchObject({ size: 4, fractionFull: 1, elementsIn: 6, elementsOut: 2 });
  });

  it('counts elements moved into a pending batch as out, and enqueueMany progress as in', async () => {
    const q = fifo(2);
    const d = q.dequeueMany(3);
    const e = q.enqueueMany([1, 2, 3, 4, 5]);
    await d;
    await e;
    expect(q.stats()).toMatchObject({ size: 2, elementsIn: 5, elementsOut: 3 });
  });

  it('does not count put-back elements as dequeued (elementsIn - elementsOut = size)', async () => {
    const q = fifo(10);
    await q.enqueueMany([1, 2, 3]);
    await q.close();
    await rejection(q.dequeueMany(5));
    let s = q.stats();
    expect(s.elementsIn).toBe(3);
    expect(s.elementsOut).toBe(0);
    expect(await q.dequeueUpTo(5)).toEqual([1, 2, 3]);
    s = q.stats();
    expect(s.elementsIn).toBe(3);
    expect(s.elementsOut).toBe(3);
  });

  it('reports the real size of a closed queue that still holds elements', async () => {
    const q = fifo(4);
    await q.enqueueMany([1, 2, 3]);
    await q.close();
    const s = q.stats();
    expect(s.size).toBe(3);
    expect(s.fractionFull).toBe(0.75);
    expect(s.done).toBe(false);
    await q.dequeueUpTo(4);
    expect(q.stats().size).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Property test against a reference model of TF's queue kernel (tf1-input-reference §6.3).

type Op =
  | { t: 'enqueue' }
  | { t: 'enqueueMany'; k: number }
  | { t: 'dequeue' }
  | { t: 'dequeueMany'; n: number }
  | { t: 'dequeueUpTo'; n: number }
  | { t: 'close'; cancel: boolean };

type Outcome =
  | { status: 'pending' }
  | { status: 'fulfilled'; value: unknown }
  | { status: 'rejected'; error: 'CancelledError' | 'OutOfRangeError' };

interface ModelEnqueue {
  id: number;
  items: number[];
  index: number;
}

interface ModelDequeue {
  id: number;
  n: number;
  upTo: boolean;
  single: boolean;
  collected: number[];
}

/** A direct transcription of TF's FIFOQueue attempts: enqueue attempts, then dequeue attempts, in order. */
class FifoModel {
  readonly buffer: number[] = [];
  readonly outcomes = new Map<number, Outcome>();
  readonly inserted: number[] = [];
  readonly delivered: number[] = [];
  private enqueues: ModelEnqueue[] = [];
  private dequeues: ModelDequeue[] = [];
  private closeIds: number[] = [];
  private closeRequested = false;
  closed = false;

  constructor(readonly capacity: number) {}

  enqueue(id: number, items: number[]): void {
    if (this.closeRequested) {
      this.reject(id, 'CancelledError');
      return;
    }
    if (items.length === 0) {
      this.fulfil(id, undefined);
      return;
    }
    this.outcomes.set(id, { status: 'pending' });
    this.enqueues.push({ id, items, index: 0 });
    this.flush();
  }

  dequeue(id: number, n: number, upTo: boolean, single: boolean): void {
    if (n === 0) {
      this.fulfil(id, []);
      return;
    }
    this.outcomes.set(id, { status: 'pending' });
    this.dequeues.push({ id, n, upTo, single, collected: [] });
    this.flush();
  }

  close(id: number, cancel: boolean): void {
    if (this.closed) {
      this.fulfil(id, undefined);
      return;
    }
    if (cancel) {
      for (const e of this.enqueues) this.reject(e.id, 'CancelledError');
      this.enqueues = [];
    }
    this.closeRequested = true;
    this.outcomes.set(id, { status: 'pending' });
    this.closeIds.push(id);
    this.flush();
  }

  private fulfil(id: number, value: unknown): void {
    this.outcomes.set(id, { status: 'fulfilled', value });
  }

  private reject(id: number, error: 'CancelledError' | 'OutOfRangeError'): void {
    this.outcomes.set(id, { status: 'rejected', error });
  }

  private complete(d: ModelDequeue, items: number[]): void {
    this.delivered.push(...items);
    this.fulfil(d.id, d.single ? items[0] : items);
  }

  private flush(): void {
    for (;;) {
      let progress = false;
      while (this.enqueues.length > 0 && this.buffer.length < this.capacity) {
        const e = this.enqueues[0];
        const x = e.items[e.index++];
        this.buffer.push(x);
        this.inserted.push(x);
        progress = true;
        if (e.index === e.items.length) {
          this.enqueues.shift();
          this.fulfil(e.id, undefined);
        }
      }
      while (this.dequeues.length > 0) {
        const d = this.dequeues[0];
        while (d.collected.length < d.n && this.buffer.length > 0) {
          d.collected.push(this.buffer.shift()!);
          progress = true;
        }
        if (d.collected.length < d.n) break;
        this.dequeues.shift();
        this.complete(d, d.collected);
      }
      if (this.closeRequested && !this.closed && this.enqueues.length === 0) {
        this.closed = true;
        for (const id of this.closeIds.splice(0)) this.fulfil(id, undefined);
        progress = true;
      }
      if (this.closed && this.dequeues.length > 0) {
        // The head attempt cannot be satisfied: restore its elements to the front, then either
        // take all that remain (dequeue_up_to) or fail; the next attempt then runs.
        const d = this.dequeues.shift()!;
        this.buffer.unshift(...d.collected);
        if (d.upTo && this.buffer.length > 0) this.complete(d, this.buffer.splice(0));
        else this.reject(d.id, 'OutOfRangeError');
        progress = true;
      }
      if (!progress) break;
    }
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ t: 'enqueue' as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('enqueueMany' as const), k: fc.nat(6) }) },
  { weight: 3, arbitrary: fc.constant({ t: 'dequeue' as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('dequeueMany' as const), n: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('dequeueUpTo' as const), n: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('close' as const), cancel: fc.boolean() }) },
);

function observed(t: Tracked<unknown>): Outcome {
  if (t.status === 'pending') return { status: 'pending' };
  if (t.status === 'fulfilled') return { status: 'fulfilled', value: t.value };
  const name = (t.reason as Error).name;
  if (name !== 'CancelledError' && name !== 'OutOfRangeError') throw t.reason;
  return { status: 'rejected', error: name };
}

describe('FIFOQueue: property test against a TF reference model', () => {
  it('matches the model op by op, keeps FIFO order, never overfills, and drains after close', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(opArb, { maxLength: 30 }),
        async (cap, ops) => {
          const q = new FIFOQueue<number>({ capacity: cap, name: 'prop' });
          const model = new FifoModel(cap);
          const tracked = new Map<number, Tracked<unknown>>();
          let nextValue = 0;
          let nextId = 0;

          const apply = (op: Op): void => {
            const id = nextId++;
            let p: Promise<unknown>;
            switch (op.t) {
              case 'enqueue': {
                const x = nextValue++;
                p = q.enqueue(x);
                model.enqueue(id, [x]);
                break;
              }
              case 'enqueueMany': {
                const xs = Array.from({ length: op.k }, () => nextValue++);
                p = q.enqueueMany(xs);
                model.enqueue(id, xs);
                break;
              }
              case 'dequeue':
                p = q.dequeue();
                model.dequeue(id, 1, false, true);
                break;
              case 'dequeueMany':
                p = q.dequeueMany(op.n);
                model.dequeue(id, op.n, false, false);
                break;
              case 'dequeueUpTo':
                p = q.dequeueUpTo(op.n);
                model.dequeue(id, op.n, true, false);
                break;
              case 'close':
                p = q.close({ cancelPendingEnqueues: op.cancel });
                model.close(id, op.cancel);
                break;
            }
            tracked.set(id, track(p));
          };

          const check = async (): Promise<void> => {
            await tick();
            // Only a closed queue may exceed capacity: TF restores a failed batch to the front without a
            // capacity check, which is harmless once no enqueue can run.
            if (!q.isClosed) expect(q.size()).toBeLessThanOrEqual(cap);
            expect(q.size()).toBe(model.buffer.length);
            expect(q.isClosed).toBe(model.closed);
            for (const [id, t] of tracked) expect(observed(t), `op #${id}`).toEqual(model.outcomes.get(id));
          };

          for (const op of ops) {
            apply(op);
            await check();
          }

          // Close (letting pending enqueues finish) and drain with dequeueUpTo until OutOfRange.
          apply({ t: 'close', cancel: false });
          await check();
          for (let i = 0; i < 100; i++) {
            const id = nextId;
            apply({ t: 'dequeueUpTo', n: cap + 2 });
            await check();
            if (tracked.get(id)!.status === 'rejected') break;
          }
          expect(q.isClosed).toBe(true);
          expect(q.size()).toBe(0);
          for (const [id, t] of tracked) expect(t.status, `op #${id} still pending`).not.toBe('pending');

          // Every element that entered the queue left it exactly once, in FIFO order. (Pending dequeues
          // complete in arrival order, so id order is delivery order.)
          const fulfilledDequeues = [...tracked.entries()]
            .filter(([id, t]) => t.status === 'fulfilled' && isDequeue(ops, id))
            .flatMap(([, t]) => (Array.isArray(t.value) ? t.value : [t.value]));
          expect(fulfilledDequeues).toEqual(model.inserted);
          expect(model.delivered).toEqual(model.inserted);
          expect(q.stats().elementsIn).toBe(model.inserted.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** Ids 0..ops.length-1 are the generated ops; later ids are the closing close and draining dequeueUpTos. */
function isDequeue(ops: Op[], id: number): boolean {
  if (id >= ops.length) return id > ops.length;
  const t = ops[id].t;
  return t === 'dequeue' || t === 'dequeueMany' || t === 'dequeueUpTo';
}

describe('FIFOQueue: stats$', () => {
  it('emits snapshots as the queue changes', async () => {
    const q = new FIFOQueue<number>({ capacity: 4, name: 'watched' });
    const seen: number[] = [];
    const sub = q.stats$.subscribe((s) => seen.push(s.size));
    await q.enqueueMany([1, 2, 3]);
    await new Promise((r) => setTimeout(r, 600));
    sub.unsubscribe();
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(3);
  });
});
