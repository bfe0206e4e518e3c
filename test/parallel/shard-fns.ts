/** Shard factories loaded by shardedPipeline in the tests. */
import { Stream } from '../../src/core/stream.js';

/** Shard s of k yields s, s + k, s + 2k, ... below args.n, with a typed array each. */
export function stride(shard: number, numShards: number, args: { n: number }) {
  return Stream.from(
    (function* () {
      for (let v = shard; v < args.n; v += numShards)
        yield { key: `v${v}`, v, data: Float32Array.of(v, v * 2) };
    })(),
  );
}

export async function* failingShard(shard: number) {
  yield { key: `s${shard}`, v: shard };
  if (shard === 1) throw new RangeError('shard 1 broke');
  yield { key: `s${shard}b`, v: shard + 10 };
}

export async function* dyingShard(shard: number) {
  yield { key: `s${shard}`, v: shard };
  if (shard === 0) process.exit(7);
  yield { key: `s${shard}b`, v: shard + 10 };
}

export async function* endless(shard: number) {
  for (let i = 0; ; i++) yield { key: `s${shard}:${i}`, v: i };
}

/** A shard whose reader meets a truncated file (an InputError with file and offset). */
export async function truncatedShard(_shard: number, _n: number, args: { file: string }) {
  const { fixedLengthRecordReader } = await import('../../src/readers/fixed-length-record-reader.js');
  return fixedLengthRecordReader([args.file], { recordBytes: 4 });
}
