/**
 * One shard of the sharded distorted-CIFAR pipeline (the bench's mode
 * 'sharded'), a shardedPipeline factory: shard s of k reads the s-th contiguous block of records of every file (headerBytes and
 * footerBytes cut the block out, so each byte is read by one shard only), shuffles them in its own
 * pool of minAfterDequeue / k, and distorts whole batches, each record's draws keyed by a stream
 * index unique across shards.
 */
import { join } from 'node:path';
import { map } from 'rxjs';
import { shuffleBatch } from '../src/batch/batch.js';
import { distortCifarBatch, type RawCifarBatch } from '../src/image/distort-cifar-batch.js';
import { stringInputProducer } from '../src/producers/string-input-producer.js';
import { fixedLengthRecordReader } from '../src/readers/fixed-length-record-reader.js';

export interface CifarShardArgs {
  dir: string;
  epochs: number;
  seed: number;
  batchSize: number;
  minAfterDequeue: number;
  /** Records per file (10,000 for CIFAR-10 training files); must divide by the shard count. */
  recordsPerFile: number;
}

export function cifarShard(shard: number, numShards: number, args: CifarShardArgs) {
  const files = [1, 2, 3, 4, 5].map((i) => join(args.dir, `data_batch_${i}.bin`));
  const block = args.recordsPerFile / numShards;
  const filenames = stringInputProducer(files, { numEpochs: args.epochs, seed: args.seed });
  const records = fixedLengthRecordReader(filenames, {
    recordBytes: 3073,
    headerBytes: shard * block * 3073,
    footerBytes: (numShards - shard - 1) * block * 3073,
    copy: true,
  });
  const indexed = records.pipe(
    map((r, i) => {
      // The reader counts from the block's start; name each record by its number in the file.
      const colon = r.key.lastIndexOf(':');
      const key = `${r.key.slice(0, colon + 1)}${shard * block + Number(r.key.slice(colon + 1))}`;
      return { key, index: i * numShards + shard, value: r.value };
    }),
  );
  const m = Math.floor(args.minAfterDequeue / numShards);
  const raw = shuffleBatch(indexed, {
    batchSize: args.batchSize,
    capacity: m + 3 * args.batchSize,
    minAfterDequeue: m,
    seed: args.seed + shard,
  });
  const distort = distortCifarBatch({ seed: args.seed });
  return raw.pipe(map((b) => distort(b as unknown as RawCifarBatch)));
}
