import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EagerShuffleQueue } from '../../src/batch/eager-shuffle-queue.js';
import { ShuffleReplay } from '../../src/resume/shuffle-position.js';

/** The real queue's output order over the items 0..total-1 (enqueue all, close, drain). */
async function queueOrder(total: number, m: number, seed: number): Promise<number[]> {
  const q = new EagerShuffleQueue<number>(total + m + 1, m, seed);
  for (let i = 0; i < total; i++) await q.enqueue(i);
  q.close();
  return q.dequeueMany(total);
}

describe('ShuffleReplay', () => {
  it('its pool after k picks continues into exactly the queue’s remaining output', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 50 }),
        fc.nat(),
        fc.nat({ max: 250 }),
        async (total, m, seed, k0) => {
          const order = await queueOrder(total, m, seed);
          const k = Math.min(k0, total);
          const at = new ShuffleReplay({ minAfterDequeue: m, seed, name: 'shuffle_batch', total }).advanceTo(
            k,
          );
          expect(at.picks).toBe(k);
          // A queue started from that pool, fed from nextIndex on, gives the rest of the order.
          const q = new EagerShuffleQueue<number>(total + m + 1, m, seed, 'shuffle_batch', 'test', {
            items: at.pool,
            rngDrawn: at.rngDrawn,
          });
          for (let i = at.nextIndex; i < total; i++) await q.enqueue(i);
          q.close();
          if (k < total) expect(await q.dequeueUpTo(total)).toEqual(order.slice(k));
          else expect(q.size()).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('advances incrementally to the same state as in one go', () => {
    const o = { minAfterDequeue: 20, seed: 5, name: 'shuffle_batch' };
    const step = new ShuffleReplay(o);
    for (let k = 0; k <= 300; k += 7) step.advanceTo(k);
    expect(step.advanceTo(301)).toEqual(new ShuffleReplay(o).advanceTo(301));
  });

  it('stops at the end of a finite input', () => {
    const s = new ShuffleReplay({ minAfterDequeue: 3, seed: 1, name: 'shuffle_batch', total: 10 }).advanceTo(
      50,
    );
    expect(s).toMatchObject({ picks: 10, nextIndex: 10, pool: [] });
  });

  it('refuses a starting pool larger than minAfterDequeue', () => {
    expect(
      () => new EagerShuffleQueue<number>(10, 2, 1, 'q', 'test', { items: [1, 2, 3], rngDrawn: 0 }),
    ).toThrow(/initial\.items/);
  });
});
