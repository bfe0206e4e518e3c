import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArchiveError,
  DecodeError,
  InputError,
  InvalidArgumentError,
  NotFoundError,
  TooManyErrorsError,
} from '../../src/core/errors.js';
import {
  decodeWebDatasetField,
  splitMemberName,
  type WebDatasetOptions,
  type WebDatasetSample,
  webDataset,
} from '../../src/datasets/webdataset.js';
import { stringInputProducer } from '../../src/producers/string-input-producer.js';
import {
  canListOpenFds,
  makeTempDir,
  openDescriptorsFor,
  pseudoRandomBytes,
  rejectionOf,
  type TempDir,
  thrownBy,
} from '../helpers/files.js';
import { leaked, resourceCounts, settle } from '../helpers/resources.js';

const enc = (s: string) => new TextEncoder().encode(s);
let tmp: TempDir;
let shardN = 0;

/** Writes `members` (in this order) into a fresh tar (gzipped when `gzip`) and returns its path. */
async function shard(members: [string, Uint8Array | string][], gzip = false): Promise<string> {
  const n = shardN++;
  const root = join(tmp.dir, `src${n}`);
  for (const [name, bytes] of members) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), typeof bytes === 'string' ? enc(bytes) : bytes);
  }
  const out = tmp.path(`shard-${n}.tar${gzip ? '.gz' : ''}`);
  execFileSync('tar', [gzip ? '-czf' : '-cf', out, '-C', root, ...members.map(([m]) => m)]);
  return out;
}

const JPG1 = pseudoRandomBytes(5000, 1);
const JPG2 = pseudoRandomBytes(300, 2);
let main: string;
let mainGz: string;
let singles: string[];

beforeAll(async () => {
  tmp = await makeTempDir('webdataset');
  const members: [string, Uint8Array | string][] = [
    ['d/000001.jpg', JPG1],
    ['d/000001.cls', '3\n'],
    ['d/000001.json', '{"w":2,"tags":["a"]}'],
    ['d/000001.txt', 'a cat'],
    ['README', 'no extension: skipped'],
    ['d/000002.jpg', JPG2],
    ['d/000002.cls', '7'],
    ['d/000002.seg.png', 'png-bytes'],
  ];
  main = await shard(members);
  mainGz = await shard(members, true);
  singles = [];
  for (let i = 0; i < 6; i++) singles.push(await shard([[`s${i}.cls`, String(i)]]));
});
afterAll(() => tmp.cleanup());

const keysOf = (samples: WebDatasetSample[]) => samples.map((s) => s.__key__);

describe('splitMemberName', () => {
  it.each([
    ['dir/000123.jpg', { key: 'dir/000123', field: 'jpg' }],
    ['a.b/x.seg.PNG', { key: 'a.b/x', field: 'seg.png' }],
    ['x.cls', { key: 'x', field: 'cls' }],
    ['README', null],
    ['dir/.hidden', null],
    ['dir/name.', null],
  ])('%s', (name, expected) => {
    expect(splitMemberName(name)).toEqual(expected);
  });
});

describe('webDataset', () => {
  it('groups consecutive members by key, fields are the bytes, members without extension skipped', async () => {
    for (const file of [main, mainGz]) {
      const samples = await webDataset([file], { seed: 1 }).toArray();
      expect(samples).toHaveLength(2);
      const [a, b] = samples;
      expect(Object.keys(a).sort()).toEqual(['__key__', '__shard__', 'cls', 'jpg', 'json', 'txt']);
      expect(a.__key__).toBe('d/000001');
      expect(a.__shard__).toBe(file);
      expect(a.jpg).toEqual(JPG1);
      expect(a.jpg).toBeInstanceOf(Uint8Array);
      expect(a.cls).toEqual(enc('3\n'));
      expect(Object.keys(b).sort()).toEqual(['__key__', '__shard__', 'cls', 'jpg', 'seg.png']);
      expect(b.jpg).toEqual(JPG2);
      expect(b['seg.png']).toEqual(enc('png-bytes'));
    }
  });

  it('streams several shards one after another, numEpochs times, in list order without shuffle', async () => {
    const other = await shard([
      ['e/1.cls', '1'],
      ['e/2.cls', '2'],
    ]);
    const samples = await webDataset([main, other], { shuffleShards: false, numEpochs: 2 }).toArray();
    expect(keysOf(samples)).toEqual([
      'd/000001',
      'd/000002',
      'e/1',
      'e/2',
      'd/000001',
      'd/000002',
      'e/1',
      'e/2',
    ]);
    expect(samples.map((s) => s.__shard__)).toEqual([main, main, other, other, main, main, other, other]);
  });

  it('a key in two shards makes two samples (samples never span shards)', async () => {
    const x = await shard([['k.jpg', 'x']]);
    const y = await shard([['k.cls', '1']]);
    const samples = await webDataset([x, y], { shuffleShards: false }).toArray();
    expect(samples.map((s) => [s.__key__, s.__shard__, Object.keys(s).length])).toEqual([
      ['k', x, 3],
      ['k', y, 3],
    ]);
  });

  it('shuffles shards per epoch, reproducibly for a seed, as stringInputProducer does', async () => {
    const run = async (seed: number) =>
      (await webDataset(singles, { numEpochs: 3, seed }).toArray()).map((s) => s.__shard__);
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(a).toEqual(await stringInputProducer(singles, { numEpochs: 3, seed: 5 }).toArray());
    const epochs = [0, 1, 2].map((e) => a.slice(e * 6, e * 6 + 6));
    for (const e of epochs) expect([...e].sort()).toEqual([...singles].sort());
    expect(new Set(epochs.map((e) => e.join())).size).toBeGreaterThan(1);
    expect(await run(6)).not.toEqual(a);
    expect(webDataset(singles, { seed: 5 }).seed).toBe(5);
    const random = webDataset(singles);
    expect(Number.isInteger(random.seed)).toBe(true);
  });

  it('numEpochs null streams forever', async () => {
    const out: string[] = [];
    for await (const s of webDataset(singles.slice(0, 2), { numEpochs: null, seed: 2 })) {
      out.push(s.__key__);
      if (out.length === 7) break;
    }
    expect(out).toHaveLength(7);
  });

  it('decode: true decodes txt, cls, json and leaves other fields as bytes', async () => {
    const [a, b] = await webDataset([main], { decode: true, seed: 1 }).toArray();
    expect(a.cls).toBe(3);
    expect(a.json).toEqual({ w: 2, tags: ['a'] });
    expect(a.txt).toBe('a cat');
    expect(a.jpg).toEqual(JPG1);
    expect(b.cls).toBe(7);
    expect(b['seg.png']).toEqual(enc('png-bytes'));
  });

  it.each([
    ['cls', 'x7', /an integer/],
    ['cls', '1.5', /an integer/],
    ['json', '{nope', /JSON/],
    ['txt', new Uint8Array([0xff, 0xfe]), /UTF-8/],
  ])('decode: true rejects a bad %s field naming shard, key and field', async (ext, bytes, message) => {
    const file = await shard([[`bad/k.${ext}`, bytes]]);
    const err = await rejectionOf(() => webDataset([file], { decode: true }).toArray());
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(file);
    expect(err.message).toContain(`'${ext}'`);
    expect((err as DecodeError).file).toBe(file);
    expect((err as DecodeError).key).toBe('bad/k');
  });

  it('decodeWebDatasetField keys on the last extension', () => {
    expect(decodeWebDatasetField('seg.cls', enc(' 12 '))).toBe(12);
    expect(decodeWebDatasetField('jpg', enc('1'))).toEqual(enc('1'));
    expect(thrownBy(() => decodeWebDatasetField('id', enc('')))).toBeInstanceOf(DecodeError);
  });

  it('a custom decode function gets every field and its result is the value', async () => {
    const calls: string[] = [];
    const [a] = await webDataset([main], {
      seed: 1,
      decode: (ext, bytes, ctx) => {
        calls.push(`${ctx.shard === main}:${ctx.key}:${ext}`);
        return ext === 'jpg' ? bytes.length : `len ${bytes.length}`;
      },
    }).toArray();
    expect(a.jpg).toBe(5000);
    expect(a.cls).toBe('len 2');
    expect(calls).toEqual([
      'true:d/000001:jpg',
      'true:d/000001:cls',
      'true:d/000001:json',
      'true:d/000001:txt',
      'true:d/000002:jpg',
      'true:d/000002:cls',
      'true:d/000002:seg.png',
    ]);
  });

  it('a throwing decode function becomes a DecodeError naming shard, key and field', async () => {
    const boom = new Error('boom');
    const err = await rejectionOf(() =>
      webDataset([main], {
        decode: (ext) => {
          if (ext === 'json') throw boom;
          return 0;
        },
      }).toArray(),
    );
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toMatch(/'json'.*"d\/000001".*boom/);
    expect(err.message).toContain(main);
    expect((err as DecodeError).parameter).toBe('decode');
    expect(err.cause).toBe(boom);
  });

  it('a key seen again non-adjacently is a DecodeError naming shard and key', async () => {
    const file = await shard([
      ['a.jpg', '1'],
      ['b.jpg', '2'],
      ['a.cls', '3'],
    ]);
    const seen: string[] = [];
    const err = await rejectionOf(async () => {
      for await (const s of webDataset([file])) seen.push(s.__key__);
    });
    expect(seen).toEqual(['a', 'b']);
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toContain(file);
    expect(err.message).toContain('"a"');
    expect((err as DecodeError).file).toBe(file);
    expect((err as DecodeError).key).toBe('a');
  });

  it('a field repeated within a sample is a DecodeError', async () => {
    const file = await shard([
      ['a.jpg', '1'],
      ['a.JPG', '2'],
    ]);
    const err = await rejectionOf(() => webDataset([file]).toArray());
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toMatch(/field 'jpg'/);
    expect((err as DecodeError).key).toBe('a');
  });

  it('a member larger than maxMemberBytes is a DecodeError; one at the bound is read', async () => {
    const file = await shard([
      ['a.bin', new Uint8Array(10)],
      ['b.bin', new Uint8Array(11)],
    ]);
    const got: WebDatasetSample[] = [];
    const err = await rejectionOf(async () => {
      for await (const s of webDataset([file], { maxMemberBytes: 10 })) got.push(s);
    });
    expect(got.map((s) => (s.bin as Uint8Array).length)).toEqual([10]);
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.message).toMatch(/at most 10 bytes.*"b.bin".*has 11/);
    expect(err.message).toContain(file);
    expect((err as DecodeError).parameter).toBe('maxMemberBytes');
    expect(await webDataset([file], { maxMemberBytes: 11 }).toArray()).toHaveLength(2);
  });

  it('a corrupt or missing shard fails with the error of tarEntries naming the shard', async () => {
    const bytes = await readFile(mainGz);
    const truncated = await tmp.write('truncated.tar.gz', bytes.subarray(0, bytes.length >> 1));
    const err = await rejectionOf(() => webDataset([truncated]).toArray());
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as ArchiveError).file).toBe(truncated);
    expect(err.message).toContain(truncated);
    const missing = tmp.path('missing.tar');
    const err2 = await rejectionOf(() => webDataset([missing]).toArray());
    expect(err2).toBeInstanceOf(NotFoundError);
    expect(err2.message).toContain(missing);
  });

  it('break closes the open shard file', async () => {
    await settle();
    const before = resourceCounts();
    let during = -1;
    for await (const _ of webDataset([main, mainGz], { shuffleShards: false })) {
      during = openDescriptorsFor(main);
      break;
    }
    await settle();
    if (canListOpenFds) expect(during).toBe(1);
    expect(openDescriptorsFor(main)).toBe(0);
    expect(openDescriptorsFor(mainGz)).toBe(0);
    expect(leaked(before, resourceCounts())).toEqual({});
  });

  it.each([
    ['shards', () => webDataset([])],
    ['shards', () => webDataset('a.tar' as unknown as string[])],
    ['shards[1]', () => webDataset(['a.tar', ''])],
    ['options', () => webDataset(['a.tar'], null as never)],
    ['numEpochs', () => webDataset(['a.tar'], { numEpochs: 0 })],
    ['shuffleShards', () => webDataset(['a.tar'], { shuffleShards: 'yes' as never })],
    ['seed', () => webDataset(['a.tar'], { seed: -1 })],
    ['decode', () => webDataset(['a.tar'], { decode: 'json' as never })],
    ['maxMemberBytes', () => webDataset(['a.tar'], { maxMemberBytes: 0 })],
  ])('rejects a bad %s at once', (parameter, action) => {
    const err = thrownBy(action);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).parameter).toBe(parameter);
    expect(err.message).toMatch(/^webDataset: Expected/);
  });
});

/** Runs a webDataset to its end or first error: samples, error and the stage's stats. */
async function runWds(shards: string[], options: WebDatasetOptions) {
  const stream = webDataset(shards, { shuffleShards: false, ...options });
  const samples: WebDatasetSample[] = [];
  let error: unknown = null;
  try {
    for await (const s of stream) samples.push(s);
  } catch (err) {
    error = err;
  }
  const stats = stream.stats().find((s) => s.name === 'web_dataset')!;
  return { samples, error, stats, report: stream.report() };
}

describe('webDataset: error policy', () => {
  it('skip: a member over maxMemberBytes drops its whole sample, the next one is read', async () => {
    const file = await shard([
      ['a.cls', '1'],
      ['b.cls', '2'],
      ['b.bin', new Uint8Array(50)],
      ['b.txt', 'after the big member'],
      ['c.cls', '3'],
    ]);
    const out = await runWds([file], { maxMemberBytes: 10, onError: 'skip' });
    expect(out.error).toBeNull();
    expect(keysOf(out.samples)).toEqual(['a', 'c']);
    expect(out.stats).toMatchObject({ read: 3, elementsOut: 2, skipped: 1 });
    expect(out.stats.skippedByReason).toEqual({ DecodeError: { count: 1, firstKeys: [`${file}#b`] } });
  });

  it('skip: a truncated shard ends as one skip (its half-built sample with it), then the next shard', async () => {
    const members: [string, Uint8Array | string][] = [];
    for (let i = 0; i < 6; i++)
      members.push([`k${i}.bin`, pseudoRandomBytes(3000, i)], [`k${i}.cls`, String(i)]);
    const full = await readFile(await shard(members));
    // Each member: 512 header + 3072 (or 512) data; cut inside k3.bin's data.
    const cutAt = 3 * (512 + 3072 + 1024) + 512 + 1000;
    const cut = await tmp.write('wds-cut.tar', full.subarray(0, cutAt));
    const next = singles[0];
    const missing = tmp.path('wds-missing.tar');
    const out = await runWds([cut, missing, next], { onError: 'skip' });
    expect(out.error).toBeNull();
    expect(keysOf(out.samples)).toEqual(['k0', 'k1', 'k2', 's0']);
    expect(out.stats).toMatchObject({ read: 6, elementsOut: 4, skipped: 2 });
    expect(out.stats.skippedByReason).toEqual({
      ArchiveError: { count: 1, firstKeys: [`${cut}#k3.bin`] },
      NotFoundError: { count: 1, firstKeys: [missing] },
    });
    expect(out.report.stages).toEqual([
      { stage: 'web_dataset', read: 6, yielded: 4, skipped: 2, skippedByReason: out.stats.skippedByReason },
    ]);
  });

  it('skip: decode failures, repeated fields and non-adjacent keys drop the sample', async () => {
    const file = await shard([
      ['a.cls', 'not a number'],
      ['b.cls', '2'],
      ['c.jpg', '1'],
      ['c.JPG', '2'],
      ['d.cls', '4'],
      ['b.txt', 'b again'],
      ['e.cls', '5'],
    ]);
    const out = await runWds([file], { decode: true, onError: 'skip' });
    expect(out.error).toBeNull();
    expect(out.samples.map((s) => [s.__key__, s.cls])).toEqual([
      ['b', 2],
      ['d', 4],
      ['e', 5],
    ]);
    expect(out.stats.skippedByReason).toEqual({
      DecodeError: { count: 3, firstKeys: [`${file}#a`, `${file}#c`, `${file}#b`] },
    });
    expect(out.stats.read).toBe(out.stats.elementsOut + out.stats.skipped);
  });

  it('warn: a line per skip; maxErrors raises TooManyErrorsError past the bound', async () => {
    const file = await shard([
      ['a.cls', 'x'],
      ['b.cls', 'y'],
      ['c.cls', '3'],
    ]);
    const lines: string[] = [];
    const warned = await runWds([file], { decode: true, onError: 'warn', warn: (l) => lines.push(l) });
    expect(keysOf(warned.samples)).toEqual(['c']);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`webDataset: skipped ${file}#a:`);
    const bounded = await runWds([file], { decode: true, onError: 'skip', maxErrors: 1 });
    expect(bounded.samples).toEqual([]);
    expect(bounded.error).toBeInstanceOf(TooManyErrorsError);
    expect((bounded.error as TooManyErrorsError).key).toBe(`${file}#b`);
  });

  it('numEpochs null with every shard failing raises TooManyErrorsError instead of spinning', async () => {
    const missing = [tmp.path('gone-1.tar'), tmp.path('gone-2.tar')];
    const t0 = performance.now();
    const out = await runWds(missing, { numEpochs: null, onError: 'skip' });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(out.error).toBeInstanceOf(TooManyErrorsError);
    expect((out.error as Error).message).toContain('every shard fails');
    expect(out.stats.skipped).toBe(4);
  });

  it('numEpochs null over shards holding no sample (an empty tar, only a README): DecodeError naming them', async () => {
    const empty = tmp.path('no-members.tar');
    execFileSync('tar', ['-cf', empty, '-T', '/dev/null']);
    const readme = await shard([['README', 'no sample here']]);
    for (const onError of ['raise', 'skip'] as const) {
      const t0 = performance.now();
      const out = await runWds([empty, readme], { numEpochs: null, onError, maxErrors: 10 });
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(out.error).toBeInstanceOf(DecodeError);
      const err = out.error as DecodeError;
      expect(err).toMatchObject({ stage: 'webDataset', parameter: 'shards' });
      expect([empty, readme]).toContain(err.file);
      expect(err.message).toContain(
        '4 shard reads in a row gave none and no error: the shards hold no samples',
      );
      expect(err.message).toContain(JSON.stringify(empty));
      expect(err.message).toContain(JSON.stringify(readme));
      expect(out.stats).toMatchObject({ read: 0, elementsOut: 0, skipped: 0 });
    }
    // `break` (return()) while the first pull is pending gets in: the pull ends, and so does return().
    const it = webDataset([empty], { numEpochs: null })[Symbol.asyncIterator]();
    const pending = it.next().catch((e: unknown) => e);
    const returned = await Promise.race([
      it.return!().then(() => 'returned'),
      new Promise((resolve) => setTimeout(() => resolve('still pending'), 3000)),
    ]);
    expect(returned).toBe('returned');
    expect(await pending).toBeInstanceOf(DecodeError);
  }, 15_000);

  it('numEpochs null: empty and failing shards together raise TooManyErrorsError; one good shard streams on', async () => {
    const empty = tmp.path('no-members-2.tar');
    execFileSync('tar', ['-cf', empty, '-T', '/dev/null']);
    const missing = tmp.path('gone-3.tar');
    const out = await runWds([empty, missing], { numEpochs: null, onError: 'skip' });
    expect(out.error).toBeInstanceOf(TooManyErrorsError);
    expect((out.error as Error).message).toContain('every shard fails or holds no sample');
    expect(out.stats).toMatchObject({ read: 2, elementsOut: 0, skipped: 2 });
    // Barren shards beside a good one are no reason to stop an endless stream.
    const keys: string[] = [];
    for await (const s of webDataset([empty, missing, singles[2]], { numEpochs: null, onError: 'skip' })) {
      keys.push(s.__key__);
      if (keys.length === 10) break;
    }
    expect(keys).toEqual(Array(10).fill('s2'));
  });

  it('raise: the sample whose error ends the stream is not counted; read = yielded + skipped', async () => {
    const file = await shard([
      ['a.cls', '1'],
      ['b.bin', new Uint8Array(50)],
      ['c.cls', '3'],
    ]);
    const out = await runWds([file], { maxMemberBytes: 10 });
    expect(out.error).toBeInstanceOf(DecodeError);
    expect(keysOf(out.samples)).toEqual(['a']);
    expect(out.stats).toMatchObject({ read: 1, elementsOut: 1, skipped: 0 });
  });

  it('a header declaring a huge member is never allocated up front: memory follows the bytes read', async () => {
    // One 512-byte header declaring `declared` bytes, then 512 bytes of data: a 1 KB shard.
    const lying = async (declared: number): Promise<string> => {
      const header = Buffer.alloc(512);
      header.write('s/000001.jpg', 0);
      header.write('0000644\0', 100);
      header.write('0000000\0', 108);
      header.write('0000000\0', 116);
      header.write(`${declared.toString(8).padStart(11, '0')}\0`, 124);
      header.write('00000000000\0', 136);
      header[156] = 0x30;
      header.write('ustar\0', 257);
      header.write('00', 263);
      header.fill(0x20, 148, 156);
      let sum = 0;
      for (const b of header) sum += b;
      header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
      return tmp.write(`lying-${declared}.tar`, Buffer.concat([header, Buffer.alloc(512, 1)]));
    };
    const at60MiB = await lying(60 * 2 ** 20);
    let peak = 0;
    let polling = true;
    const base = process.memoryUsage().arrayBuffers;
    const poll = () => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
      if (polling) setImmediate(poll);
    };
    poll();
    const out = await runWds([at60MiB, singles[3]], { onError: 'skip' });
    polling = false;
    expect(peak).toBeLessThan(16 * 2 ** 20);
    expect(keysOf(out.samples)).toEqual(['s3']);
    expect(out.stats.skippedByReason).toEqual({
      ArchiveError: { count: 1, firstKeys: [`${at60MiB}#s/000001.jpg`] },
    });
    // 8 GiB declared, allowed by maxMemberBytes: allocating it would fail outright (a RangeError).
    const at8GiB = await lying(8 * 2 ** 30 - 1);
    const err = await rejectionOf(() => webDataset([at8GiB], { maxMemberBytes: 2 ** 40 }).toArray());
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err.message).toContain('truncated');
    // Refused early from the declared size, without reading it, when over maxMemberBytes.
    const refused = await rejectionOf(() => webDataset([at8GiB]).toArray());
    expect(refused).toBeInstanceOf(DecodeError);
    expect((refused as DecodeError).parameter).toBe('maxMemberBytes');
  });

  it('rejects a bad onError', () => {
    const err = thrownBy(() => webDataset(['a.tar'], { onError: 'ignore' as never }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).parameter).toBe('onError');
  });

  it('fuzzed shards (truncated, bit-flipped): typed errors only; read = yielded + skipped, errors or not', async () => {
    const full = new Uint8Array(await readFile(main));
    const fullGz = new Uint8Array(await readFile(mainGz));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.option(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), bit: fc.nat(7) })),
        fc.constantFrom('raise' as const, 'skip' as const),
        async (gzip, cut, flip, onError) => {
          const base = gzip ? fullGz : full;
          const bytes = base.slice(0, Math.floor(cut * base.length));
          if (flip && bytes.length > 0)
            bytes[Math.min(bytes.length - 1, Math.floor(flip.at * bytes.length))] ^= 1 << flip.bit;
          const file = await tmp.write(`wds-fuzz-${n++}.tar`, bytes);
          const out = await runWds([file, singles[1]], { onError, decode: true });
          expect(out.stats.read).toBe(out.stats.elementsOut + out.stats.skipped);
          if (out.error !== null) {
            expect(onError).toBe('raise');
            expect(out.error).toBeInstanceOf(InputError);
            expect((out.error as InputError).file).toBe(file);
            return;
          }
          expect(keysOf(out.samples).at(-1)).toBe('s1');
          expect(out.stats.read).toBe(out.stats.elementsOut + out.stats.skipped);
        },
      ),
      { numRuns: 80 },
    );
  });
});
