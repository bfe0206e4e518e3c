import { booleanOption, objectOption, oneOfOption } from '../core/validate.js';
import { type Image, type ImageDType, imageDims } from './image.js';

const OP = 'convertImageDtype';
const IMAGE_DTYPES: readonly ImageDType[] = ['uint8', 'float32'];

/** TF's uint8→float scale, `1/255` as a float32 constant (maps 255 to exactly 1.0). */
export const UINT8_TO_FLOAT32 = Math.fround(1 / 255);
/** TF's float→uint8 scale, `255 + 0.5`, so that the truncating cast rounds fairly. */
const FLOAT32_TO_UINT8 = 255.5;

/** One value of TF's saturating float→uint8 conversion: `trunc(clamp(x·255.5, 0, 255))`; NaN gives 0. */
export function float32ToUint8(x: number): number {
  const scaled = Math.fround(x * FLOAT32_TO_UINT8);
  // Written so NaN fails both comparisons and lands on 0, like the Uint8Array store would.
  if (scaled >= 255) return 255;
  if (scaled > 0) return Math.trunc(scaled);
  return 0;
}

/** TF's uint8→float conversion of every value, `x · f32(1/255)`, through a 256-entry table. */
export function uint8ToFloat32Data(data: Uint8Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = UINT8_TO_FLOAT32_TABLE[data[i]];
  return out;
}

const UINT8_TO_FLOAT32_TABLE = (() => {
  const table = new Float32Array(256);
  for (let x = 0; x < 256; x++) table[x] = x * UINT8_TO_FLOAT32;
  return table;
})();

/**
 * The pixels of `image` as floats, as TF's colour ops see them after `convert_image_dtype(x, float32)`:
 * float32 data itself (not a copy: callers must only read it) or uint8 data scaled into [0, 1].
 */
export function floatView(image: Image): Float32Array {
  return image.dtype === 'float32'
    ? (image.data as Float32Array)
    : uint8ToFloat32Data(image.data as Uint8Array);
}

/**
 * Wraps float results computed by a colour op as an image of `dtype`: float32 as is (never clipped),
 * uint8 through the saturating conversion TF applies on the way back.
 */
export function imageFromFloats<D extends ImageDType>(
  dtype: D,
  shape: readonly number[],
  values: Float32Array,
): Image<D> {
  if (dtype === 'float32') return { dtype, shape: [...shape], data: values } as unknown as Image<D>;
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = float32ToUint8(values[i]);
  return { dtype, shape: [...shape], data } as unknown as Image<D>;
}

/**
 * TF's `tf.image.convert_image_dtype(image, dtype, saturate)` between uint8 and float32:
 * - uint8 → float32: `x · f32(1/255)` (255 becomes exactly 1.0);
 * - float32 → uint8: `trunc(clamp(f32(x · 255.5), 0, 255))` (floats are taken to be in [0, 1]);
 * - same dtype: a copy.
 *
 * Deliberate difference: TF clamps only with `saturate: true` and otherwise lets out-of-range floats
 * overflow in a platform-dependent cast. Here float → uint8 always clamps (NaN gives 0), so `saturate`
 * is accepted for compatibility but changes nothing.
 */
export function convertImageDtype<D extends ImageDType>(
  image: Image,
  dtype: D,
  options: { saturate?: boolean } = {},
): Image<D> {
  const { height, width, channels } = imageDims(OP, image);
  oneOfOption(OP, 'dtype', dtype, IMAGE_DTYPES);
  booleanOption(OP, 'saturate', objectOption(OP, 'options', options).saturate, false);
  const shape = [height, width, channels];
  if (image.dtype === dtype) {
    const data = image.dtype === 'uint8' ? Uint8Array.from(image.data) : Float32Array.from(image.data);
    return { dtype, shape, data } as unknown as Image<D>;
  }
  if (image.dtype === 'uint8')
    return imageFromFloats(dtype, shape, uint8ToFloat32Data(image.data as Uint8Array));
  return imageFromFloats(dtype, shape, image.data as Float32Array);
}
