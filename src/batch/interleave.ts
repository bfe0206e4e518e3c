import { invalidArgument } from '../core/errors.js';
import { type Source, Stream } from '../core/stream.js';
import { booleanOption, objectOption } from '../core/validate.js';

/**
 * Merges several streams, keeping one pull in flight on each so their I/O overlaps. Deterministic
 * (default): strict round-robin over the inputs still running. Otherwise: whichever is ready first.
 */
export function interleave<T>(
  sources: readonly Source<T>[],
  options: { deterministic?: boolean } = {},
): Stream<T> {
  if (!Array.isArray(sources) || sources.length === 0) {
    throw invalidArgument('sources', 'a non-empty array of streams', sources, 'interleave');
  }
  const deterministic = booleanOption(
    'interleave',
    'deterministic',
    objectOption('interleave', 'options', options).deterministic,
    true,
  );
  const streams = sources.map((s, i) =>
    Stream.from(s, `source_${i}`, { stage: 'interleave', parameter: `sources[${i}]` }),
  );
  return new Stream<T>(
    (counters) => {
      interface Lane {
        it: AsyncIterator<T>;
        pending: Promise<{ lane: Lane; r: IteratorResult<T> }> | null;
      }
      let lanes: Lane[] | null = null;
      counters.sizeProbe = () => lanes?.length ?? 0;
      let turn = 0;
      let finished = false;
      const pull = (lane: Lane) => {
        lane.pending = lane.it.next().then((r) => ({ lane, r }));
        return lane.pending;
      };
      const closeAll = async () => {
        if (finished) return;
        finished = counters.done = true;
        await Promise.allSettled((lanes ?? []).map((l) => l.it.return?.()));
      };
      return {
        async next(): Promise<IteratorResult<T>> {
          counters.start();
          if (finished) return { value: undefined, done: true };
          if (!lanes) {
            const opened: Lane[] = streams.map((s) => ({
              it: s[Symbol.asyncIterator]() as AsyncIterator<T>,
              pending: null,
            }));
            for (const lane of opened) void pull(lane).catch(() => undefined);
            lanes = opened;
          }
          try {
            while (lanes.length > 0) {
              const { lane, r }: { lane: Lane; r: IteratorResult<T> } = deterministic
                ? await lanes[turn % lanes.length].pending!
                : await Promise.race(lanes.map((l) => l.pending!));
              if (r.done) {
                lanes = lanes.filter((l) => l !== lane);
                continue;
              }
              turn = (lanes.indexOf(lane) + 1) % lanes.length;
              void pull(lane).catch(() => undefined);
              counters.elementsIn++;
              counters.elementsOut++;
              return { value: r.value, done: false };
            }
          } catch (err) {
            await closeAll();
            throw err;
          }
          finished = counters.done = true;
          return { value: undefined, done: true };
        },
        async return(): Promise<IteratorResult<T>> {
          await closeAll();
          return { value: undefined, done: true };
        },
      };
    },
    { name: 'interleave', capacity: sources.length, upstreams: streams as Stream<unknown>[] },
  );
}
