// Child process of large-file.test.ts: reads a fixed-length file end to end through
// fixedLengthRecordReader + batch while sampling RSS every 20 ms, then prints one JSON line:
// { records, batches, batchedRecords, lastKey, peakRssBytes, seconds }.
//
//   node --import tsx test/readers/large-file-child.ts FILE [RECORD_BYTES] [BATCH_SIZE]

import { map } from 'rxjs';
import { batch, fixedLengthRecordReader } from '../../src/index.js';

const [file, recordArg = '3073', batchArg = '128'] = process.argv.slice(2);
if (!file) {
  console.error('usage: large-file-child.ts FILE [RECORD_BYTES] [BATCH_SIZE]');
  process.exit(2);
}
const recordBytes = Number(recordArg);
const batchSize = Number(batchArg);

let peakRss = process.memoryUsage().rss;
const sample = () => {
  const rss = process.memoryUsage().rss;
  if (rss > peakRss) peakRss = rss;
};
const timer = setInterval(sample, 20);

const started = performance.now();
let records = 0;
let lastKey = '';
const examples = fixedLengthRecordReader([file], { recordBytes }).pipe(
  map(({ key, value }) => {
    records++;
    lastKey = key;
    return { key, value: { dtype: 'uint8' as const, shape: [recordBytes], data: value } };
  }),
);
let batches = 0;
let batchedRecords = 0;
for await (const b of batch(examples, { batchSize, allowSmallerFinalBatch: true })) {
  batches++;
  batchedRecords += b.value.shape[0];
  if (b.value.data.length !== b.value.shape[0] * recordBytes) throw new Error('bad batch shape');
}
clearInterval(timer);
sample();
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({ records, batches, batchedRecords, lastKey, peakRssBytes: peakRss, seconds })}\n`,
);
