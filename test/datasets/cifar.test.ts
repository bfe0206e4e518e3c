import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_CLASS_NAMES, writeSyntheticCifar10 } from '../../scripts/cifar-synth.js';
import {
  DecodeError,
  InvalidArgumentError,
  NotFoundError,
  TooManyErrorsError,
} from '../../src/core/errors.js';
import { cifar10, cifar100, distortedInputs, inputs } from '../../src/datasets/cifar.js';
import type { KeyValue } from '../../src/readers/whole-file-reader.js';
import {
  canListOpenFds,
  concat,
  makeTempDir,
  openDescriptorsFor,
  pseudoRandomBytes,
  rejectionOf,
  type TempDir,
} from '../helpers/files.js';

let tmp: TempDir;
let c10: string;
let c10gz: string;
let c100: string;
let c100gz: string;
const FINE = ['apple', 'bee', 'cat', 'dog', 'eel'];
const COARSE = ['fruit', 'animal'];

/** CIFAR-100 records: coarse = i % 2, fine = i % 5, planes pseudo-random. */
function c100Records(n: number, seed: number): Uint8Array {
  const out = pseudoRandomBytes(n * 3074, seed);
  for (let i = 0; i < n; i++) {
    out[i * 3074] = i % 2;
    out[i * 3074 + 1] = i % 5;
  }
  return out;
}

beforeAll(async () => {
  tmp = await makeTempDir('cifar');
  c10 = join(tmp.dir, '10');
  await writeSyntheticCifar10(c10, { recordsPerFile: 50 });
  c10gz = tmp.path('cifar-10-binary.tar.gz');
  execFileSync('tar', ['-czf', c10gz, '-C', c10, 'cifar-10-batches-bin']);
  c100 = join(tmp.dir, '100');
  const d = join(c100, 'cifar-100-binary');
  await mkdir(d, { recursive: true });
  await writeFile(join(d, 'train.bin'), c100Records(40, 1));
  await writeFile(join(d, 'test.bin'), c100Records(10, 2));
  await writeFile(join(d, 'fine_label_names.txt'), `${FINE.join('\n')}\n`);
  await writeFile(join(d, 'coarse_label_names.txt'), `${COARSE.join('\n')}\n`);
  c100gz = tmp.path('cifar-100-binary.tar.gz');
  execFileSync('tar', ['-czf', c100gz, '-C', c100, 'cifar-100-binary']);
});
afterAll(() => tmp.cleanup());

/** CIFAR-10 files of three blank records each, record 2 labelled 2 while the meta file names two classes. */
async function fewClasses(name: string): Promise<string> {
  const dir = join(tmp.dir, name);
  await mkdir(dir, { recursive: true });
  for (const n of [
    'data_batch_1',
    'data_batch_2',
    'data_batch_3',
    'data_batch_4',
    'data_batch_5',
    'test_batch',
  ]) {
    const bytes = new Uint8Array(4 * 3073);
    bytes[2 * 3073] = 2;
    await writeFile(join(dir, `${n}.bin`), bytes);
  }
  await writeFile(join(dir, 'batches.meta.txt'), 'a\nb\n');
  return dir;
}

const plainKeys = (keys: string[]) => keys.map((k) => k.replace(/^.*[#/]cifar-10/, 'cifar-10'));

describe('cifar10', () => {
  it('reads the same records from the archive, the folder and the batches folder', async () => {
    const runs: KeyValue[][] = [];
    for (const path of [c10gz, c10, join(c10, 'cifar-10-batches-bin')]) {
      const ds = await cifar10({ path, numEpochs: 1, shuffle: false });
      expect(ds.classNames).toEqual(FIXTURE_CLASS_NAMES);
      expect(ds.examplesPerEpoch).toBe(250);
      runs.push(await ds.records.toArray());
    }
    expect(runs[0]).toHaveLength(250);
    expect(plainKeys(runs[0].map((r) => r.key))).toEqual(plainKeys(runs[1].map((r) => r.key)));
    expect(runs[0][0].key).toBe(`${c10gz}#cifar-10-batches-bin/data_batch_1.bin:0`);
    for (const other of runs.slice(1)) {
      for (const [i, r] of other.entries()) expect(Buffer.compare(r.value, runs[0][i].value)).toBe(0);
    }
  });

  it('decodes examples and reads the test split', async () => {
    const ds = await cifar10({ path: c10gz, split: 'test', numEpochs: 1 });
    const ex = await ds.examples().toArray();
    expect(ex).toHaveLength(50);
    expect(ex[0].key).toBe(`${c10gz}#cifar-10-batches-bin/test_batch.bin:0`);
    expect(ex[0].image.shape).toEqual([32, 32, 3]);
    expect(ex.every((e) => e.label >= 0 && e.label < 10)).toBe(true);
  });

  it('shuffles the file order by seed, deterministically', async () => {
    const order = async (seed: number) => [
      ...new Set(
        (await (await cifar10({ path: c10, numEpochs: 1, seed })).records.toArray()).map(
          (r) => r.key.split(':')[0],
        ),
      ),
    ];
    expect(await order(3)).toEqual(await order(3));
    expect((await order(3)).sort()).toEqual((await order(4)).sort());
  });

  it('lists the expected files when some are missing', async () => {
    const err = await rejectionOf(() => cifar10({ path: c100 }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain('data_batch_1.bin');
    expect(err.message).toContain('batches.meta.txt');
    const err2 = await rejectionOf(() => cifar10({ path: c100gz }));
    expect(err2).toBeInstanceOf(NotFoundError);
    expect(err2.message).toContain('cifar-10-batches-bin/');
    await expect(cifar10({ path: tmp.path('nope') })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a label byte beyond the meta file classes is a DecodeError naming the key', async () => {
    const dir = await fewClasses('few');
    const ds = await cifar10({ path: dir, split: 'test', numEpochs: 1 });
    const err = (await rejectionOf(() => ds.records.toArray())) as DecodeError;
    expect(err).toBeInstanceOf(DecodeError);
    const file = join(dir, 'test_batch.bin');
    expect(err).toMatchObject({ key: `${file}:2`, file, offset: 2 * 3073, stage: 'cifar10' });
    expect(err.message).toContain(err.key);
    expect(err.message).toContain('has 2 at byte 0');
    // The record whose error ended the stream is not counted: read = yielded + skipped still holds.
    const stage = ds.records.stats().find((s) => s.name === 'cifar10')!;
    expect(stage).toMatchObject({ read: 2, elementsOut: 2, skipped: 0 });
  });

  it('a split whose files hold no whole record is a DecodeError at open (not an endless spin)', async () => {
    const dir = join(tmp.dir, 'no-records');
    await mkdir(dir, { recursive: true });
    const train = [1, 2, 3, 4, 5].map((i) => join(dir, `data_batch_${i}.bin`));
    for (const [i, f] of train.entries()) await writeFile(f, new Uint8Array(i === 0 ? 3072 : 0));
    await writeFile(join(dir, 'test_batch.bin'), new Uint8Array(3073));
    await writeFile(join(dir, 'batches.meta.txt'), 'a\nb\n');
    const t0 = performance.now();
    for (const options of [{}, { onError: 'skip' as const, maxErrors: 10 }, { numEpochs: 1 }]) {
      const err = (await rejectionOf(() => cifar10({ path: dir, ...options }))) as DecodeError;
      expect(err).toBeInstanceOf(DecodeError);
      expect(err).toMatchObject({ file: train[0], offset: 0, stage: 'cifar10', parameter: 'path' });
      expect(err.message).toContain(
        "Expected records of 3073 bytes in the train split's files but they hold none",
      );
      for (const [i, f] of train.entries())
        expect(err.message).toContain(`${f} (${i === 0 ? 3072 : 0} bytes)`);
    }
    expect(performance.now() - t0).toBeLessThan(3000);
    // The test split of the same folder has its record.
    expect((await cifar10({ path: dir, split: 'test', numEpochs: 1 })).examplesPerEpoch).toBe(1);
  });

  it('skip: records with a bad label are dropped and counted; read = yielded + skipped', async () => {
    const dir = await fewClasses('few-skip');
    const ds = await cifar10({ path: dir, split: 'test', numEpochs: 2, shuffle: false, onError: 'skip' });
    const got = await ds.records.toArray();
    const file = join(dir, 'test_batch.bin');
    expect(got.map((r) => r.key)).toEqual([0, 1, 3, 0, 1, 3].map((i) => `${file}:${i}`));
    const stage = ds.records.stats().find((s) => s.name === 'cifar10')!;
    expect(stage).toMatchObject({ read: 8, elementsOut: 6, skipped: 2 });
    expect(stage.skippedByReason).toEqual({
      DecodeError: { count: 2, firstKeys: [`${file}:2`, `${file}:2`] },
    });
    expect(ds.records.report().stages.map((s) => s.stage)).toEqual(['fixed_length_record_reader', 'cifar10']);
    // examples() goes through the same checked records.
    expect(await ds.examples().toArray()).toHaveLength(6);
  });

  it('warn and maxErrors on cifar100 (fine and coarse labels); a truncated data file skipped by the reader', async () => {
    const dir = join(tmp.dir, 'c100-bad', 'cifar-100-binary');
    await mkdir(dir, { recursive: true });
    const records = c100Records(6, 3);
    records[1 * 3074] = 2; // record 1: coarse label 2 of 2 classes
    records[4 * 3074 + 1] = 5; // record 4: fine label 5 of 5 classes
    await writeFile(join(dir, 'train.bin'), concat(records, new Uint8Array(10))); // and 10 stray bytes
    await writeFile(join(dir, 'test.bin'), c100Records(1, 4));
    await writeFile(join(dir, 'fine_label_names.txt'), `${FINE.join('\n')}\n`);
    await writeFile(join(dir, 'coarse_label_names.txt'), `${COARSE.join('\n')}\n`);
    const lines: string[] = [];
    const ds = await cifar100({ path: dir, numEpochs: 1, onError: 'warn', warn: (l) => lines.push(l) });
    expect((await ds.records.toArray()).map((r) => r.key.slice(-2))).toEqual([':0', ':2', ':3', ':5']);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^cifar100: skipped .*train\.bin:1: .*coarse label in \[0, 1\]/);
    expect(lines[1]).toMatch(/^cifar100: skipped .*train\.bin:4: .*a label in \[0, 4\]/);
    expect(lines[2]).toMatch(/^fixedLengthRecordReader: skipped .*train\.bin:6: .*Truncated record 6/);
    const report = ds.records.report();
    expect(report.skipped).toBe(3);
    expect(report.stages.find((s) => s.stage === 'fixed_length_record_reader')?.skippedByReason).toEqual({
      TruncatedRecordError: { count: 1, firstKeys: [`${join(dir, 'train.bin')}:6`] },
    });
    const strict = await cifar100({ path: dir, numEpochs: 1, onError: 'skip', maxErrors: 1 });
    const err = await rejectionOf(() => strict.records.toArray());
    expect(err).toBeInstanceOf(TooManyErrorsError);
    expect((err as TooManyErrorsError).key).toBe(`${join(dir, 'train.bin')}:4`);
    const raising = await cifar100({ path: dir, numEpochs: 1 });
    expect(await rejectionOf(() => raising.records.toArray())).toBeInstanceOf(DecodeError);
    await expect(cifar100({ path: dir, onError: 'drop' as never })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('distortedInputs keeps raising on a bad label (skipping would shift the record indices)', async () => {
    const dir = await fewClasses('few-distorted');
    const stream = await distortedInputs({ path: dir, batchSize: 2, seed: 1, numEpochs: 1 });
    const err = await rejectionOf(() => stream.toArray());
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).key).toMatch(/data_batch_\d\.bin:2$/);
  });

  it('a missing meta file is a NotFoundError naming it', async () => {
    const dir = await fewClasses('few-no-meta');
    await rm(join(dir, 'batches.meta.txt'));
    const err = (await rejectionOf(() => cifar10({ path: dir }))) as NotFoundError;
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.file).toBe(join(dir, 'batches.meta.txt'));
    expect(err.message).toContain('found no batches.meta.txt');
  });

  it('validates its options', async () => {
    await expect(cifar10({ path: '' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(cifar10({ path: c10, split: 'val' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(cifar10({ path: c10, numEpochs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it.runIf(canListOpenFds)('break closes the archive', async () => {
    const ds = await cifar10({ path: c10gz, numEpochs: 1 });
    for await (const _ of ds.examples()) {
      expect(openDescriptorsFor(c10gz)).toBe(1);
      break;
    }
    expect(openDescriptorsFor(c10gz)).toBe(0);
  });
});

describe('cifar100', () => {
  it('reads fine and coarse labels and names from the archive and the folder alike', async () => {
    for (const path of [c100gz, c100]) {
      const ds = await cifar100({ path, numEpochs: 1 });
      expect(ds.classNames).toEqual(FINE);
      expect(ds.coarseClassNames).toEqual(COARSE);
      const ex = await ds.examples().toArray();
      expect(ex).toHaveLength(40);
      ex.forEach((e, i) => {
        expect(e.label).toBe(i % 5);
        expect(e.fineLabel).toBe(i % 5);
        expect(e.coarseLabel).toBe(i % 2);
      });
    }
  });
});

describe('cifar10_input equivalents', () => {
  it('distortedInputs gives distorted 24x24 batches, the same for the same seed', async () => {
    const take = async () => {
      const out = [];
      for await (const b of await distortedInputs({ path: c10gz, batchSize: 16, seed: 7 })) {
        out.push(b);
        if (out.length === 3) break;
      }
      return out;
    };
    const [a, b] = [await take(), await take()];
    expect(a[0].image.shape).toEqual([16, 24, 24, 3]);
    expect(a[0].label.data).toEqual(b[0].label.data);
    expect(a[2].image.data).toEqual(b[2].image.data);
  });

  it('distortedInputs resumed from a checkpointed position gives the same distorted batches (archive)', async () => {
    const straight = await distortedInputs({ path: c10gz, batchSize: 8, seed: 3 });
    const batches = [];
    let saved: unknown;
    for await (const b of straight) {
      batches.push(b);
      if (batches.length === 5) saved = JSON.parse(JSON.stringify(straight.position()));
      if (batches.length === 30) break;
    }
    // No seed: the checkpointed run's is used.
    const resumed = await distortedInputs({ path: c10gz, batchSize: 8, resume: saved as never });
    let i = 5;
    for await (const b of resumed) {
      expect(b.key).toEqual(batches[i].key);
      expect(b.image.data).toEqual(batches[i].image.data);
      expect(b.label.data).toEqual(batches[i].label.data);
      if (++i === 30) break;
    }
    expect(i).toBe(30);
    await expect(
      distortedInputs({ path: c10gz, batchSize: 16, seed: 3, resume: saved as never }),
    ).rejects.toThrow(/resume\.config\.batchSize/);
  });

  it('distortedInputs gives the same batches cached, on 2 threads, and with batches released', async () => {
    const run = async (extra: Record<string, unknown>, release: boolean) => {
      const s = await distortedInputs({ path: c10gz, batchSize: 16, seed: 5, numEpochs: 2, ...extra });
      const out: { label: number[]; image: Buffer; key: string[] }[] = [];
      for await (const b of s) {
        out.push({
          label: Array.from(b.label.data),
          image: Buffer.from(b.image.data.slice().buffer),
          key: b.key!,
        });
        if (release) s.release(b);
      }
      return out;
    };
    const plain = await run({}, false);
    expect(plain.length).toBe(Math.floor((2 * 250) / 16)); // the fixture: 5 files of 50 records
    for (const [extra, release] of [
      [{ cache: true }, false],
      [{ numThreads: 2 }, true],
      [{ numThreads: 2, cache: true, prefetch: 0 }, true],
    ] as const) {
      const got = await run(extra, release);
      expect(got.map((b) => b.key)).toEqual(plain.map((b) => b.key));
      expect(got.map((b) => b.label)).toEqual(plain.map((b) => b.label));
      expect(got.every((b, i) => b.image.equals(plain[i].image))).toBe(true);
    }
  });

  it('distortedInputs refuses bad numThreads and cache, and a release of a foreign batch', async () => {
    await expect(distortedInputs({ path: c10gz, numThreads: 0 })).rejects.toThrow(/numThreads/);
    await expect(distortedInputs({ path: c10gz, cache: 'yes' as never })).rejects.toThrow(/cache/);
    const s = await distortedInputs({ path: c10gz, batchSize: 4, seed: 1 });
    const foreign = { image: { data: new Float32Array(4 * 24 * 24 * 3) } };
    expect(() => s.release(foreign as never)).toThrow(/a batch this stream delivered/);
  });

  it('inputs gives the eval split once, in order, centrally cropped and standardized', async () => {
    const batches = await (await inputs({ path: c10, evalData: true, batchSize: 20 })).toArray();
    expect(batches).toHaveLength(2); // 50 records: the partial batch is dropped, as tf.train.batch
    expect(batches[0].image.shape).toEqual([20, 24, 24, 3]);
    expect(batches[0].key[0]).toBe(`${join(c10, 'cifar-10-batches-bin', 'test_batch.bin')}:0`);
    await expect(inputs({ path: c10, evalData: 'yes' as never })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});
