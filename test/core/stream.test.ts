import {
  bufferCount,
  concatMap,
  delay,
  filter,
  firstValueFrom,
  from,
  lastValueFrom,
  map,
  mergeMap,
  of,
  take,
  toArray,
} from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, Stream } from '../../src/index.js';

/** A source that counts how many elements were pulled from it. */
function counted(n = Number.POSITIVE_INFINITY) {
  const state = { pulled: 0, returned: false };
  const stream = Stream.from(
    {
      async *[Symbol.asyncIterator]() {
        try {
          for (let i = 0; i < n; i++) {
            state.pulled++;
            yield i;
          }
        } finally {
          state.returned = true;
        }
      },
    },
    'counted',
  );
  return { stream, state };
}

describe('Stream', () => {
  it('is both an AsyncIterable and an Observable', async () => {
    const s = Stream.from([1, 2, 3]);
    expect(await s.toArray()).toEqual([1, 2, 3]);
    expect(await lastValueFrom(s.pipe(toArray()))).toEqual([1, 2, 3]);
    const seen: number[] = [];
    await new Promise<void>((resolve, reject) =>
      s.subscribe({ next: (x) => seen.push(x), complete: resolve, error: reject }),
    );
    expect(seen).toEqual([1, 2, 3]);
  });

  it('is cold: every iteration is an independent run', async () => {
    const s = Stream.from([1, 2]);
    expect(await s.toArray()).toEqual([1, 2]);
    expect(await s.toArray()).toEqual([1, 2]);
  });

  it('rejects what is not iterable', () => {
    expect(() => Stream.from(42 as never)).toThrow(InvalidArgumentError);
    expect(() => Stream.from(42 as never)).toThrow(
      /Expected a Stream, an AsyncIterable or an Iterable for source but received 42/,
    );
  });

  it('pipe returns a Stream and pulls only what the consumer asks for (sync operators)', async () => {
    const { stream, state } = counted();
    const piped = stream.pipe(
      map((x) => x * 2),
      filter((x) => x % 4 === 0),
    );
    expect(piped).toBeInstanceOf(Stream);
    const it = piped[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    expect((await it.next()).value).toBe(4);
    // 0,1,2 pulled: 1 was filtered out; nothing beyond what was needed.
    expect(state.pulled).toBe(3);
    await it.return?.();
    expect(state.returned).toBe(true);
  });

  it('take() completes the stream and returns the upstream (laziness over an infinite source)', async () => {
    const { stream, state } = counted();
    expect(await stream.pipe(take(3)).toArray()).toEqual([0, 1, 2]);
    expect(state.returned).toBe(true);
    expect(state.pulled).toBeLessThanOrEqual(4);
  });

  it('bounds asynchronous operators by the credit window', async () => {
    const { stream, state } = counted(1000);
    const piped = stream.through<number>(
      { window: 4 },
      mergeMap((x: number) => of(x).pipe(delay(1)), 100),
    );
    const it = piped[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    // While waiting for the first output at most `window` elements were pushed, plus back-off credits.
    expect(state.pulled).toBeLessThanOrEqual(8);
    await it.return?.();
  });

  it('delivers every element through asynchronous operators, in order for concatMap', async () => {
    const { stream } = counted(50);
    const out = await stream.pipe(concatMap((x) => of(x).pipe(delay(0)))).toArray();
    expect(out).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('makes progress through a run of filtered elements before any output (window back-off)', async () => {
    const { stream } = counted(10);
    const t0 = performance.now();
    const out = await stream
      .through<number>(
        { window: 4 },
        filter((x: number) => x === 9),
      )
      .toArray();
    expect(out).toEqual([9]);
    // Six grants after the window: 1 + 2 + 4 + 8 + 16 + 32 ms of waiting.
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('stateful operators see the whole stream', async () => {
    const out = await Stream.from([1, 2, 3, 4, 5]).pipe(bufferCount(2)).toArray();
    expect(out).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('propagates operator errors and upstream errors', async () => {
    const bad = Stream.from([1, 2]).pipe(
      map((x) => {
        if (x === 2) throw new Error('boom at 2');
        return x;
      }),
    );
    await expect(bad.toArray()).rejects.toThrow('boom at 2');
    const failing = Stream.from({
      // biome-ignore lint/correctness/useYield: a source that fails before yielding
      async *[Symbol.asyncIterator]() {
        throw new Error('source failed');
      },
    });
    await expect(failing.pipe(map((x) => x)).toArray()).rejects.toThrow('source failed');
    await expect(firstValueFrom(failing)).rejects.toThrow('source failed');
  });

  it('unsubscribing returns the iterator', async () => {
    const { stream, state } = counted();
    const got = await firstValueFrom(stream.pipe(take(2), toArray()));
    expect(got).toEqual([0, 1]);
    await new Promise((r) => setImmediate(r));
    expect(state.returned).toBe(true);
  });

  it('works as an input to RxJS creation functions', async () => {
    const out = await lastValueFrom(from(Stream.from([3, 4])).pipe(toArray()));
    expect(out).toEqual([3, 4]);
  });

  it('rejects a bad window', () => {
    expect(() =>
      Stream.from([1]).through(
        { window: 0 },
        map((x) => x),
      ),
    ).toThrow(/Expected a positive integer for window but received 0/);
  });

  it('reports per-stage stats for the pipeline, sources first', async () => {
    const s = Stream.from([1, 2, 3], 'numbers').pipe(map((x) => x + 1));
    await s.toArray();
    const stats = s.stats();
    expect(stats.map((x) => x.name)).toEqual(['numbers', 'pipe']);
    expect(stats[0].elementsOut).toBe(3);
    expect(stats[1].elementsIn).toBe(3);
    expect(stats[1].elementsOut).toBe(3);
    expect(stats[1].done).toBe(true);
  });
});

describe('Stream.pipe with selective synchronous filters', () => {
  it('never stalls once the chain has proved synchronous', async () => {
    const { stream, state } = counted(20_000);
    const t0 = performance.now();
    const out = await stream
      .through<number>(
        { window: 2 },
        filter((x: number) => x === 0 || x === 19_999),
      )
      .toArray();
    expect(out).toEqual([0, 19_999]);
    expect(state.pulled).toBe(20_000);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('Stream.pipe credit window with asynchronous operators', () => {
  it('never has more than the window in flight, even with a fast consumer', async () => {
    const { stream, state } = counted(400);
    let outputs = 0;
    let maxInFlight = 0;
    const piped = stream.through<number>(
      { window: 4 },
      mergeMap((x: number) => of(x).pipe(delay(2))),
    );
    for await (const _ of piped) {
      outputs++;
      maxInFlight = Math.max(maxInFlight, state.pulled - outputs);
    }
    expect(outputs).toBe(400);
    // The window, plus back-off credits granted while nothing came out (at most a few per 2 ms wait).
    expect(maxInFlight).toBeLessThanOrEqual(8);
  });
});

describe('Stream.from errors name the calling stage and parameter', () => {
  it('for a stage given something that is not a stream', () => {
    expect(() =>
      Stream.from(5 as never, 'filenames', { stage: 'fixedLengthRecordReader', parameter: 'filenames' }),
    ).toThrow(
      /^fixedLengthRecordReader: Expected a Stream, an AsyncIterable or an Iterable for filenames but received 5$/,
    );
  });
});
