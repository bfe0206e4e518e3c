/**
 * The worker side of shardedPipeline: builds the pipelines of its shards with the user's factory
 * and answers each `pull` of a shard with that shard's next element (moved, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type Source, Stream } from '../core/stream.js';
import { type ErrorInfo, errorInfo } from './error-info.js';
import { type PackedChunk, packChunk } from './transfer.js';

export interface ShardSetup {
  module: string;
  exportName?: string;
  shards: number[];
  numShards: number;
  args: unknown;
  transferResults: boolean;
}

export type ShardRequest = { type: 'pull'; shard: number } | { type: 'close' };

export type ShardReply =
  | { type: 'item'; shard: number; chunk: PackedChunk }
  | { type: 'done'; shard: number }
  | { type: 'error'; shard: number; error: ErrorInfo }
  | { type: 'closed' };

export type ShardFactory<T> = (
  shard: number,
  numShards: number,
  args: unknown,
) => Source<T> | Promise<Source<T>>;

const setup = workerData as ShardSetup;
const port = parentPort!;

async function open(): Promise<Map<number, AsyncIterator<unknown>>> {
  const mod = (await import(setup.module)) as Record<string, unknown>;
  const factory = mod[setup.exportName ?? 'default'] as ShardFactory<unknown>;
  if (typeof factory !== 'function') {
    throw new TypeError(
      `shardedPipeline: Expected a function export ${setup.exportName ?? 'default'} in ${setup.module}`,
    );
  }
  const lanes = new Map<number, AsyncIterator<unknown>>();
  for (const shard of setup.shards) {
    const source = await factory(shard, setup.numShards, setup.args);
    lanes.set(shard, Stream.from(source)[Symbol.asyncIterator]());
  }
  return lanes;
}

const ready = open();
/** Pulls of one shard run one after another; shards run concurrently. */
const chains = new Map<number, Promise<void>>();

port.on('message', (req: ShardRequest) => {
  if (req.type === 'close') {
    void ready
      .then((lanes) => Promise.allSettled([...lanes.values()].map((it) => it.return?.())))
      .finally(() => port.postMessage({ type: 'closed' } satisfies ShardReply));
    return;
  }
  const previous = chains.get(req.shard) ?? Promise.resolve();
  chains.set(
    req.shard,
    previous.then(() => pull(req.shard)),
  );
});

async function pull(shard: number): Promise<void> {
  try {
    const it = (await ready).get(shard)!;
    const r = await it.next();
    if (r.done) {
      port.postMessage({ type: 'done', shard } satisfies ShardReply);
      return;
    }
    const chunk = packChunk([r.value], { moveOwned: setup.transferResults });
    port.postMessage({ type: 'item', shard, chunk } satisfies ShardReply, chunk.buffers);
  } catch (err) {
    port.postMessage({ type: 'error', shard, error: errorInfo(err) } satisfies ShardReply);
  }
}
