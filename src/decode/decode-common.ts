import type sharp from 'sharp';
import { DecodeError, invalidArgument } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { Image } from '../image/image.js';
import { describeBytes } from './sniff-format.js';

/**
 * What the decoders share (`decodeJpeg`, `decodePng`, `decodeImage`): sharp's input settings, the
 * argument checks and the DecodeErrors. They run on sharp (libvips with libjpeg-turbo/mozjpeg and
 * libspng): sharp decodes, and the channel rules TF gets from libjpeg/libpng transforms are applied to
 * the raw samples, so results follow TF, not sharp's sRGB-centred defaults. Truncated data fails (TF's
 * default `acceptable_fraction=1`); libjpeg's recoverable "corrupt data" warnings do not, as in TF.
 * sharp's pixel limit (0x3FFF^2 pixels) guards against bombs.
 */

// 'error' fails on truncation and on bad PNG checksums (as libpng), not on libjpeg's recoverable
// corrupt-data warnings (TF decodes those too).
export const SHARP_INPUT = { failOn: 'error', ignoreIcc: true } as const;
export const PIXEL_LIMIT = 0x3fff * 0x3fff;

/** A uint8 image of `shape` over `data`. */
export function uint8(shape: number[], data: Uint8Array): Image<'uint8'> {
  return { dtype: 'uint8', shape, data };
}

/** uint8 samples times `factor` as uint16 (TF's widening conversions). */
export function mapUint8(
  image: Image<'uint8'>,
  out: Uint16Array,
  dtype: 'uint16',
  factor: number,
): Tensor<'uint16'> {
  const src = image.data;
  for (let i = 0; i < src.length; i++) out[i] = src[i] * factor;
  return { dtype, shape: image.shape, data: out };
}

export interface RawResult {
  data: Buffer;
  info: sharp.OutputInfo;
}

/** Runs a sharp pipeline to raw samples, turning its errors into DecodeErrors. */
export async function run(
  stage: string,
  key: string | undefined,
  bytes: Uint8Array,
  pipeline: sharp.Sharp,
  header: { width: number; height: number } | undefined,
): Promise<RawResult> {
  try {
    return await pipeline.toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decodeError(stage, key, explainSharpError(err, bytes, header), err);
  }
}

/** A sharp error as the reason in a DecodeError: pixel limit, truncation, or corrupt data. */
export function explainSharpError(
  err: unknown,
  bytes: Uint8Array,
  header: { width: number; height: number } | undefined,
): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    const declared = header ? `declares ${header.width}x${header.height} pixels, ` : 'declares ';
    return `its header ${declared}more than sharp's limit of ${PIXEL_LIMIT} pixels (a guard against decompression bombs)`;
  }
  if (/premature end|end of stream|truncated|unexpected end|out of data/i.test(message)) {
    return `the data is truncated: the ${describeBytes(bytes)} end before the image does (libvips: ${message})`;
  }
  return `the data is corrupt (libvips: ${message})`;
}

/** The DecodeError for bytes of the right format that cannot be decoded. */
export function decodeError(
  stage: string,
  key: string | undefined,
  reason: string,
  cause?: unknown,
): DecodeError {
  return new DecodeError(`${stage}: Cannot decode ${subject(key)}: ${reason}`, {
    key,
    stage,
    parameter: 'bytes',
    cause,
  });
}

/** The DecodeError for bytes that are not the format the decoder reads. */
export function notFormat(
  stage: string,
  expected: string,
  bytes: Uint8Array,
  key: string | undefined,
): DecodeError {
  return new DecodeError(
    `${stage}: Expected ${expected} for ${subject(key)} but received ${describeBytes(bytes)}`,
    {
      key,
      stage,
      parameter: 'bytes',
    },
  );
}

function subject(key: string | undefined): string {
  return key === undefined ? 'bytes' : JSON.stringify(key);
}

export function checkBytes(stage: string, bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array))
    throw invalidArgument('bytes', 'a Uint8Array (or Buffer)', bytes, stage);
}

export function keyOption(stage: string, value: unknown): string | undefined {
  if (value !== undefined && typeof value !== 'string')
    throw invalidArgument('key', 'a string', value, stage);
  return value;
}

export function channelsOption<C extends number>(stage: string, value: unknown, allowed: readonly C[]): C {
  if (value === undefined) return 0 as C;
  if (!allowed.includes(value as C))
    throw invalidArgument('channels', `one of ${allowed.join(', ')}`, value, stage);
  return value as C;
}
