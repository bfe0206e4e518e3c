import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { CounterRng } from '../../src/core/rng.js';
import { flipLeftRight, flipUpDown, randomFlipLeftRight, randomFlipUpDown } from '../../src/image/flip.js';
import type { Image, Random } from '../../src/image/image.js';

/** A random HWC image: 1..8 x 1..8, 1, 3 or 4 channels, uint8 or finite float32. */
const arbImage = fc
  .record({
    height: fc.integer({ min: 1, max: 8 }),
    width: fc.integer({ min: 1, max: 8 }),
    channels: fc.constantFrom(1, 3, 4),
    dtype: fc.constantFrom('uint8' as const, 'float32' as const),
  })
  .chain(({ height, width, channels, dtype }) => {
    const n = height * width * channels;
    const data =
      dtype === 'uint8'
        ? fc.uint8Array({ minLength: n, maxLength: n })
        : fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true });
    return data.map((d) => ({ dtype, shape: [height, width, channels], data: d }) as Image);
  });

function rampImage(height: number, width: number, channels: number): Image<'uint8'> {
  const data = Uint8Array.from({ length: height * width * channels }, (_, i) => i);
  return { dtype: 'uint8', shape: [height, width, channels], data };
}

/** A Random whose uniformFloat32 answers `u` and that counts every call. */
function scripted(u: number): Random & { calls: string[] } {
  const calls: string[] = [];
  const answer = (method: string, value: number) => () => {
    calls.push(method);
    return value;
  };
  return {
    calls,
    nextUint32: answer('nextUint32', 0),
    uniform: answer('uniform', u),
    uniformFloat32: answer('uniformFloat32', u),
    below: answer('below', 0),
  };
}

function at(image: Image, y: number, x: number, c: number): number {
  const [, width, channels] = image.shape;
  return image.data[(y * width + x) * channels + c];
}

function toTf(image: Image): tf.Tensor3D {
  const [h, w, c] = image.shape;
  return image.dtype === 'uint8'
    ? tf.tensor3d(Int32Array.from(image.data), [h, w, c], 'int32')
    : tf.tensor3d(image.data as Float32Array, [h, w, c], 'float32');
}

function expectAgrees(ours: Image, theirs: tf.Tensor): void {
  expect(ours.shape).toEqual(theirs.shape);
  const want = theirs.dataSync();
  expect(ours.data.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(ours.data[i] - (want[i] as number)) <= 1e-4)) {
      throw new Error(`element ${i}: ${ours.data[i]} != ${want[i]}`);
    }
  }
}

function errorOf(call: () => unknown): InvalidArgumentError {
  try {
    call();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return e as InvalidArgumentError;
  }
  throw new Error('Expected a throw');
}

beforeAll(async () => {
  tf.env().set('IS_TEST', true); // silences the "install the node backend" banner
  await tf.setBackend('cpu');
});

describe('flipLeftRight', () => {
  it('reverses the columns, keeping each pixel whole', () => {
    const out = flipLeftRight(rampImage(2, 3, 2));
    expect(out.shape).toEqual([2, 3, 2]);
    expect(Array.from(out.data)).toEqual([4, 5, 2, 3, 0, 1, 10, 11, 8, 9, 6, 7]);
  });

  it('out[y, x, c] = image[y, W - 1 - x, c], an involution, input untouched (property)', () => {
    fc.assert(
      fc.property(arbImage, (image) => {
        const [height, width, channels] = image.shape;
        const before = image.data.slice();
        const out = flipLeftRight(image);
        expect(out.dtype).toBe(image.dtype);
        expect(out.data).toBeInstanceOf(image.data.constructor);
        expect(out.shape).toEqual(image.shape);
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++)
            for (let c = 0; c < channels; c++) expect(at(out, y, x, c)).toBe(at(image, y, width - 1 - x, c));
        expect(flipLeftRight(out)).toEqual(image);
        expect(image.data).toEqual(before);
      }),
    );
  });

  it('agrees with tf.reverse(axis 1) (property)', () => {
    fc.assert(
      fc.property(arbImage, (image) => {
        tf.tidy(() => expectAgrees(flipLeftRight(image), tf.reverse(toTf(image), 1)));
      }),
      { numRuns: 60 },
    );
  });

  it('a 1-column image comes back as an equal copy', () => {
    const image = rampImage(3, 1, 4);
    const out = flipLeftRight(image);
    expect(out).toEqual(image);
    expect(out.data.buffer).not.toBe(image.data.buffer);
  });
});

describe('flipUpDown', () => {
  it('reverses the rows', () => {
    const out = flipUpDown(rampImage(3, 2, 1));
    expect(Array.from(out.data)).toEqual([4, 5, 2, 3, 0, 1]);
  });

  it('out[y, x, c] = image[H - 1 - y, x, c], an involution, input untouched (property)', () => {
    fc.assert(
      fc.property(arbImage, (image) => {
        const [height, width, channels] = image.shape;
        const before = image.data.slice();
        const out = flipUpDown(image);
        expect(out.dtype).toBe(image.dtype);
        expect(out.data).toBeInstanceOf(image.data.constructor);
        expect(out.shape).toEqual(image.shape);
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++)
            for (let c = 0; c < channels; c++) expect(at(out, y, x, c)).toBe(at(image, height - 1 - y, x, c));
        expect(flipUpDown(out)).toEqual(image);
        expect(image.data).toEqual(before);
      }),
    );
  });

  it('agrees with tf.reverse(axis 0) (property)', () => {
    fc.assert(
      fc.property(arbImage, (image) => {
        tf.tidy(() => expectAgrees(flipUpDown(image), tf.reverse(toTf(image), 0)));
      }),
      { numRuns: 60 },
    );
  });

  it('a 1x1 image comes back as an equal copy', () => {
    const image: Image<'float32'> = { dtype: 'float32', shape: [1, 1, 1], data: Float32Array.of(0.25) };
    const out = flipUpDown(image);
    expect(out).toEqual(image);
    expect(out.data.buffer).not.toBe(image.data.buffer);
  });
});

describe.each([
  ['randomFlipLeftRight', randomFlipLeftRight, flipLeftRight],
  ['randomFlipUpDown', randomFlipUpDown, flipUpDown],
] as const)('%s', (name, randomFlip, flip) => {
  it.each([0, 0.25, 0.49999997])('flips when u = %d (< 0.5), with exactly one uniformFloat32 draw', (u) => {
    const image = rampImage(2, 2, 3);
    const rng = scripted(u);
    expect(randomFlip(image, rng)).toEqual(flip(image));
    expect(rng.calls).toEqual(['uniformFloat32']);
  });

  it.each([0.5, 0.75, 0.99999994])('keeps the image when u = %d (>= 0.5), with exactly one draw', (u) => {
    const image = rampImage(2, 2, 3);
    const rng = scripted(u);
    const out = randomFlip(image, rng);
    expect(out).toEqual(image);
    expect(out.data.buffer).not.toBe(image.data.buffer);
    expect(rng.calls).toEqual(['uniformFloat32']);
  });

  it('gives either the image or its flip, the same for the same rng state, input untouched (property)', () => {
    fc.assert(
      fc.property(arbImage, fc.nat(), (image, seed) => {
        const before = image.data.slice();
        const out = randomFlip(image, new CounterRng(seed, 'test'));
        const flips = new CounterRng(seed, 'test').uniformFloat32() < 0.5;
        expect(out).toEqual(flips ? flip(image) : image);
        expect(randomFlip(image, new CounterRng(seed, 'test'))).toEqual(out);
        expect(image.data).toEqual(before);
      }),
    );
  });

  it('flips about half the time (10000 images, 6-sigma bounds)', () => {
    const image = rampImage(2, 2, 1); // asymmetric on both axes
    const rng = new CounterRng(7, 'test');
    let flipped = 0;
    for (let i = 0; i < 10_000; i++) if (randomFlip(image, rng).data[0] !== 0) flipped++;
    // binomial(10000, 0.5): sd = 50
    expect(flipped).toBeGreaterThan(5000 - 300);
    expect(flipped).toBeLessThan(5000 + 300);
  });

  it('rejects a non-image before drawing', () => {
    const rng = scripted(0);
    const e = errorOf(() => randomFlip({ dtype: 'uint8', shape: [1, 1, 1] } as unknown as Image, rng));
    expect(e.parameter).toBe('image');
    expect(e.message).toMatch(new RegExp(`^${name}: Expected a uint8 or float32 image tensor`));
    expect(rng.calls).toEqual([]);
  });
});

describe.each([
  ['flipLeftRight', flipLeftRight],
  ['flipUpDown', flipUpDown],
] as const)('%s errors', (name, flip) => {
  it('rejects a non-image', () => {
    const e = errorOf(() => flip({ dtype: 'float32', shape: [1, 1, 1, 1], data: new Float32Array(1) }));
    expect(e.parameter).toBe('image');
    expect(e.message).toMatch(new RegExp(`^${name}: Expected a uint8 or float32 image tensor`));
  });
});
