import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  InvalidArgumentError,
  OutOfRangeError,
  RandomShuffleQueue,
} from '../../src/index.js';
import { rejection, type Tracked, tick, track } from '../helpers/promises.js';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

function rsq(capacity: number, minAfterDequeue: number, seed = 1, name = 'rsq'): RandomShuffleQueue<number> {
  return new RandomShuffleQueue<number>({ capacity, minAfterDequeue, seed, name });
}

/** A fixed interleaving of producer and consumer: one-at-a-time enqueues against dequeueUpTo(3). */
async function shuffledOrder(seed: number, count = 200): Promise<number[]> {
  const q = rsq(20, 5, seed);
  const out: number[] = [];
  const consumer = (async () => {
    for (;;) {
      try {
        out.push(...(await q.dequeueUpTo(3)));
      } catch (err) {
        if (err instanceof OutOfRangeError) return;
        throw err;
      }
    }
  })();
  for (let i = 0; i < count; i++) await q.enqueue(i);
  await q.close();
  await consumer;
  return out;
}

describe('RandomShuffleQueue: minAfterDequeue', () => {
  it('while open, a dequeue waits until size > minAfterDequeue', async () => {
    const q = rsq(10, 3);
    await q.enqueueMany([0, 1, 2]);
    const d = track(q.dequeue());
    await tick();
    expect(d.status).toBe('pending');
    expect(q.size()).toBe(3);
    await q.enqueue(3);
    await tick();
    expect(d.status).toBe('fulfilled');
    expect([0, 1, 2, 3]).toContain(d.value);
    expect(q.size()).toBe(3);
    // Never drops below minAfterDequeue while open.
    const d2 = track(q.dequeue());
    await tick();
    expect(d2.status).toBe('pending');
    expect(q.size()).toBe(3);
  });

  it('dequeueMany is incremental: capacity < minAfterDequeue + n does not deadlock', async () => {
    const q = rsq(4, 3);
    const d = track(q.dequeueMany(3));
    const sizes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const e = track(q.enqueue(i));
      await tick();
      expect(e.status).toBe('fulfilled');
      sizes.push(q.size());
      // TF: the first batch completes once minAfterDequeue + n elements have been enqueued in total.
      expect(d.status).toBe(i < 5 ? 'pending' : 'fulfilled');
    }
    expect(sizes).toEqual([1, 2, 3, 3, 3, 3]);
    expect(d.value).toHaveLength(3);
    const left = sorted(range(0, 6).filter((x) => !(d.value as number[]).includes(x)));
    expect(left).toHaveLength(3);
    await q.close();
    expect(sorted(await q.dequeueMany(3))).toEqual(left);
  });

  it('after close it drains fully, ignoring minAfterDequeue', async () => {
    const q = rsq(10, 5, 7, 'drain_q');
    await q.enqueueMany([0, 1, 2, 3, 4]);
    const d = track(q.dequeue());
    await tick();
    expect(d.status).toBe('pending');
    await q.close();
    await tick();
    expect(d.status).toBe('fulfilled');
    const rest = await q.dequeueMany(4);
    expect(sorted([d.value as number, ...rest])).toEqual([0, 1, 2, 3, 4]);
    expect(q.size()).toBe(0);
    const err = await rejection(q.dequeue());
    expect(err).toBeInstanceOf(OutOfRangeError);
    expect((err as Error).message).toBe(
      "RandomShuffleQueue 'drain_q' is closed and has insufficient elements (requested 1, current size 0)",
    );
  });

  it('a failed dequeueMany on a closed queue puts its elements back for a later dequeueUpTo', async () => {
    const q = rsq(10, 0, 3, 'pb');
    const d = track(q.dequeueMany(5));
    await q.enqueueMany([10, 11, 12]);
    await tick();
    expect(d.status).toBe('pending');
    expect(q.size()).toBe(0);
    await q.close();
    await tick();
    expect(d.reason).toBeInstanceOf(OutOfRangeError);
    expect((d.reason as Error).message).toMatch(/requested 5, current size 3\)$/);
    expect(q.size()).toBe(3);
    expect(sorted(await q.dequeueUpTo(5))).toEqual([10, 11, 12]);
  });

  it('enqueue after close rejects with CancelledError naming the queue', async () => {
    const q = rsq(4, 1, 1, 'closed_rsq');
    await q.close();
    const err = await rejection(q.enqueue(1));
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as Error).message).toBe("RandomShuffleQueue 'closed_rsq' is closed.");
  });

  it('enqueue blocks while full', async () => {
    const q = rsq(3, 1);
    await q.enqueueMany([1, 2, 3]);
    const e = track(q.enqueue(4));
    await tick();
    expect(e.status).toBe('pending');
    await q.dequeue();
    await tick();
    expect(e.status).toBe('fulfilled');
    expect(q.size()).toBe(3);
  });
});

describe('RandomShuffleQueue: randomness', () => {
  it('gives the same order for the same seed and operation sequence', async () => {
    const a = await shuffledOrder(123);
    const b = await shuffledOrder(123);
    expect(a).toEqual(b);
    expect(sorted(a)).toEqual(range(0, 200));
    expect(a).not.toEqual(range(0, 200));
  });

  it('gives different orders for different seeds', async () => {
    const orders = await Promise.all([1, 2, 3, 123, 124].map((s) => shuffledOrder(s)));
    const keys = new Set(orders.map((o) => o.join(',')));
    expect(keys.size).toBe(orders.length);
    for (const o of orders) expect(sorted(o)).toEqual(range(0, 200));
  });

  it('a closed queue of 10 puts element 0 at each output position uniformly (20k seeds)', async () => {
    const trials = 20_000;
    const counts = new Array(10).fill(0);
    for (let seed = 0; seed < trials; seed++) {
      const q = rsq(10, 0, seed);
      await q.enqueueMany(range(0, 10));
      await q.close();
      const out = await q.dequeueMany(10);
      counts[out.indexOf(0)]++;
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(trials);
    // chi-square critical value for 9 degrees of freedom at p = 1e-6
    expect(chiSquare(counts)).toBeLessThan(44.81);
    for (const c of counts) expect(Math.abs(c - trials / 10)).toBeLessThan(0.3 * (trials / 10));
  });

  it('while open, chooses uniformly among all queued elements (not only the newest or oldest)', async () => {
    // capacity 5, minAfterDequeue 2: with 0, 1, 2 queued exactly one may leave; each must be equally likely.
    const trials = 15_000;
    const counts = [0, 0, 0];
    for (let seed = 0; seed < trials; seed++) {
      const q = rsq(5, 2, seed);
      await q.enqueueMany([0, 1, 2]);
      counts[await q.dequeue()]++;
    }
    // chi-square critical value for 2 degrees of freedom at p = 1e-6 is 2 ln(1e6) = 27.63
    expect(chiSquare(counts)).toBeLessThan(27.63);
  });

  it('sets seed to the given value, or to a random integer when omitted', () => {
    expect(new RandomShuffleQueue<number>({ capacity: 4, seed: 42 }).seed).toBe(42);
    expect(new RandomShuffleQueue<number>({ capacity: 4, seed: 0 }).seed).toBe(0);
    const seeds = Array.from({ length: 4 }, () => new RandomShuffleQueue<number>({ capacity: 4 }).seed);
    for (const s of seeds) {
      expect(Number.isInteger(s)).toBe(true);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(2 ** 32);
    }
    expect(new Set(seeds).size).toBeGreaterThan(1);
  });

  it('reproduces the order of an unseeded queue from its reported seed', async () => {
    const run = async (q: RandomShuffleQueue<number>) => {
      await q.enqueueMany(range(0, 30));
      await q.close();
      return q.dequeueMany(30);
    };
    const first = new RandomShuffleQueue<number>({ capacity: 30 });
    const again = new RandomShuffleQueue<number>({ capacity: 30, seed: first.seed });
    expect(await run(again)).toEqual(await run(first));
  });
});

describe('RandomShuffleQueue: options and stats', () => {
  it.each([
    [10, 10],
    [10, 11],
    [1, 1],
  ])(
    'capacity %i with minAfterDequeue %i throws InvalidArgumentError naming minAfterDequeue',
    (capacity, m) => {
      const err = thrown(() => new RandomShuffleQueue<number>({ capacity, minAfterDequeue: m }));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).parameter).toBe('minAfterDequeue');
      expect((err as Error).message).toMatch(
        new RegExp(`Expected .+ for minAfterDequeue but received ${m}$`),
      );
    },
  );

  it.each([-1, 1.5, Number.NaN])('rejects minAfterDequeue %s', (m) => {
    const err = thrown(() => new RandomShuffleQueue<number>({ capacity: 10, minAfterDequeue: m }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).parameter).toBe('minAfterDequeue');
  });

  it.each([-1, 1.5, Number.NaN])('rejects seed %s', (seed) => {
    const err = thrown(() => new RandomShuffleQueue<number>({ capacity: 10, seed }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).parameter).toBe('seed');
  });

  it.each([0, 1.5, undefined])('rejects capacity %s', (capacity) => {
    const err = thrown(() => new RandomShuffleQueue<number>({ capacity: capacity as number }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(/Expected .+ for capacity but received /);
  });

  it('defaults minAfterDequeue to 0', async () => {
    const q = new RandomShuffleQueue<number>({ capacity: 2, seed: 1 });
    expect(q.minAfterDequeue).toBe(0);
    await q.enqueue(5);
    expect(await q.dequeue()).toBe(5);
  });

  it('fractionFull is max(0, size - m) / (capacity - m)', async () => {
    const q = rsq(10, 4, 1, 'sq');
    const fraction = () => q.stats().fractionFull;
    expect(fraction()).toBe(0);
    await q.enqueueMany([0, 1]);
    expect(fraction()).toBe(0);
    await q.enqueueMany([2, 3]);
    expect(fraction()).toBe(0);
    await q.enqueueMany([4, 5, 6]);
    expect(q.stats()).toMatchObject({ name: 'sq', size: 7, capacity: 10, fractionFull: 0.5, elementsIn: 7 });
    await q.enqueueMany([7, 8, 9]);
    expect(fraction()).toBe(1);
    await q.dequeueMany(3);
    expect(q.stats()).toMatchObject({ size: 7, fractionFull: 0.5, elementsIn: 10, elementsOut: 3 });
  });

  it('cancel() rejects a waiting dequeue with CancelledError', async () => {
    const q = rsq(4, 2);
    const d = track(q.dequeue());
    q.cancel();
    await tick();
    expect(d.reason).toBeInstanceOf(CancelledError);
  });
});

type Op =
  | { t: 'enqueue' }
  | { t: 'enqueueMany'; k: number }
  | { t: 'dequeue' }
  | { t: 'dequeueMany'; n: number }
  | { t: 'dequeueUpTo'; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ t: 'enqueue' as const }),
  fc.record({ t: fc.constant('enqueueMany' as const), k: fc.nat(6) }),
  fc.constant({ t: 'dequeue' as const }),
  fc.record({ t: fc.constant('dequeueMany' as const), n: fc.nat(6) }),
  fc.record({ t: fc.constant('dequeueUpTo' as const), n: fc.nat(6) }),
);

describe('RandomShuffleQueue: property test', () => {
  it('holds back minAfterDequeue while open, never overfills, and delivers every element once', async () => {
    const setup = fc
      .integer({ min: 1, max: 6 })
      .chain((cap) => fc.tuple(fc.constant(cap), fc.integer({ min: 0, max: cap - 1 })));
    await fc.assert(
      fc.asyncProperty(
        setup,
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(opArb, { maxLength: 30 }),
        async ([cap, m], seed, ops) => {
          const q = rsq(cap, m, seed);
          const dequeues: Tracked<number | number[]>[] = [];
          let next = 0;
          const check = async () => {
            await tick();
            const s = q.stats();
            expect(q.size()).toBeLessThanOrEqual(cap);
            expect(s.elementsIn - s.elementsOut).toBe(q.size());
            expect(s.elementsOut).toBeLessThanOrEqual(Math.max(0, s.elementsIn - m));
            // The queue never sits above minAfterDequeue while a dequeue waits.
            if (dequeues.some((d) => d.status === 'pending')) expect(q.size()).toBeLessThanOrEqual(m);
            for (const d of dequeues) expect(d.status).not.toBe('rejected');
          };
          for (const op of ops) {
            switch (op.t) {
              case 'enqueue':
                track(q.enqueue(next++));
                break;
              case 'enqueueMany':
                track(q.enqueueMany(Array.from({ length: op.k }, () => next++)));
                break;
              case 'dequeue':
                dequeues.push(track(q.dequeue()));
                break;
              case 'dequeueMany':
                dequeues.push(track(q.dequeueMany(op.n)));
                break;
              case 'dequeueUpTo':
                dequeues.push(track(q.dequeueUpTo(op.n)));
                break;
            }
            await check();
          }
          const closing = track(q.close());
          const drains: Tracked<number[]>[] = [];
          for (let i = 0; i < 100 && (q.size() > 0 || closing.status === 'pending'); i++) {
            drains.push(track(q.dequeueUpTo(cap)));
            await tick();
          }
          await tick();
          expect(closing.status).toBe('fulfilled');
          expect(q.size()).toBe(0);
          const delivered = [...dequeues, ...drains]
            .filter((d) => d.status === 'fulfilled')
            .flatMap((d) => (Array.isArray(d.value) ? d.value : [d.value as number]));
          expect(sorted(delivered)).toEqual(range(0, next));
          expect(await rejection(q.dequeueUpTo(1))).toBeInstanceOf(OutOfRangeError);
        },
      ),
      { numRuns: 150 },
    );
  });
});
