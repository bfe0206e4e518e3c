import type { Tensor } from '../core/tensor.js';
import { objectOption, oneOfOption } from '../core/validate.js';
import type { Image } from '../image/image.js';
import { channelsOption, checkBytes, decodeError, keyOption, mapUint8, notFormat } from './decode-common.js';
import { decodeJpegPixels } from './decode-jpeg.js';
import { decodePngPixels } from './decode-png.js';
import { sniffFormat } from './sniff-format.js';

export interface DecodeImageOptions {
  /** As decodePng; JPEG accepts 0, 1 or 3. Default 0. */
  channels?: 0 | 1 | 3 | 4;
  /** Output dtype via TF's convert_image_dtype (PNGs decode to uint16 first unless uint8). */
  dtype?: 'uint8' | 'uint16' | 'float32';
  key?: string;
}

/**
 * TF1's `decode_image`: the format comes from the magic bytes (a PNG named .jpg decodes as PNG), then
 * `convert_image_dtype` to `dtype`. JPEG and PNG are supported; GIF, BMP and others are named in the
 * error. Unlike TF, a JPEG with `channels: 4` fails as a DecodeError rather than an assertion.
 */
export function decodeImage(
  bytes: Uint8Array,
  options: DecodeImageOptions & { dtype: 'uint16' },
): Promise<Tensor<'uint16'>>;
export function decodeImage(
  bytes: Uint8Array,
  options: DecodeImageOptions & { dtype: 'float32' },
): Promise<Image<'float32'>>;
export function decodeImage(
  bytes: Uint8Array,
  options?: DecodeImageOptions & { dtype?: 'uint8' },
): Promise<Image<'uint8'>>;
export function decodeImage(
  bytes: Uint8Array,
  options?: DecodeImageOptions,
): Promise<Tensor<'uint8' | 'uint16' | 'float32'>>;
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeImageOptions = {},
): Promise<Tensor<'uint8' | 'uint16' | 'float32'>> {
  const stage = 'decodeImage';
  checkBytes(stage, bytes);
  const opts = objectOption(stage, 'options', options);
  const channels = channelsOption(stage, opts.channels, [0, 1, 3, 4]);
  const dtype = oneOfOption(stage, 'dtype', opts.dtype, ['uint8', 'uint16', 'float32'] as const, 'uint8');
  const key = keyOption(stage, opts.key);
  const format = sniffFormat(bytes);
  if (format === 'jpeg') {
    if (channels === 4) {
      throw decodeError(stage, key, 'it is a JPEG, which decodes to 1 or 3 channels, not 4 (TF fails too)');
    }
    const image = await decodeJpegPixels(stage, bytes, { channels, applyOrientation: false, key });
    // convert_image_dtype from uint8: widening multiplies by 65536 / 256, floats scale by 1/255.
    if (dtype === 'uint16') return mapUint8(image, new Uint16Array(image.data.length), 'uint16', 256);
    if (dtype === 'float32') return toUnitFloat(image, 255);
    return image;
  }
  if (format === 'png') {
    const image = await decodePngPixels(stage, bytes, channels, dtype === 'uint8' ? 'uint8' : 'uint16', key);
    if (dtype === 'float32') return toUnitFloat(image as Tensor<'uint16'>, 65535);
    return image;
  }
  throw notFormat(stage, 'JPEG or PNG bytes (the formats decodeImage supports)', bytes, key);
}

/** convert_image_dtype integer -> float32: x * float32(1 / max), rounded to float32. */
function toUnitFloat(image: Tensor<'uint8' | 'uint16'>, max: number): Image<'float32'> {
  const scale = Math.fround(1 / max);
  const out = new Float32Array(image.data.length);
  const src = image.data;
  for (let i = 0; i < src.length; i++) out[i] = src[i] * scale;
  return { dtype: 'float32', shape: image.shape, data: out };
}
