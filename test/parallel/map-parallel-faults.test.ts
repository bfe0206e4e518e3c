import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  InvalidArgumentError,
  NotFoundError,
  TooManyErrorsError,
} from '../../src/core/errors.js';
import type { Stream } from '../../src/core/stream.js';
import { errorInfo, reviveError } from '../../src/parallel/error-info.js';
import {
  MapError,
  type MapParallelOptions,
  MapTimeoutError,
  mapParallel,
  WorkerDiedError,
} from '../../src/parallel/map-parallel.js';
import { leaked, resourceCounts, settle } from '../helpers/resources.js';
import type { Item } from './fault-fns.js';

/**
 * mapParallel under faults of the per-example function (issue 6): throws, process.exit, out of
 * memory, hangs, unsendable results; the error policy (raise / skip / warn, maxErrors) on the worker
 * pool and inline; and nothing left behind afterwards.
 */

const fns = new URL('./fault-fns.ts', import.meta.url);
const sync = { module: fns, export: 'faulty' };
const async = { module: fns, export: 'faultyAsync' };

/** n elements k0..k{n-1}; `faults` maps an index to its fault. */
function items(n: number, faults: Record<number, Item['fault']> = {}): Item[] {
  return Array.from({ length: n }, (_, v) => ({
    key: `k${v}`,
    v,
    ...(faults[v] ? { fault: faults[v] } : {}),
  }));
}

/** The doubled values of the elements that do not fail, in order. */
const survivors = (input: Item[]) => input.filter((x) => !x.fault).map((x) => 2 * x.v);

async function collect(stream: Stream<unknown>): Promise<{ values: number[]; error: unknown }> {
  const values: number[] = [];
  try {
    for await (const x of stream) values.push((x as { v: number }).v);
    return { values, error: undefined };
  } catch (error) {
    return { values, error };
  }
}

/** The one stage line of a mapParallel report, checked for read = yielded + skipped. */
function stageReport(stream: Stream<unknown>) {
  const [stage, ...others] = stream.report().stages;
  expect(others).toEqual([]);
  expect(stage.read).toBe(stage.yielded + stage.skipped);
  return stage;
}

describe('mapParallel error policy on function errors', () => {
  it('skip drops failing elements, keeps the order of the others and counts them by the class thrown', async () => {
    const input = items(14, { 2: 'decode', 5: 'range', 9: 'decode' });
    const runs: [string, MapParallelOptions][] = [
      ['inline', { numThreads: 0 }],
      ['2 workers', { numThreads: 2 }],
      ['chunks of 4, unordered', { numThreads: 2, chunkSize: 4, deterministic: false }],
    ];
    for (const [what, options] of runs) {
      const stream = mapParallel(input, sync, { ...options, onError: 'skip' });
      const { values, error } = await collect(stream);
      expect(error, what).toBeUndefined();
      if (options.deterministic === false) values.sort((a, b) => a - b);
      expect(values, what).toEqual(survivors(input));
      expect(stageReport(stream), what).toEqual({
        stage: 'map_parallel',
        read: 14,
        yielded: 11,
        skipped: 3,
        skippedByReason: {
          DecodeError: { count: 2, firstKeys: ['k2', 'k9'] },
          MapError: { count: 1, firstKeys: ['k5'] },
        },
      });
    }
  });

  it('warn skips a rejected promise too, one line per element naming its key, synchronously', async () => {
    const lines: string[] = [];
    const input = items(6, { 1: 'range', 4: 'decode' });
    for (const numThreads of [0, 1]) {
      lines.length = 0;
      const stream = mapParallel(input, async, { numThreads, onError: 'warn', warn: (l) => lines.push(l) });
      const { values, error } = await collect(stream);
      expect(error).toBeUndefined();
      expect(values).toEqual(survivors(input));
      expect(lines).toEqual([
        'mapParallel: skipped k1: mapParallel: the function failed on element "k1": RangeError: no 1',
        'mapParallel: skipped k4: decode: cannot decode "k4"',
      ]);
      expect(stageReport(stream).skipped).toBe(2);
    }
  });

  it('raise (default) ends with a MapError naming the key, the thrown error revived as its cause', async () => {
    for (const numThreads of [0, 2]) {
      const stream = mapParallel(items(8, { 3: 'decode' }), async, { numThreads });
      const { values, error } = await collect(stream);
      expect(values).toEqual([0, 2, 4]);
      expect(error).toBeInstanceOf(MapError);
      expect(error).toMatchObject({ key: 'k3', stage: 'mapParallel' });
      expect((error as Error).message).toBe(
        'mapParallel: the function failed on element "k3": DecodeError: decode: cannot decode "k3"',
      );
      const cause = (error as Error).cause;
      expect(cause).toBeInstanceOf(DecodeError);
      expect(cause).toMatchObject({ key: 'k3', parameter: 'bytes' });
      // Under raise only yielded elements count as read.
      expect(stageReport(stream)).toMatchObject({ read: 3, yielded: 3, skipped: 0 });
    }
  });

  it('past maxErrors even skip raises TooManyErrorsError, after the elements before it', async () => {
    const input = items(12, { 1: 'decode', 4: 'range', 7: 'decode', 10: 'decode' });
    for (const options of [{ numThreads: 0 }, { numThreads: 2, chunkSize: 3 }]) {
      const stream = mapParallel(input, sync, { ...options, onError: 'skip', maxErrors: 2 });
      const { values, error } = await collect(stream);
      expect(values).toEqual([0, 4, 6, 10, 12]);
      expect(error).toBeInstanceOf(TooManyErrorsError);
      expect(error).toMatchObject({ key: 'k7', stage: 'mapParallel', parameter: 'maxErrors' });
      expect((error as Error).message).toMatch(/at most maxErrors = 2 .* but 3 failed; the last: .*"k7"/);
      expect((error as Error).cause).toBeInstanceOf(DecodeError);
      expect(stageReport(stream)).toMatchObject({ read: 8, yielded: 5, skipped: 3 });
    }
  });

  it('a result that cannot cross threads fails only its own element of the chunk', async () => {
    const input = items(8, { 5: 'unsendable' });
    const stream = mapParallel(input, sync, { numThreads: 1, chunkSize: 4, onError: 'skip' });
    const { values, error } = await collect(stream);
    expect(error).toBeUndefined();
    expect(values).toEqual(survivors(input));
    expect(stageReport(stream).skippedByReason).toEqual({ MapError: { count: 1, firstKeys: ['k5'] } });
  });

  it('a function that cannot be loaded raises at once, whatever the policy', async () => {
    const stream = mapParallel(
      items(4),
      { module: fns, export: 'missing' },
      { numThreads: 1, onError: 'skip' },
    );
    const { values, error } = await collect(stream);
    expect(values).toEqual([]);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ parameter: 'fn', stage: 'mapParallel' });
    expect((error as Error).message).toMatch(
      /^mapParallel: the workers cannot load the function \(file:.*fault-fns\.ts, export missing\): .*Expected a function export missing/,
    );
  });

  it('a worker that exits while loading the function raises at once instead of being replaced', async () => {
    const fn = { module: new URL('./exit-on-import.ts', import.meta.url), export: 'never' };
    const { values, error } = await collect(mapParallel(items(4), fn, { numThreads: 2, onError: 'skip' }));
    expect(values).toEqual([]);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(
      /^mapParallel: a worker stopped before it could load the function \(file:.*exit-on-import\.ts, export never\): worker exited with code 7$/,
    );
  });

  it.each([
    [{ timeoutMs: 0 }, /Expected a positive integer for timeoutMs but received 0/],
    [{ maxWorkerHeapMB: 2 }, /Expected an integer >= 8 for maxWorkerHeapMB but received 2/],
    [{ onError: 'ignore' }, /for onError but received "ignore"/],
    [{ maxErrors: -1 }, /for maxErrors but received -1/],
  ])('rejects options %j', (options, message) => {
    expect(() => mapParallel(items(1), sync, options as never)).toThrow(message);
  });
});

describe('mapParallel worker faults', () => {
  it('process.exit in the worker: replaced, retried once, then raised as WorkerDiedError by key', async () => {
    const raised = await collect(mapParallel(items(7, { 4: 'exit' }), sync, { numThreads: 1 }));
    expect(raised.values).toEqual([0, 2, 4, 6]);
    expect(raised.error).toBeInstanceOf(WorkerDiedError);
    expect(raised.error).toBeInstanceOf(MapError);
    expect(raised.error).toMatchObject({ key: 'k4', stage: 'mapParallel' });
    expect((raised.error as Error).message).toBe(
      'mapParallel: a worker died twice while processing element "k4": worker exited with code 3',
    );
  });

  it('a worker out of memory dies alone (ERR_WORKER_OUT_OF_MEMORY); the stream goes on under warn', async () => {
    const lines: string[] = [];
    const input = items(5, { 2: 'oom' });
    const stream = mapParallel(input, sync, {
      numThreads: 1,
      maxWorkerHeapMB: 64,
      onError: 'warn',
      warn: (l) => lines.push(l),
    });
    const { values, error } = await collect(stream);
    expect(error).toBeUndefined();
    expect(values).toEqual(survivors(input));
    expect(lines).toEqual([
      expect.stringMatching(
        /^mapParallel: skipped k2: .*died twice while processing element "k2": ERR_WORKER_OUT_OF_MEMORY: .*memory limit/,
      ),
    ]);
    expect(stageReport(stream).skippedByReason).toEqual({ WorkerDiedError: { count: 1, firstKeys: ['k2'] } });
  });

  it('a hanging element is stopped by timeoutMs: the worker is replaced, the element reported by key', async () => {
    // The chunk [k2, k3] times out (2 x 300 ms), its elements are retried alone, and k3 times out.
    const input = items(6, { 3: 'hang' });
    const raised = await collect(mapParallel(input, sync, { numThreads: 1, chunkSize: 2, timeoutMs: 300 }));
    expect(raised.values).toEqual([0, 2, 4]);
    expect(raised.error).toBeInstanceOf(MapTimeoutError);
    expect(raised.error).toMatchObject({ key: 'k3', parameter: 'timeoutMs' });
    expect((raised.error as Error).message).toBe(
      'mapParallel: element "k3" ran longer than timeoutMs (300 ms); its worker was terminated and replaced',
    );
  });

  it('inline, an asynchronous call past timeoutMs is abandoned and skipped', async () => {
    const input = items(4, { 1: 'hang-async' });
    const stream = mapParallel(input, async, { numThreads: 0, timeoutMs: 100, onError: 'skip' });
    const { values, error } = await collect(stream);
    expect(error).toBeUndefined();
    expect(values).toEqual(survivors(input));
    expect(stageReport(stream).skippedByReason).toEqual({ MapTimeoutError: { count: 1, firstKeys: ['k1'] } });
  });

  it('skip goes on past a worker that exits and one that hangs, and leaves no workers, timers or handles', async () => {
    await settle();
    const before = resourceCounts();
    const input = items(8, { 2: 'exit', 4: 'hang', 6: 'decode' });
    const stream = mapParallel(input, sync, { numThreads: 2, timeoutMs: 300, onError: 'skip' });
    const run = await collect(stream);
    expect(run.values).toEqual(survivors(input));
    expect(stageReport(stream).skippedByReason).toEqual({
      DecodeError: { count: 1, firstKeys: ['k6'] },
      MapTimeoutError: { count: 1, firstKeys: ['k4'] },
      WorkerDiedError: { count: 1, firstKeys: ['k2'] },
    });
    await settle();
    await new Promise((r) => setTimeout(r, 50));
    expect(leaked(before, resourceCounts())).toEqual({});
  });

  it('a process whose workers died, hung and ran out of memory exits on its own', () => {
    const child = fileURLToPath(new URL('./fault-child.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', child], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      values: [0, 8],
      warnings: [
        expect.stringMatching(/^mapParallel: skipped k1: .* "k1": worker exited with code 3$/),
        expect.stringMatching(/^mapParallel: skipped k2: .* "k2" ran longer than timeoutMs \(1000 ms\)/),
        expect.stringMatching(/^mapParallel: skipped k3: .* "k3": ERR_WORKER_OUT_OF_MEMORY: /),
      ],
      skippedByReason: {
        MapTimeoutError: { count: 1, firstKeys: ['k2'] },
        WorkerDiedError: { count: 2, firstKeys: ['k1', 'k3'] },
      },
    });
  });
});

describe('mapParallel: elements that cannot be sent, bad options, error classes, counting', () => {
  /** Elements `bad` hold a function: they cannot be cloned to a worker (DataCloneError). */
  const withUncloneable = (n: number, bad: number[]) =>
    items(n).map((x) => (bad.includes(x.v) ? ({ ...x, f: () => x.v } as Item) : x));

  it('an element that cannot be sent to a worker is skipped by key under skip, whole chunks or not', async () => {
    const input = withUncloneable(9, [2, 5]);
    for (const options of [{ numThreads: 1 }, { numThreads: 2, chunkSize: 3 }]) {
      const stream = mapParallel(input, sync, { ...options, onError: 'skip' });
      const { values, error } = await collect(stream);
      expect(error).toBeUndefined();
      expect(values).toEqual([0, 1, 3, 4, 6, 7, 8].map((v) => 2 * v));
      expect(stageReport(stream)).toMatchObject({
        read: 9,
        yielded: 7,
        skippedByReason: { MapError: { count: 2, firstKeys: ['k2', 'k5'] } },
      });
    }
  });

  it('under raise it ends the stream with a MapError naming it, after the elements before it', async () => {
    for (const options of [{ numThreads: 1 }, { numThreads: 2, chunkSize: 4 }]) {
      const stream = mapParallel(withUncloneable(8, [2]), sync, options);
      const { values, error } = await collect(stream);
      expect(values).toEqual([0, 2]);
      expect(error).toBeInstanceOf(MapError);
      expect(error).toMatchObject({ key: 'k2', stage: 'mapParallel', parameter: 'source' });
      expect((error as Error).message).toMatch(
        /^mapParallel: element "k2" cannot be sent to a worker: DataCloneError: .*could not be cloned/,
      );
      expect((error as Error).cause).toMatchObject({ name: 'DataCloneError' });
      expect(stageReport(stream)).toMatchObject({ read: 2, yielded: 2, skipped: 0 });
    }
  });

  it('return() racing a next() that is tearing down resolves only once the teardown is complete', async () => {
    const threads = () => readdirSync('/proc/self/task').length;
    await settle();
    const base = threads();
    // An endless source whose closing takes a while: the teardown is still under way when return() comes.
    let closed = false;
    let n = 0;
    const source: AsyncIterable<Item> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ value: items(n + 1, { 0: 'range' })[n++], done: false }),
        return: async () => {
          await new Promise((r) => setTimeout(r, 200));
          closed = true;
          return { value: undefined, done: true };
        },
      }),
    };
    const stream = mapParallel(source, sync, { numThreads: 2 });
    const it = stream[Symbol.asyncIterator]();
    const pending = it.next().then(
      () => 'yielded',
      (e: unknown) => e,
    );
    // next() got the failure of k0 (raise) and is tearing down; the consumer gives up now.
    while (!stream.stageStats().done) await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    await it.return?.();
    expect(closed).toBe(true);
    expect(threads()).toBe(base);
    expect(await pending).toBeInstanceOf(MapError);
  });

  it('a DecodeError subclass thrown in a worker keeps its name and context, as inline', async () => {
    for (const numThreads of [0, 1]) {
      const skipped = mapParallel(items(3, { 1: 'subclass' }), sync, { numThreads, onError: 'skip' });
      expect((await collect(skipped)).values).toEqual([0, 4]);
      expect(stageReport(skipped).skippedByReason).toEqual({
        CorruptLabelError: { count: 1, firstKeys: ['k1'] },
      });

      const { error } = await collect(mapParallel(items(3, { 1: 'subclass' }), sync, { numThreads }));
      expect(error).toBeInstanceOf(MapError);
      expect((error as Error).message).toBe(
        'mapParallel: the function failed on element "k1": CorruptLabelError: label out of range in k1',
      );
      const cause = (error as Error).cause;
      // Inline it is the user's class itself; from a worker, the nearest class known here.
      expect(cause).toBeInstanceOf(DecodeError);
      expect(cause).toMatchObject({
        name: 'CorruptLabelError',
        message: 'label out of range in k1',
        file: 'labels.bin',
        offset: 8,
        key: 'k1',
        parameter: 'numClasses',
        stage: 'readLabels',
      });
    }
  });

  it('a bad option passed by the function raises whatever the policy, naming the element', async () => {
    const lines: string[] = [];
    const runs: MapParallelOptions[] = [
      { numThreads: 0, onError: 'skip' },
      { numThreads: 1, onError: 'skip' },
      { numThreads: 2, chunkSize: 3, onError: 'warn', warn: (l) => lines.push(l) },
    ];
    for (const options of runs) {
      lines.length = 0;
      const stream = mapParallel(items(8, { 1: 'decode', 4: 'bad-option' }), sync, options);
      const { values, error } = await collect(stream);
      expect(values).toEqual([0, 4, 6]);
      // What `raise` gives: the MapError with the key, the InvalidArgumentError as its cause.
      expect(error).toBeInstanceOf(MapError);
      expect(error).toMatchObject({ key: 'k4', stage: 'mapParallel' });
      expect((error as Error).message).toBe(
        'mapParallel: the function failed on element "k4": InvalidArgumentError: resize: Expected a positive integer for size but received -1',
      );
      expect((error as Error).cause).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).cause).toMatchObject({ parameter: 'size', stage: 'resize' });
      // The element that raised is neither read nor skipped: read = yielded + skipped.
      expect(stageReport(stream)).toMatchObject({ read: 4, yielded: 3, skipped: 1 });
      expect(lines.length).toBe(options.onError === 'warn' ? 1 : 0);
    }
  });

  it('inline, a function that cannot be loaded raises the InvalidArgumentError the workers raise', async () => {
    const missingModule = { module: new URL('./no-such-module.ts', import.meta.url) };
    for (const numThreads of [0, 1]) {
      // The source is closed although none of its elements may have been asked for.
      let closed = false;
      const source: AsyncIterable<Item> = {
        [Symbol.asyncIterator]: () => ({
          next: async () => ({ value: items(1)[0], done: false }),
          return: async () => {
            closed = true;
            return { value: undefined, done: true };
          },
        }),
      };
      const { values, error } = await collect(
        mapParallel(source, missingModule, { numThreads, onError: 'skip' }),
      );
      expect(values).toEqual([]);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({
        parameter: 'fn',
        stage: 'mapParallel',
        cause: { code: 'ERR_MODULE_NOT_FOUND' },
      });
      expect((error as Error).message).toMatch(
        /^mapParallel: (the function cannot be loaded|the workers cannot load the function) \(file:.*no-such-module\.ts, export default\): ERR_MODULE_NOT_FOUND: /,
      );
      expect(closed).toBe(true);
    }
    const { error } = await collect(
      mapParallel(items(2), { module: fns, export: 'missing' }, { numThreads: 0 }),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(
      /^mapParallel: the function cannot be loaded \(file:.*fault-fns\.ts, export missing\): mapParallel: Expected a function export missing in /,
    );
  });

  it('under raise the stage is reported with read = yielded for the elements before the error', async () => {
    const runs: MapParallelOptions[] = [
      { numThreads: 0 },
      { numThreads: 2, chunkSize: 3 },
      { numThreads: 2, chunkSize: 2, deterministic: false },
    ];
    for (const options of runs) {
      const stream = mapParallel(items(10, { 6: 'decode' }), sync, options);
      const { values, error } = await collect(stream);
      expect(error).toBeInstanceOf(MapError);
      if (options.deterministic !== false) expect(values).toEqual([0, 2, 4, 6, 8, 10]);
      expect(values.length).toBeGreaterThan(0);
      expect(stream.report()).toEqual({
        stages: [
          {
            stage: 'map_parallel',
            read: values.length,
            yielded: values.length,
            skipped: 0,
            skippedByReason: {},
          },
        ],
        skipped: 0,
      });
    }
  });
});

describe('errorInfo / reviveError (errors crossing threads)', () => {
  const roundTrip = (e: unknown) => reviveError(structuredClone(errorInfo(e)));

  it('revives the mapParallel errors and built-in classes as themselves, with key, code and causes', () => {
    for (const Class of [MapError, WorkerDiedError, MapTimeoutError]) {
      const e = roundTrip(new Class('m', { key: 'k9', stage: 'mapParallel', cause: new RangeError('r') }));
      expect(e).toBeInstanceOf(Class);
      expect(e).toMatchObject({ name: Class.name, message: 'm', key: 'k9', stage: 'mapParallel' });
      expect(e.cause).toBeInstanceOf(RangeError);
      expect(e.cause).toMatchObject({ message: 'r' });
    }
    const t = roundTrip(Object.assign(new TypeError('no'), { code: 'ERR_X' }));
    expect(t).toBeInstanceOf(TypeError);
    expect(t).toMatchObject({ name: 'TypeError', message: 'no', code: 'ERR_X' });
  });

  it('a foreign class named like one of ours is not taken for it; odd thrown values never throw', () => {
    const dom = roundTrip(new DOMException('gone', 'NotFoundError'));
    expect(dom).not.toBeInstanceOf(NotFoundError);
    expect(dom).toMatchObject({ name: 'NotFoundError', message: 'gone' });
    expect(roundTrip(Object.create(null))).toMatchObject({ name: 'Error', message: '[object Object]' });
    const hostile = new Error('x');
    Object.defineProperty(hostile, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    expect(errorInfo(hostile)).toEqual({ name: 'Error', message: 'an error that cannot be described' });
    // A cycle of causes stops after a few.
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    let depth = 0;
    for (let e: unknown = roundTrip(a); e instanceof Error; e = e.cause) depth++;
    expect(depth).toBe(5);
  });
});
