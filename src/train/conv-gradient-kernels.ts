/**
 * Fast training kernels for tfjs backends that lack them or run them slowly, registered by `loadTf`.
 *
 * The wasm backend has no `Conv2DBackpropFilter` (stock CNN training fails on it) and runs several other
 * training kernels as scalar loops, while its `Conv2D` and untransposed `BatchMatMul` run XNNPACK's SIMD
 * GEMM. Both convolution gradients are forward convolutions over rearranged tensors (the classic
 * identities), so expressing them that way makes them as fast as the forward pass:
 *
 * - dW[i,j,c,o] = Σ_{n,y,x} x[n, y·s+i-top, x·s+j-left, c] · dy[n,y,x,o] is a convolution whose batch is
 *   the input channel c, whose contraction channel is the batch n, whose filter is dy and whose dilation
 *   is the stride s.
 * - dx is a stride-1 convolution of dy (with s-1 zeros inserted between its rows and columns) with the
 *   filter rotated 180° and its channel axes swapped.
 *
 * The rest: matrix products get their transposes done first (only untransposed products reach the GEMM),
 * and MaxPoolGrad, LRN, LRNGrad and bias-gradient sums are single-pass loops over the data.
 *
 * Composite kernels call the backend's registered kernels (`getKernel(...).kernelFunc`), the way backends
 * compose their own: no tensors, no tape, intermediates freed with `disposeData`.
 */
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { InvalidArgumentError, invalidArgument } from '../core/errors.js';
import type { TfNamespace } from './load-tf.js';

const STAGE = 'convGradientKernels';

type Pad =
  | 'valid'
  | 'same'
  | number
  | [[number, number], [number, number], [number, number], [number, number]];
type Shape4 = [number, number, number, number];

interface ConvGradAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
}

type KernelFuncArgs = { inputs: Record<string, TensorInfo>; backend: KernelBackend; attrs?: NamedAttrMap };
type KernelFunc = (args: KernelFuncArgs) => TensorInfo | TensorInfo[];

/** A kernel we can serve, and on which backends it replaces an existing kernel because ours is faster. */
interface FastKernel {
  kernelName: string;
  /** Backends whose own kernel ours replaces (timed there with bench/train-step.ts --profile). */
  replaceOn: readonly string[];
  /** Whether ours is added to any backend that lacks the kernel but has the `needs`. */
  addWhereMissing: boolean;
  /** Kernels ours is composed of (besides the replaced original). */
  needs: readonly string[];
  make: (tf: TfNamespace, backendName: string, original: KernelFunc | undefined) => KernelFunc;
}

/**
 * Times in the comments: one call at cifar10Cnn's sizes, the backend's own kernel vs ours, batch 128 on
 * wasm and batch 8 on cpu, measured side by side in one process on the 2-core dev machine (the filter
 * gradient's cpu times are conv1 / conv2).
 */
const FAST_KERNELS: readonly FastKernel[] = [
  {
    // wasm has none; cpu's own: 3.1 s / 15.5 s vs 0.10 s / 0.39 s.
    kernelName: 'Conv2DBackpropFilter',
    replaceOn: ['cpu'],
    addWhereMissing: true,
    needs: ['Conv2D', 'Transpose', 'Slice', 'Reshape', 'BatchMatMul'],
    make: backpropFilterKernel,
  },
  {
    // wasm's own is a scalar loop: 1.33 s vs 0.15 s (conv2). On cpu ours is no faster.
    kernelName: 'Conv2DBackpropInput',
    replaceOn: ['wasm'],
    addWhereMissing: false,
    needs: ['Conv2D', 'Transpose', 'Reverse', 'Reshape', 'PadV2', 'Slice'],
    make: backpropInputKernel,
  },
  {
    // wasm sends a transposed operand to a scalar loop: 110-120 ms vs 10 ms (dense 384's dW and dx).
    kernelName: 'BatchMatMul',
    replaceOn: ['wasm'],
    addWhereMissing: false,
    needs: ['Transpose'],
    make: replacing(untransposedMatMulKernel(false)),
  },
  {
    kernelName: '_FusedMatMul',
    replaceOn: ['wasm'],
    addWhereMissing: false,
    needs: ['Transpose'],
    make: replacing(untransposedMatMulKernel(true)),
  },
  {
    // pool1: wasm 163 ms vs 55-90 ms; cpu 224 ms vs 35 ms.
    kernelName: 'MaxPoolGrad',
    replaceOn: ['wasm', 'cpu'],
    addWhereMissing: false,
    needs: [],
    make: replacing(maxPoolGradKernel),
  },
  {
    // A running window sum instead of one window per channel: wasm 23 ms vs 12 ms (cpu's own is as fast).
    kernelName: 'LRN',
    replaceOn: ['wasm'],
    addWhereMissing: false,
    needs: [],
    make: replacing(lrnKernel),
  },
  {
    // wasm 41 ms vs 23 ms; cpu 18.5 ms vs 16.5 ms (and O(C) rather than O(C·radius)).
    kernelName: 'LRNGrad',
    replaceOn: ['wasm', 'cpu'],
    addWhereMissing: false,
    needs: [],
    make: replacing(lrnGradKernel),
  },
  {
    // Bias gradients sum over every axis but the last, which both backends transpose to the end first:
    // conv1's bias, wasm 34 ms vs 14 ms; cpu 25 ms vs 3 ms.
    kernelName: 'Sum',
    replaceOn: ['wasm', 'cpu'],
    addWhereMissing: false,
    needs: [],
    make: replacing(leadingAxesSumKernel),
  },
  {
    // wasm copies; tfjs never writes into a tensor's memory, so sharing it (as cpu does) is enough.
    // A cifar10Cnn training step clones 62 tensors, activations included.
    kernelName: 'Identity',
    replaceOn: ['wasm'],
    addWhereMissing: false,
    needs: [],
    make: replacing(sharedIdentityKernel),
  },
];

const OURS = new WeakSet<KernelFunc>();

type Replacement = (tf: TfNamespace, backendName: string, original: KernelFunc) => KernelFunc;

/** A kernel that only ever replaces the backend's own, which it calls for the cases it leaves alone. */
function replacing(make: Replacement): FastKernel['make'] {
  return (tf, backendName, original) => {
    if (original === undefined)
      throw new Error(`${STAGE}: a replacement kernel needs the kernel it replaces`);
    return make(tf, backendName, original);
  };
}

/**
 * Registers inqueue's fast training kernels for `backendName` where that backend lacks them
 * (`Conv2DBackpropFilter` on wasm) or its own are much slower (see FAST_KERNELS: on wasm the convolution
 * gradients, transposed matrix products, MaxPoolGrad, LRN, LRNGrad and bias sums; on cpu the filter
 * gradient, MaxPoolGrad, LRNGrad and bias sums). Other backends get only the kernels they lack. Calling
 * it again is harmless. Returns the names of the kernels these implementations now serve there.
 */
export function registerConvGradientKernels(tf: TfNamespace, backendName: string): string[] {
  if (typeof backendName !== 'string' || backendName === '') {
    throw invalidArgument('backendName', 'a backend name', backendName, STAGE);
  }
  const served: string[] = [];
  for (const { kernelName, replaceOn, addWhereMissing, needs, make } of FAST_KERNELS) {
    const existing = tf.getKernel(kernelName, backendName);
    const existingFunc = existing?.kernelFunc as KernelFunc | undefined;
    if (existingFunc !== undefined && OURS.has(existingFunc)) {
      served.push(kernelName);
      continue;
    }
    if (existing === undefined ? !addWhereMissing : !replaceOn.includes(backendName)) continue;
    if (!needs.every((k) => tf.getKernel(k, backendName) !== undefined)) continue;
    const kernelFunc = make(tf, backendName, existingFunc);
    OURS.add(kernelFunc);
    // registerKernel warns when the name is taken; unregistering first keeps the replacement quiet.
    if (existing !== undefined) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: kernelFunc as never,
      setupFunc: existing?.setupFunc,
      disposeFunc: existing?.disposeFunc,
    });
    served.push(kernelName);
  }
  return served;
}

/** Runs the backend's own kernels by name and frees every intermediate except what is returned. */
class KernelScope {
  private readonly made: TensorInfo[] = [];

  constructor(
    private readonly tf: TfNamespace,
    private readonly backendName: string,
    readonly backend: KernelBackend,
  ) {}

  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    const config = this.tf.getKernel(kernelName, this.backendName);
    if (config === undefined) {
      throw new Error(`${STAGE}: backend '${this.backendName}' has no '${kernelName}' kernel`);
    }
    const out = (config.kernelFunc as KernelFunc)({ inputs, attrs, backend: this.backend }) as TensorInfo;
    this.made.push(out);
    return out;
  }

  /** Takes charge of a tensor made outside `run`, to be freed with the intermediates. */
  adopt(t: TensorInfo): TensorInfo {
    this.made.push(t);
    return t;
  }

  /** Frees the intermediates; `keep` (the kernel's result) survives. */
  finish(keep: TensorInfo): TensorInfo {
    for (const t of this.made) if (t !== keep) this.backend.disposeData(t.dataId);
    this.made.length = 0;
    return keep;
  }

  fail(err: unknown): never {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made.length = 0;
    throw err;
  }
}

/** Why our kernel cannot serve these attributes, or undefined when it can. */
function unsupported(attrs: ConvGradAttrs): string | undefined {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    return `dataFormat '${attrs.dataFormat}' (only 'NHWC' is supported)`;
  }
  const d = attrs.dilations;
  if (d !== undefined && (Array.isArray(d) ? d.some((v) => v !== 1) : d !== 1)) {
    return `dilations ${JSON.stringify(d)} (only 1 is supported)`;
  }
  return undefined;
}

function unsupportedError(kernelName: string, backendName: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `${STAGE}: ${kernelName} on backend '${backendName}' does not support ${why}, and the backend has no kernel of its own to fall back to`,
    { parameter: why.split(' ')[0], stage: STAGE },
  );
}

function convInfo(tf: TfNamespace, inShape: Shape4, filterShape: Shape4, attrs: ConvGradAttrs) {
  return tf.backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** Filter gradients with at most this many patch rows (filter height · width · input channels) go by im2col. */
const IM2COL_MAX_ROWS = 128;

type ConvInfo = ReturnType<TfNamespace['backend_util']['computeConv2DInfo']>;

/**
 * The transposed im2col matrix of x for a convolution: [1, fh·fw·Ci, N·Ho·Wo], row (i·fw + j)·Ci + c
 * holding x[n, oy·s + i − top, ox·s + j − left, c] for every output position (0 in the padding).
 */
function im2colTransposed(backend: KernelBackend, x: TensorInfo, info: ConvInfo): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const positions = batchSize * outHeight * outWidth;
  const rows = filterHeight * filterWidth * inChannels;
  return writeFloats(
    backend,
    [1, rows, positions],
    (out) => {
      const xs = readFloats(backend, x);
      for (let i = 0; i < filterHeight; i++) {
        for (let j = 0; j < filterWidth; j++) {
          // The output columns whose input column lies inside x.
          const ox0 = Math.max(0, Math.ceil((left - j) / strideWidth));
          const ox1 = Math.min(outWidth, Math.floor((inWidth - 1 + left - j) / strideWidth) + 1);
          for (let c = 0; c < inChannels; c++) {
            const row = ((i * filterWidth + j) * inChannels + c) * positions;
            for (let n = 0; n < batchSize; n++) {
              for (let oy = 0; oy < outHeight; oy++) {
                const iy = oy * strideHeight + i - top;
                if (iy < 0 || iy >= inHeight) continue;
                const dst = row + (n * outHeight + oy) * outWidth;
                const srcRow = (n * inHeight + iy) * inWidth;
                for (let ox = ox0; ox < ox1; ox++) {
                  out[dst + ox] = xs[(srcRow + ox * strideWidth + j - left) * inChannels + c];
                }
              }
            }
          }
        }
      }
    },
    true,
  );
}

function backpropFilterKernel(tf: TfNamespace, backendName: string, original?: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as ConvGradAttrs & { filterShape: Shape4 };
    const why = unsupported(attrs);
    if (why !== undefined) {
      if (original) return original(args);
      throw unsupportedError('Conv2DBackpropFilter', backendName, why);
    }
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const info = convInfo(tf, x.shape as Shape4, attrs.filterShape, attrs);
    const scope = new KernelScope(tf, backendName, args.backend);
    try {
      const patchRows = info.filterHeight * info.filterWidth * info.inChannels;
      const dw =
        patchRows <= IM2COL_MAX_ROWS
          ? filterGradByIm2col(scope, x, dy, info, attrs.filterShape)
          : filterGradByConv(scope, x, dy, info);
      return scope.finish(dw);
    } catch (err) {
      return scope.fail(err);
    }
  };
}

/**
 * Few patch rows (a first layer: 5·5·3 = 75): dW = patchesᵀ · dy as one matrix product, which reads dy
 * in place where the convolution route transposes it (72 vs 90 ms for the tutorial's conv1 on wasm).
 */
function filterGradByIm2col(
  scope: KernelScope,
  x: TensorInfo,
  dy: TensorInfo,
  info: ConvInfo,
  filterShape: Shape4,
): TensorInfo {
  const patches = scope.adopt(im2colTransposed(scope.backend, x, info));
  const dyFlat = scope.run('Reshape', { x: dy }, { shape: [1, patches.shape[2], info.outChannels] });
  const product = scope.run(
    'BatchMatMul',
    { a: patches, b: dyFlat },
    { transposeA: false, transposeB: false },
  );
  return scope.run('Reshape', { x: product }, { shape: filterShape });
}

/** dW as a convolution of x (batch = input channels) with dy (contracting over the examples). */
function filterGradByConv(scope: KernelScope, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo {
  const { inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } =
    info;
  const { top, left } = info.padInfo;
  // Rows of x the filter window ever reaches: (out-1)·stride + filter, counted from the padded top.
  const bottom = Math.max(0, (outHeight - 1) * strideHeight + filterHeight - top - inHeight);
  const right = Math.max(0, (outWidth - 1) * strideWidth + filterWidth - left - inWidth);
  // x as a batch of input channels whose channels are the examples: [Ci, H, W, N].
  const xT = scope.run('Transpose', { x }, { perm: [3, 1, 2, 0] });
  // dy as a filter contracting over the examples: [Ho, Wo, N, Co].
  const dyT = scope.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  let w = scope.run(
    'Conv2D',
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [strideHeight, strideWidth],
    },
  );
  // [Ci, fh', fw', Co]: a 'same'/'valid' pad can leave rows past the last window; drop them.
  if (w.shape[1] !== filterHeight || w.shape[2] !== filterWidth) {
    w = scope.run(
      'Slice',
      { x: w },
      { begin: [0, 0, 0, 0], size: [w.shape[0], filterHeight, filterWidth, w.shape[3]] },
    );
  }
  return scope.run('Transpose', { x: w }, { perm: [1, 2, 0, 3] });
}

function backpropInputKernel(tf: TfNamespace, backendName: string, original?: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as ConvGradAttrs & { inputShape: Shape4 };
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    let why = unsupported(attrs);
    const info =
      why === undefined ? convInfo(tf, attrs.inputShape, filter.shape as Shape4, attrs) : undefined;
    if (info !== undefined) {
      const { top, bottom, left, right } = info.padInfo;
      if (
        top >= info.filterHeight ||
        bottom >= info.filterHeight ||
        left >= info.filterWidth ||
        right >= info.filterWidth
      ) {
        why = `padding ${JSON.stringify(attrs.pad)} as large as the filter`;
      }
    }
    if (why !== undefined || info === undefined) {
      if (original) return original(args);
      throw unsupportedError('Conv2DBackpropInput', backendName, why ?? 'these attributes');
    }
    const { batchSize, inHeight, inWidth, outHeight, outWidth, outChannels, strideHeight, strideWidth } =
      info;
    const { filterHeight, filterWidth } = info;
    const { top, left } = info.padInfo;
    const scope = new KernelScope(tf, backendName, args.backend);
    try {
      let spread = dy;
      let rows = outHeight;
      let cols = outWidth;
      if (strideHeight > 1 || strideWidth > 1) {
        // Put stride-1 zeros after every row and column of dy: [N, Ho·sh, Wo·sw, Co].
        const six = scope.run(
          'Reshape',
          { x: dy },
          { shape: [batchSize, outHeight, 1, outWidth, 1, outChannels] },
        );
        const padded = scope.run(
          'PadV2',
          { x: six },
          {
            paddings: [
              [0, 0],
              [0, 0],
              [0, strideHeight - 1],
              [0, 0],
              [0, strideWidth - 1],
              [0, 0],
            ],
            constantValue: 0,
          },
        );
        rows = outHeight * strideHeight;
        cols = outWidth * strideWidth;
        spread = scope.run('Reshape', { x: padded }, { shape: [batchSize, rows, cols, outChannels] });
      }
      // dx row r takes dy rows (r + top - i)/s for filter rows i: a full correlation, so pad dy by
      // filter-1-top before and whatever completes inHeight + filter - 1 rows after.
      const padTop = filterHeight - 1 - top;
      const padLeft = filterWidth - 1 - left;
      let padBottom = inHeight + filterHeight - 1 - padTop - rows;
      let padRight = inWidth + filterWidth - 1 - padLeft - cols;
      if (padBottom < 0 || padRight < 0) {
        // Only trailing inserted zeros lie past the last row or column that dx uses.
        spread = scope.run(
          'Slice',
          { x: spread },
          {
            begin: [0, 0, 0, 0],
            size: [batchSize, rows + Math.min(0, padBottom), cols + Math.min(0, padRight), outChannels],
          },
        );
        padBottom = Math.max(0, padBottom);
        padRight = Math.max(0, padRight);
      }
      // W[i,j,c,o] -> W'[fh-1-i, fw-1-j, o, c].
      const rotated = scope.run('Reverse', { x: filter }, { dims: [0, 1] });
      const swapped = scope.run('Transpose', { x: rotated }, { perm: [0, 1, 3, 2] });
      const dx = scope.run(
        'Conv2D',
        { x: spread, filter: swapped },
        {
          strides: [1, 1],
          pad: [
            [0, 0],
            [padTop, padBottom],
            [padLeft, padRight],
            [0, 0],
          ],
          dataFormat: 'NHWC',
          dilations: [1, 1],
        },
      );
      return scope.finish(dx);
    } catch (err) {
      return scope.fail(err);
    }
  };
}

/**
 * BatchMatMul / _FusedMatMul with the transposes done first: on wasm only the untransposed, unbatched
 * product runs XNNPACK's GEMM (112 ms vs 9 ms for 128×2304 · 2304×384), and a transpose costs a few
 * percent of that. A plain product may instead be computed as (op(B)ᵀ · op(A)ᵀ)ᵀ when that moves fewer
 * numbers (dense dx = dy · Wᵀ transposes dy and the result rather than W). Batched products (all paths
 * equally slow there) go to the backend's own kernel unchanged.
 */
function untransposedMatMulKernel(fused: boolean): Replacement {
  return (tf, backendName, original) => (args) => {
    const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    const ta = attrs.transposeA === true;
    const tb = attrs.transposeB === true;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const unbatched =
      a.shape.slice(0, -2).every((d) => d === 1) && b.shape.slice(0, -2).every((d) => d === 1);
    if (!(ta || tb) || !unbatched) return original(args);
    const scope = new KernelScope(tf, backendName, args.backend);
    const swap = (t: TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      perm.splice(-2, 2, perm.length - 1, perm.length - 2);
      return scope.run('Transpose', { x: t }, { perm });
    };
    const product = (left: TensorInfo, right: TensorInfo) =>
      original({
        ...args,
        inputs: { ...args.inputs, a: left, b: right },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      }) as TensorInfo;
    try {
      const sizeA = a.shape.reduce((p, d) => p * d, 1);
      const sizeB = b.shape.reduce((p, d) => p * d, 1);
      const rows = a.shape[a.shape.length - (ta ? 1 : 2)];
      const cols = b.shape[b.shape.length - (tb ? 2 : 1)];
      const direct = (ta ? sizeA : 0) + (tb ? sizeB : 0);
      const swapped = (ta ? 0 : sizeA) + (tb ? 0 : sizeB) + rows * cols;
      if (fused || direct <= swapped) {
        return scope.finish(product(ta ? swap(a) : a, tb ? swap(b) : b));
      }
      const transposedResult = scope.adopt(product(tb ? b : swap(b), ta ? a : swap(a)));
      return scope.finish(swap(transposedResult));
    } catch (err) {
      return scope.fail(err);
    }
  };
}

/** Float32 views of tensor data and fresh outputs, without copies where the backend allows. */
interface HeapBackend {
  typedArrayFromHeap(info: TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

function isHeapBackend(backend: KernelBackend): backend is KernelBackend & HeapBackend {
  const b = backend as Partial<HeapBackend>;
  return typeof b.typedArrayFromHeap === 'function' && typeof b.makeOutput === 'function';
}

function readFloats(backend: KernelBackend, t: TensorInfo): Float32Array {
  return isHeapBackend(backend)
    ? backend.typedArrayFromHeap(t)
    : (backend.readSync(t.dataId) as Float32Array);
}

/**
 * Allocates a float32 output, has `fill` write it, and returns it as a TensorInfo. `zeroed` when `fill`
 * only adds to some elements (a fresh wasm allocation holds whatever was there before).
 */
function writeFloats(
  backend: KernelBackend,
  shape: number[],
  fill: (out: Float32Array) => void,
  zeroed = false,
): TensorInfo {
  if (isHeapBackend(backend)) {
    const out = backend.makeOutput(shape, 'float32');
    const view = backend.typedArrayFromHeap(out);
    if (zeroed) view.fill(0);
    fill(view);
    return out;
  }
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  fill(values);
  const withInfo = backend as unknown as {
    makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
  };
  return withInfo.makeTensorInfo(shape, 'float32', values);
}

/**
 * MaxPoolGrad (NHWC) by scanning each window once: the gradient goes to the window's first maximum,
 * as in TF and tfjs's cpu backend. Channels are the inner loop, so every read is sequential.
 */
function maxPoolGradKernel(tf: TfNamespace, _backendName: string, original: KernelFunc): KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    const attrs = args.attrs as {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: Pad;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    if (input.dtype !== 'float32' || dy.dtype !== 'float32') return original(args);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as Shape4,
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const {
      batchSize,
      inHeight,
      inWidth,
      inChannels: C,
      outHeight,
      outWidth,
      strideHeight,
      strideWidth,
    } = info;
    const { effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
    const { top, left } = info.padInfo;
    const backend = args.backend;
    return writeFloats(
      backend,
      input.shape,
      (dx) => {
        // Views after the output is allocated: an allocation may grow (and so detach) the wasm heap.
        const x = readFloats(backend, input);
        const g = readFloats(backend, dy);
        const best = new Float32Array(C);
        const where = new Int32Array(C);
        for (let n = 0; n < batchSize; n++) {
          for (let oy = 0; oy < outHeight; oy++) {
            const y0 = Math.max(0, oy * strideHeight - top);
            const y1 = Math.min(inHeight, oy * strideHeight - top + fh);
            for (let ox = 0; ox < outWidth; ox++) {
              const x0 = Math.max(0, ox * strideWidth - left);
              const x1 = Math.min(inWidth, ox * strideWidth - left + fw);
              best.fill(Number.NEGATIVE_INFINITY);
              where.fill(-1);
              for (let iy = y0; iy < y1; iy++) {
                for (let ix = x0; ix < x1; ix++) {
                  const base = ((n * inHeight + iy) * inWidth + ix) * C;
                  for (let c = 0; c < C; c++) {
                    const v = x[base + c];
                    if (v > best[c]) {
                      best[c] = v;
                      where[c] = base + c;
                    }
                  }
                }
              }
              const gBase = ((n * outHeight + oy) * outWidth + ox) * C;
              for (let c = 0; c < C; c++) if (where[c] >= 0) dx[where[c]] += g[gBase + c];
            }
          }
        }
      },
      true,
    );
  };
}

interface LrnAttrs {
  depthRadius: number;
  bias: number;
  alpha: number;
  beta: number;
}

/** The channel windows [lo[c], hi[c]) of LRN, clipped to the channels. */
function lrnWindows(channels: number, depthRadius: number): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(channels);
  const hi = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    lo[c] = Math.max(0, c - depthRadius);
    hi[c] = Math.min(channels, c + depthRadius + 1);
  }
  return { lo, hi };
}

/**
 * N[c] = bias + alpha · Σ_{|k-c| ≤ r} x[k]² for the pixel at x[base..base+C), by a window sum that adds
 * the channel entering and drops the one leaving (float64): O(C) whatever the radius.
 */
function lrnNorms(x: Float32Array, base: number, C: number, attrs: LrnAttrs, norm: Float64Array): void {
  const { depthRadius: r, bias, alpha } = attrs;
  let sum = 0;
  for (let k = 0; k < r && k < C; k++) sum += x[base + k] * x[base + k];
  for (let c = 0; c < C; c++) {
    const enter = c + r;
    if (enter < C) sum += x[base + enter] * x[base + enter];
    const leave = c - r - 1;
    if (leave >= 0) sum -= x[base + leave] * x[base + leave];
    norm[c] = bias + alpha * sum;
  }
}

/** Ours serves float32 NHWC tensors; anything else goes to the backend's own kernel. */
const lrnServes = (x: TensorInfo) => x.dtype === 'float32' && x.shape.length === 4;

/** LRN: y = x · N^-beta (TF's `tf.nn.lrn`, tfjs's `localResponseNormalization`). */
function lrnKernel(_tf: TfNamespace, _backendName: string, original: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (!lrnServes(x)) return original(args);
    const attrs = args.attrs as unknown as LrnAttrs;
    const C = x.shape[3];
    return writeFloats(args.backend, x.shape, (y) => {
      const xs = readFloats(args.backend, x);
      const norm = new Float64Array(C);
      const threeQuarters = attrs.beta === 0.75;
      for (let base = 0; base < xs.length; base += C) {
        lrnNorms(xs, base, C, attrs, norm);
        // One loop per beta (the tutorial's 0.75 by square roots, several times faster than pow): a
        // per-element choice of formula costs more than the formula.
        if (threeQuarters) {
          for (let c = 0; c < C; c++) y[base + c] = xs[base + c] / Math.sqrt(norm[c] * Math.sqrt(norm[c]));
        } else {
          for (let c = 0; c < C; c++) y[base + c] = xs[base + c] * norm[c] ** -attrs.beta;
        }
      }
    });
  };
}

/**
 * LRNGrad: dx[k] = dy[k] · N[k]^-beta − 2·alpha·beta · x[k] · Σ_{|i-k| ≤ r} dy[i] · y[i] / N[i]
 * (TF's LRNGrad; the windows are symmetric, so the sum over "windows containing k" is k's window).
 */
function lrnGradKernel(_tf: TfNamespace, _backendName: string, original: KernelFunc): KernelFunc {
  return (args) => {
    const { x, y, dy } = args.inputs as { x: TensorInfo; y: TensorInfo; dy: TensorInfo };
    if (!lrnServes(x)) return original(args);
    const attrs = args.attrs as unknown as LrnAttrs;
    const C = x.shape[3];
    const twoAlphaBeta = 2 * attrs.alpha * attrs.beta;
    return writeFloats(args.backend, x.shape, (dx) => {
      const xs = readFloats(args.backend, x);
      const ys = readFloats(args.backend, y);
      const gs = readFloats(args.backend, dy);
      const { lo, hi } = lrnWindows(C, attrs.depthRadius);
      const norm = new Float64Array(C);
      // Prefix sums of dy·y/N, so each window's sum is one difference.
      const terms = new Float64Array(C + 1);
      const threeQuarters = attrs.beta === 0.75;
      for (let base = 0; base < xs.length; base += C) {
        lrnNorms(xs, base, C, attrs, norm);
        for (let c = 0; c < C; c++) terms[c + 1] = terms[c] + (gs[base + c] * ys[base + c]) / norm[c];
        if (threeQuarters) {
          for (let k = 0; k < C; k++) {
            const n = norm[k];
            const window = terms[hi[k]] - terms[lo[k]];
            dx[base + k] = gs[base + k] / Math.sqrt(n * Math.sqrt(n)) - twoAlphaBeta * xs[base + k] * window;
          }
        } else {
          for (let k = 0; k < C; k++) {
            const window = terms[hi[k]] - terms[lo[k]];
            dx[base + k] = gs[base + k] * norm[k] ** -attrs.beta - twoAlphaBeta * xs[base + k] * window;
          }
        }
      }
    });
  };
}

/**
 * Sum over the leading axes (the bias gradient of a conv or dense layer) by one pass that adds each row
 * into a float64 accumulator; any other reduction goes to the backend's own kernel.
 */
function leadingAxesSumKernel(_tf: TfNamespace, _backendName: string, original: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as { axis: number | number[] | null; keepDims: boolean };
    if (axis === null || axis === undefined) return original(args);
    const rank = x.shape.length;
    const axes = (Array.isArray(axis) ? axis : [axis])
      .map((a) => (a < 0 ? a + rank : a))
      .sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return original(args);
    const inner = x.shape.slice(axes.length).reduce((a, b) => a * b, 1);
    const outShape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    return writeFloats(args.backend, outShape, (out) => {
      const xs = readFloats(args.backend, x);
      const acc = new Float64Array(inner);
      for (let base = 0; base < xs.length; base += inner) {
        for (let i = 0; i < inner; i++) acc[i] += xs[base + i];
      }
      out.set(acc);
    });
  };
}

/** Identity as a second reference to the same data (the cpu backend's way), not a copy. */
function sharedIdentityKernel(_tf: TfNamespace, _backendName: string, original: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') return original(args);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}
