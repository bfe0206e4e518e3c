import sharp from 'sharp';
import { invalidArgument } from '../core/errors.js';
import { minMaxToUint8 } from '../core/min-max.js';
import { isTensor, type Tensor } from '../core/tensor.js';
import { integerOption, objectOption, oneOfOption } from '../core/validate.js';
import { ensureSharpConfigured } from './sharp-config.js';

/**
 * TF's `encode_png` and `encode_jpeg` on sharp, for HWC tensors. uint8 is encoded as is (uint16 too,
 * for PNG); float32 needs an explicit `rescale`, because a float image may hold [0, 1] or [0, 255] or
 * standardized values and guessing would silently write a black or white file.
 */

export type Rescale = 'unit' | 'minmax';

export interface EncodePngOptions {
  /**
   * float32 only. 'unit': values in [0, 1] become trunc(clamp(x * 255.5, 0, 255)), TF's
   * convert_image_dtype(x, uint8, saturate=True). 'minmax': the image's min..max maps linearly onto
   * 0..255, rounded (for standardized images; a constant image gives 0).
   */
  rescale?: Rescale;
}

export interface EncodeJpegOptions extends EncodePngOptions {
  /** 1..100, default 95 (TF's default). */
  quality?: number;
}

/** libjpeg's JPEG_MAX_DIMENSION. */
const MAX_JPEG_DIMENSION = 65500;
const RESCALES: readonly Rescale[] = ['unit', 'minmax'];

/** PNG bytes of a uint8/uint16 (or rescaled float32) image with 1..4 channels (gray, gray+alpha, RGB, RGBA). */
export async function encodePng(image: Tensor, options: EncodePngOptions = {}): Promise<Uint8Array> {
  const stage = 'encodePng';
  const opts = objectOption(stage, 'options', options);
  const raw = encodable(stage, image, opts.rescale, [1, 2, 3, 4], true);
  return finish(rawInput(raw).png());
}

/** Baseline 4:2:0 JPEG bytes of a uint8 (or rescaled float32) image with 1 or 3 channels. */
export async function encodeJpeg(image: Tensor, options: EncodeJpegOptions = {}): Promise<Uint8Array> {
  const stage = 'encodeJpeg';
  const opts = objectOption(stage, 'options', options);
  const quality = integerOption(stage, 'quality', opts.quality, { min: 1, max: 100, defaultValue: 95 });
  const raw = encodable(stage, image, opts.rescale, [1, 3], false);
  if (raw.height > MAX_JPEG_DIMENSION || raw.width > MAX_JPEG_DIMENSION) {
    throw invalidArgument(
      'image',
      `height and width <= ${MAX_JPEG_DIMENSION} (the JPEG limit)`,
      `shape [${raw.height}, ${raw.width}, ${raw.channels}]`,
      stage,
    );
  }
  return finish(rawInput(raw).jpeg({ quality, chromaSubsampling: '4:2:0' }));
}

interface RawImage {
  data: Uint8Array | Uint16Array;
  height: number;
  width: number;
  channels: 1 | 2 | 3 | 4;
}

function encodable(
  stage: string,
  image: unknown,
  rescale: unknown,
  allowedChannels: readonly number[],
  allowUint16: boolean,
): RawImage {
  const dtypes = allowUint16
    ? 'uint8 or uint16 (or float32 with rescale)'
    : 'uint8 (or float32 with rescale)';
  const expected = `a ${dtypes} tensor of shape [height, width, ${allowedChannels.join(' | ')}]`;
  if (!isTensor(image)) throw invalidArgument('image', expected, image, stage);
  const shape = image.shape;
  const described = `a ${image.dtype} tensor of shape [${shape.join(', ')}]`;
  const validShape =
    shape.length === 3 &&
    shape.every((d) => Number.isInteger(d) && d >= 1) &&
    allowedChannels.includes(shape[2]) &&
    image.data.length === shape[0] * shape[1] * shape[2];
  const dtypeOk =
    image.dtype === 'uint8' || image.dtype === 'float32' || (allowUint16 && image.dtype === 'uint16');
  if (!validShape || !dtypeOk) throw invalidArgument('image', expected, described, stage);
  const [height, width, channels] = shape as [number, number, 1 | 2 | 3 | 4];
  if (image.dtype === 'float32') {
    if (rescale === undefined) {
      throw invalidArgument(
        'rescale',
        "'unit' (values in [0, 1]) or 'minmax' (min..max onto 0..255) to encode a float32 image",
        rescale,
        stage,
      );
    }
    const mode = oneOfOption(stage, 'rescale', rescale, RESCALES);
    const data = image.data as Float32Array;
    return { data: mode === 'unit' ? unitToUint8(data) : minMaxToUint8(data, 0), height, width, channels };
  }
  if (rescale !== undefined) {
    throw invalidArgument('rescale', `undefined for a ${image.dtype} image (float32 only)`, rescale, stage);
  }
  return { data: image.data as Uint8Array | Uint16Array, height, width, channels };
}

/** convert_image_dtype(x, uint8, saturate=True): float32 x * 255.5, clamped, truncated. NaN -> 0. */
function unitToUint8(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.fround(data[i] * 255.5);
    // Storing into a Uint8Array truncates, and stores NaN as 0.
    out[i] = v >= 255 ? 255 : Math.max(v, 0);
  }
  return out;
}

/** A sharp pipeline over the raw samples, in the colourspace that keeps their channel count and depth. */
function rawInput({ data, height, width, channels }: RawImage): sharp.Sharp {
  ensureSharpConfigured();
  const gray = channels <= 2;
  const deep = data instanceof Uint16Array;
  const colourspace = gray ? (deep ? 'grey16' : 'b-w') : deep ? 'rgb16' : 'srgb';
  return sharp(data, { raw: { width, height, channels } }).toColourspace(colourspace);
}

/** The encoded bytes as a plain Uint8Array view (no copy). Validation above leaves libvips nothing to reject. */
async function finish(pipeline: sharp.Sharp): Promise<Uint8Array> {
  const out = await pipeline.toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
