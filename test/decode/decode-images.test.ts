import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, InvalidArgumentError, TooManyErrorsError } from '../../src/core/errors.js';
import { Stream } from '../../src/core/stream.js';
import { decodeImage } from '../../src/decode/decode-image.js';
import { decodeImages } from '../../src/decode/decode-images.js';
import { stringInputProducer } from '../../src/producers/string-input-producer.js';
import { wholeFileReader } from '../../src/readers/whole-file-reader.js';
import { drain, makeTempDir, type TempDir } from '../helpers/files.js';
import { leaked, resourceCounts, settle } from '../helpers/resources.js';
import { photoLike, sharpJpeg, sharpPng, withJpegDimensions } from './image-fixtures.js';

interface Rec {
  key: string;
  value?: Uint8Array;
  label?: number;
}

let jpeg: Uint8Array;
let png: Uint8Array;
/** Records k0..k{n-1}, alternately JPEG and PNG, with a label; `bad` replaces some values. */
let records: (n: number, bad?: Record<number, Uint8Array | undefined>) => Rec[];

beforeAll(async () => {
  jpeg = await sharpJpeg(photoLike(12, 16, 3), 12, 16, 3);
  png = await sharpPng(photoLike(12, 16, 3), 12, 16, 3);
  records = (n, bad = {}) =>
    Array.from({ length: n }, (_, i) => ({
      key: `k${i}`,
      label: i,
      ...(i in bad ? (bad[i] ? { value: bad[i] } : {}) : { value: i % 2 ? png : jpeg }),
    }));
});

const text = new TextEncoder().encode('not an image, just text');

describe('decodeImages', () => {
  it('replaces the bytes field with the decoded image, in input order, whatever the concurrency', async () => {
    const input = records(7);
    const expected = await Promise.all(input.map((r) => decodeImage(r.value!, { channels: 3 })));
    for (const concurrency of [1, 3, 8]) {
      const out = await decodeImages(input, { channels: 3, concurrency }).toArray();
      expect(out.map((o) => o.key)).toEqual(input.map((r) => r.key));
      expect(out.map((o) => o.label)).toEqual(input.map((r) => r.label));
      expect(out.map((o) => o.image)).toEqual(expected);
      for (const o of out) expect('value' in o).toBe(false);
    }
  });

  it('reads another field and converts the dtype', async () => {
    const [out] = await decodeImages([{ key: 'a', jpg: jpeg }], { field: 'jpg', dtype: 'float32' }).toArray();
    expect(out.image).toEqual(await decodeImage(jpeg, { dtype: 'float32' }));
    expect(Object.keys(out).sort()).toEqual(['image', 'key']);
  });

  it('raise (default) ends with the DecodeError naming the key, after the elements before it', async () => {
    const { out, error } = await drain(decodeImages(records(6, { 3: text }), { concurrency: 3 }));
    expect(out.map((o) => o.key)).toEqual(['k0', 'k1', 'k2']);
    expect(error).toBeInstanceOf(DecodeError);
    // The stage the user built, with decodeImage's own error (same class, message, key) as cause.
    expect(error).toMatchObject({ key: 'k3', stage: 'decodeImages', parameter: 'bytes' });
    expect((error as Error).message).toMatch(
      /^decodeImage: Expected JPEG or PNG bytes .* for "k3" but received text/,
    );
    const cause = (error as Error).cause;
    expect(cause).toBeInstanceOf(DecodeError);
    expect(cause).toMatchObject({ key: 'k3', stage: 'decodeImage', message: (error as Error).message });
  });

  it('skip drops each kind of bad image, counts it by key and goes on in order', async () => {
    const cut = jpeg.subarray(0, jpeg.length >> 1);
    const lying = withJpegDimensions(jpeg, 16000, 16000);
    const bad = { 1: text, 2: cut, 4: new Uint8Array(0), 5: lying, 7: undefined };
    const stream = decodeImages(records(9, bad), { onError: 'skip', concurrency: 2 });
    const { out, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(out.map((o) => o.key)).toEqual(['k0', 'k3', 'k6', 'k8']);
    expect(stream.report().stages).toEqual([
      {
        stage: 'decode_images',
        read: 9,
        yielded: 4,
        skipped: 5,
        skippedByReason: { DecodeError: { count: 5, firstKeys: ['k1', 'k2', 'k4', 'k5', 'k7'] } },
      },
    ]);
  });

  it('warn says why, naming the key (a missing field names the field)', async () => {
    const lines: string[] = [];
    const input: Rec[] = [{ key: 'a', value: jpeg }, { key: 'b' }, { key: 'c', value: text }];
    const out = await decodeImages(input, { onError: 'warn', warn: (l) => lines.push(l) }).toArray();
    expect(out.map((o) => o.key)).toEqual(['a']);
    expect(lines).toEqual([
      `decodeImages: skipped b: decodeImages: Expected image bytes (a Uint8Array) in field 'value' of "b" but received undefined`,
      `decodeImages: skipped c: decodeImage: Expected JPEG or PNG bytes (the formats decodeImage supports) for "c" but received text (23 bytes) starting "not an image, just text"`,
    ]);
  });

  it('past maxErrors raises TooManyErrorsError', async () => {
    const stream = decodeImages(records(8, { 1: text, 3: text, 5: text }), { onError: 'skip', maxErrors: 2 });
    const { out, error } = await drain(stream);
    expect(out.map((o) => o.key)).toEqual(['k0', 'k2', 'k4']);
    expect(error).toBeInstanceOf(TooManyErrorsError);
    expect(error).toMatchObject({ key: 'k5', parameter: 'maxErrors' });
    const [stage] = stream.report().stages;
    expect(stage).toMatchObject({ read: 6, yielded: 3, skipped: 3 });
  });

  it('elements without a string key are named by their index', async () => {
    const lines: string[] = [];
    const out = await decodeImages([{ value: jpeg }, { value: text }], {
      onError: 'warn',
      warn: (l) => lines.push(l),
    }).toArray();
    expect(out).toHaveLength(1);
    expect(lines[0]).toMatch(/^decodeImages: skipped #1: .* for "#1" but received text/);
  });

  it('pulls at most concurrency elements ahead of the consumer', async () => {
    let pulled = 0;
    const source = Stream.from({
      *[Symbol.iterator]() {
        for (let i = 0; i < 100; i++) {
          pulled++;
          yield { key: `k${i}`, value: jpeg };
        }
      },
    });
    const it = decodeImages(source, { concurrency: 3 })[Symbol.asyncIterator]();
    for (let consumed = 1; consumed <= 5; consumed++) {
      await it.next();
      await new Promise((r) => setTimeout(r, 5));
      expect(pulled - consumed).toBeLessThanOrEqual(3);
    }
    await it.return?.();
  });

  it('an upstream error comes after the elements pulled before it', async () => {
    const failing = Stream.from({
      async *[Symbol.asyncIterator]() {
        for (let i = 0; i < 3; i++) yield { key: `k${i}`, value: jpeg };
        throw new Error('upstream broke');
      },
    });
    const { out, error } = await drain(decodeImages(failing, { concurrency: 4 }));
    expect(out.map((o) => o.key)).toEqual(['k0', 'k1', 'k2']);
    expect((error as Error).message).toBe('upstream broke');
  });

  it('break closes the upstream and leaves no handles', async () => {
    await settle();
    const before = resourceCounts();
    let closed = false;
    const source = Stream.from({
      async *[Symbol.asyncIterator]() {
        try {
          for (let i = 0; ; i++) yield { key: `k${i}`, value: i % 3 ? jpeg : text };
        } finally {
          closed = true;
        }
      },
    });
    for await (const _ of decodeImages(source, { onError: 'skip' })) break;
    expect(closed).toBe(true);
    await settle();
    expect(leaked(before, resourceCounts())).toEqual({});
  });

  it.each([
    [{ field: '' }, /Expected a field name \(a non-empty string\) for field but received ""/],
    [{ channels: 2 }, /Expected one of 0, 1, 3, 4 for channels but received 2/],
    [{ dtype: 'int8' }, /for dtype but received "int8"/],
    [{ concurrency: 0 }, /Expected a positive integer for concurrency but received 0/],
    [{ onError: 'drop' }, /for onError but received "drop"/],
  ])('rejects options %j', (options, message) => {
    expect(() => decodeImages([], options as never)).toThrow(message);
    expect(() => decodeImages([], options as never)).toThrow(InvalidArgumentError);
  });
});

describe('decodeImages after wholeFileReader (a folder with bad files)', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('decode-images');
  });
  afterAll(() => tmp.cleanup());

  it('decodes the good files by content and skips the bad ones by file name', async () => {
    const files = [
      await tmp.write('cat.jpg', jpeg),
      await tmp.write('notes.jpg', 'shopping list: milk, eggs'),
      await tmp.write('really-a-png.jpg', png),
      await tmp.write('empty.jpg', new Uint8Array(0)),
      await tmp.write('cut.png', png.subarray(0, 60)),
    ];
    const lines: string[] = [];
    const stream = decodeImages(
      wholeFileReader(stringInputProducer(files, { shuffle: false, numEpochs: 1 })),
      {
        channels: 3,
        onError: 'warn',
        warn: (l) => lines.push(l),
      },
    );
    const out = await stream.toArray();
    expect(out.map((o) => o.key)).toEqual([files[0], files[2]]);
    expect(out[1].image).toEqual(await decodeImage(png, { channels: 3 }));
    expect(lines.map((l) => l.split(': ')[1])).toEqual([
      `skipped ${files[1]}`,
      `skipped ${files[3]}`,
      `skipped ${files[4]}`,
    ]);
    const decodeStage = stream.report().stages.find((s) => s.stage === 'decode_images');
    expect(decodeStage).toMatchObject({ read: 5, yielded: 2, skipped: 3 });
    expect(decodeStage?.skippedByReason.DecodeError.firstKeys).toEqual([files[1], files[3], files[4]]);
  });
});
