/** Spawned by properties.test.ts: an infinite pipeline, `break` after two batches, no process.exit. */
import { map } from 'rxjs';
import {
  decodeCifarRecord,
  fixedLengthRecordReader,
  shuffleBatch,
  stringInputProducer,
} from '../../src/index.js';

const files = process.argv.slice(2);
const records = fixedLengthRecordReader(stringInputProducer(files, { seed: 1 }), { recordBytes: 3073 });
const examples = records.pipe(map((r) => ({ key: r.key, ...decodeCifarRecord(r.value) })));
const batches = shuffleBatch(examples, {
  batchSize: 64,
  capacity: 1200,
  minAfterDequeue: 1000,
  numThreads: 2,
  seed: 1,
});
batches.stats$.subscribe();
let n = 0;
for await (const _ of batches) if (++n === 2) break;
console.log(`took ${n} batches`);
