import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { registerConvGradientKernels } from '../../src/train/conv-gradient-kernels.js';
import { loadTf } from '../../src/train/load-tf.js';
import { cifar10Cnn } from '../../src/train/models.js';

/**
 * Every fast kernel is checked against the cpu backend's own kernel on the same numbers: values are
 * made as plain arrays, each backend builds its own tensors from them, results come back as arrays.
 */

const WASM_KERNELS = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'BatchMatMul',
  '_FusedMatMul',
  'MaxPoolGrad',
  'LRN',
  'LRNGrad',
  'Sum',
  'Identity',
];
const CPU_KERNELS = ['Conv2DBackpropFilter', 'MaxPoolGrad', 'LRNGrad', 'Sum'];

/** Deterministic values in [-1, 1) (mulberry32). */
function randomValues(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** max |a - b| / max |b|: the error relative to the reference's scale. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

async function onBackend<T>(backend: string, fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  return fn();
}

type Arrays = Record<string, { values: Float32Array; shape: number[] }>;

/** Runs one kernel through the engine on the active backend; returns its output values. */
function runKernelValues(kernel: string, inputs: Arrays, attrs: object): Float32Array {
  return tf.tidy(() => {
    const ts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]));
    const out = tf.engine().runKernel(kernel, ts, attrs as never) as tf.Tensor;
    return out.dataSync() as Float32Array;
  });
}

/** Saved cpu kernels, so the cpu reference stays the cpu backend's own after we register ours. */
const nativeCpu = new Map<string, ReturnType<typeof tf.getKernel>>();
let wasmRegistered: string[] = [];

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.setBackend('cpu');
  for (const k of CPU_KERNELS) nativeCpu.set(k, tf.getKernel(k, 'cpu'));
  wasmRegistered = registerConvGradientKernels(tf, 'wasm');
});

describe('registerConvGradientKernels', () => {
  it('serves the gradient kernels wasm lacks or runs slowly, and nothing on a backend without Conv2D', () => {
    expect(wasmRegistered).toEqual(WASM_KERNELS);
    for (const k of WASM_KERNELS) expect(tf.getKernel(k, 'wasm')).toBeDefined();
    expect(registerConvGradientKernels(tf, 'no-such-backend')).toEqual([]);
  });

  it('is idempotent: a second call changes nothing and reports the same kernels', () => {
    const before = WASM_KERNELS.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc);
    expect(registerConvGradientKernels(tf, 'wasm')).toEqual(WASM_KERNELS);
    expect(WASM_KERNELS.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc)).toEqual(before);
  });

  it('rejects a missing backend name', () => {
    expect(() => registerConvGradientKernels(tf, '')).toThrow(InvalidArgumentError);
    expect(() => registerConvGradientKernels(tf, '')).toThrow(/Expected a backend name for backendName/);
  });
});

interface ConvCase {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  stride: number;
  pad: 'same' | 'valid';
  seed: number;
}

const convCase = (maxStride: number) =>
  fc
    .record({
      batch: fc.integer({ min: 1, max: 4 }),
      height: fc.integer({ min: 1, max: 9 }),
      width: fc.integer({ min: 1, max: 9 }),
      inChannels: fc.integer({ min: 1, max: 8 }),
      outChannels: fc.integer({ min: 1, max: 8 }),
      filterHeight: fc.integer({ min: 1, max: 5 }),
      filterWidth: fc.integer({ min: 1, max: 5 }),
      stride: fc.integer({ min: 1, max: maxStride }),
      pad: fc.constantFrom('same' as const, 'valid' as const),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    })
    .filter((c) => c.pad === 'same' || (c.filterHeight <= c.height && c.filterWidth <= c.width));

function convShapes(c: ConvCase) {
  const x = [c.batch, c.height, c.width, c.inChannels];
  const filter = [c.filterHeight, c.filterWidth, c.inChannels, c.outChannels];
  const out = (n: number, f: number) =>
    c.pad === 'same' ? Math.ceil(n / c.stride) : Math.floor((n - f) / c.stride) + 1;
  const dy = [c.batch, out(c.height, c.filterHeight), out(c.width, c.filterWidth), c.outChannels];
  return { x, filter, dy };
}

/** dx and dW of Σ conv2d(x, w) · r, by tf.grads on the active backend. */
function convGrads(c: ConvCase): [Float32Array, Float32Array] {
  const s = convShapes(c);
  return tf.tidy(() => {
    const x = tf.tensor4d(randomValues(size(s.x), c.seed), s.x as [number, number, number, number]);
    const w = tf.tensor4d(
      randomValues(size(s.filter), c.seed + 1),
      s.filter as [number, number, number, number],
    );
    const r = tf.tensor4d(randomValues(size(s.dy), c.seed + 2), s.dy as [number, number, number, number]);
    const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.mul(tf.conv2d(a, b, c.stride, c.pad), r));
    const [dx, dw] = tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)([x, w]);
    return [dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
  });
}

describe('convolution gradients on wasm equal the cpu backend', () => {
  it('dx and dW of tf.grads(conv2d) agree within 1e-3 relative (strides 1-2, same/valid)', async () => {
    // Strides up to 2: wasm's own forward Conv2D returns zeros for some stride-3 'same' cases (e.g.
    // 9×9 input, 2×2 filter), which is not the gradient kernels' doing; stride 3 is covered below.
    await fc.assert(
      fc.asyncProperty(convCase(2), async (c) => {
        const [cpuDx, cpuDw] = await onBackend('cpu', () => convGrads(c));
        const [wasmDx, wasmDw] = await onBackend('wasm', () => convGrads(c));
        expect(relativeError(wasmDx, cpuDx)).toBeLessThan(1e-3);
        expect(relativeError(wasmDw, cpuDw)).toBeLessThan(1e-3);
      }),
      { numRuns: 40 },
    );
  });

  it('the convolution route of dW (more than 128 patch rows) agrees too', async () => {
    // Up to 128 patch rows (filter height · width · input channels) dW goes by im2col; these go by
    // a convolution over the examples.
    const wide = fc
      .record({
        batch: fc.integer({ min: 1, max: 3 }),
        height: fc.integer({ min: 5, max: 9 }),
        width: fc.integer({ min: 5, max: 9 }),
        inChannels: fc.integer({ min: 6, max: 8 }),
        outChannels: fc.integer({ min: 1, max: 4 }),
        filterHeight: fc.constant(5),
        filterWidth: fc.integer({ min: 4, max: 5 }),
        stride: fc.integer({ min: 1, max: 2 }),
        pad: fc.constantFrom('same' as const, 'valid' as const),
        seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      })
      .filter((c) => c.filterHeight * c.filterWidth * c.inChannels > 128);
    await fc.assert(
      fc.asyncProperty(wide, async (c) => {
        const [, cpuDw] = await onBackend('cpu', () => convGrads(c));
        const [, wasmDw] = await onBackend('wasm', () => convGrads(c));
        expect(relativeError(wasmDw, cpuDw)).toBeLessThan(1e-3);
      }),
      { numRuns: 15 },
    );
  });

  it('the kernels themselves agree for strides up to 3 and explicit paddings', async () => {
    const explicit = fc.tuple(
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 0, max: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(convCase(3), fc.option(explicit), async (c, pads) => {
        const pad = pads
          ? [
              [0, 0],
              [pads[0], pads[1]],
              [pads[2], pads[3]],
              [0, 0],
            ]
          : c.pad;
        const s = convShapes(c);
        const height = pads ? c.height + pads[0] + pads[1] : c.height;
        const width = pads ? c.width + pads[2] + pads[3] : c.width;
        if (pads && (height < c.filterHeight || width < c.filterWidth)) return;
        if (pads) {
          s.dy[1] = Math.floor((height - c.filterHeight) / c.stride) + 1;
          s.dy[2] = Math.floor((width - c.filterWidth) / c.stride) + 1;
        }
        const x = { values: randomValues(size(s.x), c.seed), shape: s.x };
        const filter = { values: randomValues(size(s.filter), c.seed + 1), shape: s.filter };
        const dy = { values: randomValues(size(s.dy), c.seed + 2), shape: s.dy };
        const common = { strides: c.stride, pad, dataFormat: 'NHWC' };
        const dwAttrs = { ...common, filterShape: s.filter };
        const dxAttrs = { ...common, inputShape: s.x };
        const cpu = await onBackend('cpu', () => [
          runKernelValues('Conv2DBackpropFilter', { x, dy }, dwAttrs),
          runKernelValues('Conv2DBackpropInput', { dy, filter }, dxAttrs),
        ]);
        const wasm = await onBackend('wasm', () => [
          runKernelValues('Conv2DBackpropFilter', { x, dy }, dwAttrs),
          runKernelValues('Conv2DBackpropInput', { dy, filter }, dxAttrs),
        ]);
        expect(relativeError(wasm[0], cpu[0])).toBeLessThan(1e-3);
        expect(relativeError(wasm[1], cpu[1])).toBeLessThan(1e-3);
      }),
      { numRuns: 40 },
    );
  });

  it('frees every intermediate tensor (both dW routes, strided dx, transposed products)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const base = { batch: 2, height: 7, width: 6, outChannels: 4, stride: 2, pad: 'same' as const, seed: 5 };
    const cases: ConvCase[] = [
      { ...base, inChannels: 3, filterHeight: 3, filterWidth: 3 },
      { ...base, inChannels: 8, filterHeight: 5, filterWidth: 5 },
    ];
    const matMuls = () =>
      tf.tidy(() => {
        const a = tf.ones([5, 3]);
        tf.matMul(a, tf.ones([4, 3]), false, true).dataSync();
        tf.matMul(a, tf.ones([5, 2]), true, false).dataSync();
      });
    const work = () => {
      for (const c of cases) convGrads(c);
      matMuls();
    };
    work();
    const before = { tensors: tf.memory().numTensors, data: backend.numDataIds() };
    for (let i = 0; i < 3; i++) work();
    expect({ tensors: tf.memory().numTensors, data: backend.numDataIds() }).toEqual(before);
  });

  it('dW reports unsupported layouts clearly; dx hands them to wasm’s own kernel', async () => {
    await tf.setBackend('wasm');
    const x = { values: randomValues(2 * 3 * 5 * 5, 1), shape: [2, 3, 5, 5] };
    const dy = { values: randomValues(2 * 4 * 5 * 5, 2), shape: [2, 4, 5, 5] };
    const nchw = { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] };
    expect(() => runKernelValues('Conv2DBackpropFilter', { x, dy }, nchw)).toThrow(InvalidArgumentError);
    expect(() => runKernelValues('Conv2DBackpropFilter', { x, dy }, nchw)).toThrow(/dataFormat 'NCHW'/);
    const dilated = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 2, filterShape: [3, 3, 5, 5] };
    expect(() => runKernelValues('Conv2DBackpropFilter', { x, dy: x }, dilated)).toThrow(/dilations 2/);

    // A padding as large as the filter is outside the rotated-filter identity: wasm's own kernel runs.
    const filter = { values: randomValues(2 * 2 * 3 * 4, 3), shape: [2, 2, 3, 4] };
    const dyBig = { values: randomValues(1 * 8 * 8 * 4, 4), shape: [1, 8, 8, 4] };
    const attrs = {
      strides: 1,
      pad: [
        [0, 0],
        [2, 2],
        [2, 2],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      inputShape: [1, 5, 5, 3],
    };
    const wasmDx = runKernelValues('Conv2DBackpropInput', { dy: dyBig, filter }, attrs);
    const cpuDx = await onBackend('cpu', () =>
      runKernelValues('Conv2DBackpropInput', { dy: dyBig, filter }, attrs),
    );
    expect(relativeError(wasmDx, cpuDx)).toBeLessThan(1e-3);
  });
});

describe('the other training kernels on wasm equal the cpu backend', () => {
  it('BatchMatMul and _FusedMatMul with transposed operands', async () => {
    // _FusedMatMul only unbatched: wasm's own gets batched products with an inner size of 1 wrong
    // (bias added per row), and batched products go to it unchanged.
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
        async (batch, m, k, n, ta, tb, seed) => {
          const a = { values: randomValues(batch * m * k, seed), shape: ta ? [batch, k, m] : [batch, m, k] };
          const b = {
            values: randomValues(batch * k * n, seed + 1),
            shape: tb ? [batch, n, k] : [batch, k, n],
          };
          const bias = { values: randomValues(n, seed + 2), shape: [n] };
          const attrs = { transposeA: ta, transposeB: tb };
          const fusedAttrs = { ...attrs, activation: 'relu' };
          const run = () => [
            runKernelValues('BatchMatMul', { a, b }, attrs),
            batch === 1 ? runKernelValues('_FusedMatMul', { a, b, bias }, fusedAttrs) : new Float32Array(0),
          ];
          const cpu = await onBackend('cpu', run);
          const wasm = await onBackend('wasm', run);
          expect(relativeError(wasm[0], cpu[0])).toBeLessThan(1e-5);
          expect(relativeError(wasm[1], cpu[1])).toBeLessThan(1e-5);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('MaxPoolGrad, ties included (the first maximum of a window gets the gradient)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          batch: fc.integer({ min: 1, max: 3 }),
          height: fc.integer({ min: 1, max: 9 }),
          width: fc.integer({ min: 1, max: 9 }),
          channels: fc.integer({ min: 1, max: 6 }),
          pool: fc.integer({ min: 1, max: 3 }),
          stride: fc.integer({ min: 1, max: 3 }),
          pad: fc.constantFrom('same' as const, 'valid' as const),
          ties: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        async (c) => {
          if (c.pad === 'valid' && (c.pool > c.height || c.pool > c.width)) return;
          const shape = [c.batch, c.height, c.width, c.channels] as [number, number, number, number];
          // Rounded values make equal maxima common, as relu's zeros do in a real network.
          const values = randomValues(size(shape), c.seed).map((v) => (c.ties ? Math.round(v * 2) : v));
          const grads = () =>
            tf.tidy(() => {
              const x = tf.tensor4d(values, shape);
              const pooled = tf.maxPool(x, c.pool, c.stride, c.pad);
              const r = tf.tensor(randomValues(pooled.size, c.seed + 1), pooled.shape);
              const f = (t: tf.Tensor) =>
                tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, c.pool, c.stride, c.pad), r));
              return tf.grad(f)(x).dataSync() as Float32Array;
            });
          const cpu = await onBackend('cpu', grads);
          const wasm = await onBackend('wasm', grads);
          expect(relativeError(wasm, cpu)).toBeLessThan(1e-6);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('LRN and its gradient, for the tutorial parameters and others', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          batch: fc.integer({ min: 1, max: 2 }),
          side: fc.integer({ min: 1, max: 4 }),
          channels: fc.integer({ min: 1, max: 12 }),
          depthRadius: fc.integer({ min: 0, max: 6 }),
          bias: fc.constantFrom(1, 0.5, 2),
          alpha: fc.constantFrom(0.001 / 9, 0.1, 1),
          beta: fc.constantFrom(0.75, 0.5, 0.3),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        async (c) => {
          const shape = [c.batch, c.side, c.side, c.channels] as [number, number, number, number];
          const values = randomValues(size(shape), c.seed).map((v) => v * 3);
          const run = () =>
            tf.tidy(() => {
              const x = tf.tensor4d(values, shape);
              const r = tf.tensor4d(randomValues(size(shape), c.seed + 1), shape);
              const lrn = (t: tf.Tensor) =>
                tf.localResponseNormalization(t as tf.Tensor4D, c.depthRadius, c.bias, c.alpha, c.beta);
              const y = lrn(x).dataSync() as Float32Array;
              const dx = tf
                .grad((t: tf.Tensor) => tf.sum(tf.mul(lrn(t), r)))(x)
                .dataSync() as Float32Array;
              return [y, dx];
            });
          const cpu = await onBackend('cpu', run);
          const wasm = await onBackend('wasm', run);
          expect(relativeError(wasm[0], cpu[0])).toBeLessThan(1e-5);
          expect(relativeError(wasm[1], cpu[1])).toBeLessThan(1e-5);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('Sum over the leading axes (bias gradients); other reductions unchanged', async () => {
    const shape = [3, 4, 5, 6];
    const x = { values: randomValues(size(shape), 9), shape };
    const cases = [
      { axis: [0, 1, 2], keepDims: false },
      { axis: [0], keepDims: true },
      { axis: [-4, -3], keepDims: false },
      { axis: [1, 2], keepDims: false },
      { axis: [3], keepDims: true },
      { axis: [0, 1, 2, 3], keepDims: false },
    ];
    for (const attrs of cases) {
      const cpu = await onBackend('cpu', () => runKernelValues('Sum', { x }, attrs));
      const wasm = await onBackend('wasm', () => runKernelValues('Sum', { x }, attrs));
      expect(relativeError(wasm, cpu)).toBeLessThan(1e-5);
    }
    const ints = await onBackend('wasm', () =>
      tf.tidy(() => Array.from(tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), 0).dataSync())),
    );
    expect(ints).toEqual([4, 6]);
  });
});

describe('Identity on wasm', () => {
  it('shares the data instead of copying it, and either tensor outlives the other', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const before = backend.numDataIds();
    const y = tf.clone(x);
    expect(backend.numDataIds()).toBe(before);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    const z = tf.clone(y);
    y.dispose();
    expect(Array.from(z.dataSync())).toEqual([1, 2, 3, 4]);
    z.dispose();
    expect(backend.numDataIds()).toBe(before - 1);
    const strings = tf.clone(tf.tensor1d(['a', 'b'], 'string'));
    expect(strings.arraySync()).toEqual(['a', 'b']);
  });
});

describe('on the cpu backend', () => {
  beforeAll(() => {
    expect(registerConvGradientKernels(tf, 'cpu')).toEqual(CPU_KERNELS);
  });

  afterAll(() => {
    // Put the cpu backend's own kernels back for the cpu references of the tests below.
    for (const [name, config] of nativeCpu) {
      tf.unregisterKernel(name, 'cpu');
      if (config) tf.registerKernel(config);
    }
  });

  it('the registered kernels equal the cpu backend’s own', async () => {
    await tf.setBackend('cpu');
    const backend = tf.backend();
    const native = (name: string, inputs: Arrays, attrs: object) =>
      tf.tidy(() => {
        const ts = Object.fromEntries(
          Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]),
        );
        const info = nativeCpu.get(name)!.kernelFunc({ inputs: ts, backend, attrs: attrs as never });
        const out = tf.engine().makeTensorFromTensorInfo(info as tf.TensorInfo);
        return out.dataSync() as Float32Array;
      });
    const x = { values: randomValues(2 * 7 * 6 * 3, 1), shape: [2, 7, 6, 3] };
    const dy = { values: randomValues(2 * 4 * 3 * 5, 2), shape: [2, 4, 3, 5] };
    const dwAttrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 5] };
    expect(
      relativeError(
        runKernelValues('Conv2DBackpropFilter', { x, dy }, dwAttrs),
        native('Conv2DBackpropFilter', { x, dy }, dwAttrs),
      ),
    ).toBeLessThan(1e-5);
    const input = { values: randomValues(2 * 7 * 6 * 3, 3).map((v) => Math.max(0, v)), shape: [2, 7, 6, 3] };
    const pooled = tf.tidy(
      () => tf.maxPool(tf.tensor4d(input.values, [2, 7, 6, 3]), 3, 2, 'same').dataSync() as Float32Array,
    );
    const output = { values: pooled, shape: [2, 4, 3, 3] };
    const poolDy = { values: randomValues(2 * 4 * 3 * 3, 4), shape: [2, 4, 3, 3] };
    const poolAttrs = { filterSize: 3, strides: 2, pad: 'same' };
    expect(
      relativeError(
        runKernelValues('MaxPoolGrad', { dy: poolDy, input, output }, poolAttrs),
        native('MaxPoolGrad', { dy: poolDy, input, output }, poolAttrs),
      ),
    ).toBeLessThan(1e-6);
    const lrnX = { values: randomValues(2 * 3 * 3 * 9, 5), shape: [2, 3, 3, 9] };
    const lrnAttrs = { depthRadius: 2, bias: 1, alpha: 0.5, beta: 0.75 };
    const lrnY = {
      values: tf.tidy(() =>
        tf.localResponseNormalization(tf.tensor4d(lrnX.values, [2, 3, 3, 9]), 2, 1, 0.5, 0.75).dataSync(),
      ) as Float32Array,
      shape: lrnX.shape,
    };
    const lrnDy = { values: randomValues(2 * 3 * 3 * 9, 6), shape: lrnX.shape };
    expect(
      relativeError(
        runKernelValues('LRNGrad', { x: lrnX, y: lrnY, dy: lrnDy }, lrnAttrs),
        native('LRNGrad', { x: lrnX, y: lrnY, dy: lrnDy }, lrnAttrs),
      ),
    ).toBeLessThan(1e-5);
    const sumAttrs = { axis: [0, 1, 2], keepDims: false };
    expect(
      relativeError(runKernelValues('Sum', { x }, sumAttrs), native('Sum', { x }, sumAttrs)),
    ).toBeLessThan(1e-6);
  });
});

describe('a full cifar10Cnn gradient', () => {
  it('wasm with these kernels equals the cpu backend within 1e-3 relative for every weight', async () => {
    await loadTf({ backends: ['wasm'], log: false });
    // One example: the cpu backend's own filter gradient takes seconds per example here; batches of
    // several are covered kernel by kernel above.
    const batch = 1;
    const images = randomValues(batch * 24 * 24 * 3, 11);
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([3], 'int32'), 10).dataSync() as Float32Array);
    let weights: { values: Float32Array; shape: number[] }[] = [];
    const gradients = () => {
      const model = cifar10Cnn({ seed: 3 });
      if (weights.length === 0) {
        weights = model.getWeights().map((w) => ({ values: w.dataSync() as Float32Array, shape: w.shape }));
      } else {
        // The same starting weights on both backends.
        model.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));
      }
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const names = model.trainableWeights.map((w) => w.originalName);
      const result = tf.tidy(() => {
        const x = tf.tensor4d(images, [batch, 24, 24, 3]);
        const y = tf.tensor2d(labels, [batch, 10]);
        const { grads } = tf.variableGrads(() => {
          const logits = model.apply(x, { training: true }) as tf.Tensor;
          return tf.addN([tf.losses.softmaxCrossEntropy(y, logits), ...model.calculateLosses()]) as tf.Scalar;
        }, variables);
        return variables.map((v) => grads[v.name].dataSync() as Float32Array);
      });
      model.dispose();
      return { names, result };
    };
    const cpu = await onBackend('cpu', gradients);
    const wasm = await onBackend('wasm', gradients);
    expect(wasm.names).toEqual(cpu.names);
    expect(cpu.names).toHaveLength(10);
    const errors = cpu.names.map((n, i) => [n, relativeError(wasm.result[i], cpu.result[i])] as const);
    for (const [name, err] of errors) expect(err, name).toBeLessThan(1e-3);
  });
});
