/**
 * The two-queue model in miniature (docs/guide.md): three files A, B and C, five epochs, no shuffle,
 * through a filename queue and a whole-file reader: exactly 15 reads, in order, then the end.
 *   npx tsx examples/abc.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringInputProducer, wholeFileReader } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'inqueue-abc-'));
const files = ['A', 'B', 'C'].map((name) => {
  const file = join(dir, name);
  writeFileSync(file, `contents of ${name}`);
  return file;
});

const filenames = stringInputProducer(files, { numEpochs: 5, shuffle: false });
const reader = wholeFileReader(filenames);
let reads = 0;
for await (const { key, value } of reader) {
  reads++;
  console.log(`${reads}: ${key.slice(dir.length + 1)} -> ${new TextDecoder().decode(value)}`);
}
console.log(`end of input after ${reads} reads`);
rmSync(dir, { recursive: true });
