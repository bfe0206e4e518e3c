import { listImageFolder } from '../datasets/image-folder.js';
import { mnist } from '../datasets/mnist.js';
import { splitMemberName } from '../datasets/webdataset.js';
import { fixedLengthRecordReader } from '../readers/fixed-length-record-reader.js';
import { wholeFileReader } from '../readers/whole-file-reader.js';
import { archiveEntryNames } from '../sources/archive-name.js';
import { type Detected, fileIn, hasFile } from './detect.js';

/** What `inqueue info` prints: the format, then counts per split and per class. */
export async function describeDataset(d: Detected): Promise<string[]> {
  if (d.format === 'image-folder') {
    const listing = await listImageFolder({ root: d.dir });
    const lines = [
      `image folder at ${d.dir}: ${listing.files.length} images in ${listing.classNames.length} classes`,
    ];
    for (const split of ['train', 'validation', 'test'] as const)
      lines.push(`  ${split}: ${listing.counts[split].total}`);
    listing.classNames.forEach((name, label) => {
      const per = (['train', 'validation', 'test'] as const)
        .map((s) => listing.counts[s].perClass[label])
        .join(' / ');
      lines.push(`  class ${label} ${name}: ${per} (train / validation / test)`);
    });
    if (listing.emptyClasses.length > 0) lines.push(`  empty classes: ${listing.emptyClasses.join(', ')}`);
    if (listing.ignored.length > 0) lines.push(`  ignored (not images): ${listing.ignored.length} files`);
    return lines;
  }
  if (d.format === 'mnist') {
    const lines = [`MNIST (IDX) at ${d.dir}`];
    for (const split of ['train', 'test'] as const) {
      const counts = new Array<number>(10).fill(0);
      try {
        for await (const e of mnist({ path: d.dir, split })) counts[e.label]++;
      } catch (err) {
        lines.push(`  ${split}: unavailable (${(err as Error).message})`);
        continue;
      }
      lines.push(`  ${split}: ${counts.reduce((a, b) => a + b, 0)} examples; per digit ${counts.join(' ')}`);
    }
    return lines;
  }
  if (d.format === 'tar-shards') {
    const lines = [`tar shards at ${d.dir}: ${d.shards!.length} shard${d.shards!.length > 1 ? 's' : ''}`];
    for (const shard of d.shards!) {
      const members = (await archiveEntryNames(shard)).map((n) => n.slice(shard.length + 1));
      // WebDataset's grouping: members sharing the path up to the first dot of the file name.
      const keys = new Set(members.map((m) => splitMemberName(m)?.key).filter((k) => k !== undefined));
      lines.push(`  ${shard}: ${members.length} members, ${keys.size} samples`);
    }
    return lines;
  }
  const cifar10 = d.format === 'cifar10';
  const labelBytes = cifar10 ? 1 : 2;
  const recordBytes = labelBytes + 3072;
  const names = await readNames(d, cifar10 ? 'batches.meta.txt' : 'fine_label_names.txt');
  const splits = cifar10
    ? { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'] }
    : { train: ['train.bin'], test: ['test.bin'] };
  const lines = [`${cifar10 ? 'CIFAR-10' : 'CIFAR-100'} binary at ${d.dir}: ${names.length} classes`];
  for (const [split, files] of Object.entries(splits)) {
    const present = files.filter((f) => hasFile(d, f)).map((f) => fileIn(d, f));
    if (present.length === 0) {
      lines.push(`  ${split}: missing (${files.join(', ')})`);
      continue;
    }
    const counts = new Map<number, number>();
    for await (const r of fixedLengthRecordReader(present, { recordBytes })) {
      const label = r.value[labelBytes - 1];
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    lines.push(`  ${split}: ${total} records in ${present.length} file${present.length > 1 ? 's' : ''}`);
    const shown = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([l, c]) => `${names[l] ?? l} ${c}`);
    lines.push(`    per class: ${shown.join(', ')}`);
  }
  return lines;
}

/** Class names, one per line, from a meta file in the folder or archive (none when missing). */
export async function readNames(d: Detected, name: string): Promise<string[]> {
  if (!hasFile(d, name)) return [];
  const [file] = await wholeFileReader([fileIn(d, name)]).toArray();
  return new TextDecoder()
    .decode(file.value)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
