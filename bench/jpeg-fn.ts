/**
 * The per-example work of the JPEG folder bench, as a module mapParallel's workers can load. Both
 * variants draw the crop box, then the flip, from the element's rng, and end in torchvision's
 * `ToTensor` + `Normalize(ImageNet mean, std)` (what torch_jpeg.py does), HWC float32 [224, 224, 3].
 * - `decodeAugment`: inqueue's ops: decodeJpeg -> randomResizedCrop 224 (TF bilinear, half-pixel
 *   centres) -> randomFlipLeftRight -> normalize;
 * - `decodeAugmentSharp`: the box is sampled from the JPEG header, then one libvips call decodes,
 *   extracts the box and resizes it (linear kernel, antialiased like PIL's); the flip happens in the
 *   normalize loop.
 */
import sharp from 'sharp';
import type { CounterRng } from '../src/core/rng.js';
import { readJpegHeader } from '../src/decode/sniff-format.js';
import type { Image } from '../src/image/image.js';
import { randomResizedCrop, sampleResizedCropBox } from '../src/image/random-resized-crop.js';
import { configureSharpForStreaming, decodeJpeg, randomFlipLeftRight } from '../src/index.js';

export const SIZE = 224;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
// (x / 255 - mean) / std as one multiply-add per sample.
const GAIN = STD.map((s) => 1 / (255 * s));
const OFFSET = MEAN.map((m, c) => -m / STD[c]);

configureSharpForStreaming();

export interface Photo {
  key: string;
  value: Uint8Array;
  label: number;
}

export interface Example {
  label: number;
  image: Image<'float32'>;
}

export async function decodeAugment(p: Photo, rng: CounterRng): Promise<Example> {
  const decoded = await decodeJpeg(p.value, { channels: 3, key: p.key });
  const flipped = randomFlipLeftRight(randomResizedCrop(decoded, [SIZE, SIZE], rng), rng);
  // The flip returned a fresh array of ours: normalize it in place.
  normalizeInto(flipped.data, flipped.data);
  return { label: p.label, image: flipped };
}

export async function decodeAugmentSharp(p: Photo, rng: CounterRng): Promise<Example> {
  const header = readJpegHeader(p.value);
  if (!header) throw new Error(`${p.key}: not a JPEG`);
  const box = sampleResizedCropBox(header.height, header.width, rng);
  const flip = rng.uniformFloat32() < 0.5;
  // ignoreIcc as decodeJpeg (and TF): an embedded profile would add an lcms transform per pixel.
  let pipeline = sharp(p.value, { failOn: 'error', ignoreIcc: true })
    .extract({ left: box.left, top: box.top, width: box.width, height: box.height })
    .resize(SIZE, SIZE, { kernel: 'linear', fit: 'fill' });
  // Grayscale and CMYK JPEGs to RGB; YCbCr ones come out RGB already (an extra step costs ~3%).
  if (header.components !== 3) pipeline = pipeline.toColourspace('srgb');
  const pixels = await pipeline.raw().toBuffer();
  const data = new Float32Array(SIZE * SIZE * 3);
  // The flip is done while normalizing (free) rather than by libvips' flop (measured ~0.2 ms/image).
  if (flip) normalizeMirroredInto(pixels, data, SIZE);
  else normalizeInto(pixels, data);
  return { label: p.label, image: { dtype: 'float32', shape: [SIZE, SIZE, 3], data } };
}

/** torchvision's ToTensor + Normalize on HWC RGB samples in 0..255. */
function normalizeInto(src: ArrayLike<number>, dst: Float32Array): void {
  const [g0, g1, g2] = GAIN;
  const [o0, o1, o2] = OFFSET;
  for (let i = 0; i < dst.length; i += 3) {
    dst[i] = src[i] * g0 + o0;
    dst[i + 1] = src[i + 1] * g1 + o1;
    dst[i + 2] = src[i + 2] * g2 + o2;
  }
}

/** normalizeInto with the columns reversed (a left-right flip) on the way. */
function normalizeMirroredInto(src: ArrayLike<number>, dst: Float32Array, width: number): void {
  const [g0, g1, g2] = GAIN;
  const [o0, o1, o2] = OFFSET;
  const rowLength = width * 3;
  for (let row = 0; row < dst.length; row += rowLength) {
    for (let o = row, i = row + rowLength - 3; i >= row; o += 3, i -= 3) {
      dst[o] = src[i] * g0 + o0;
      dst[o + 1] = src[i + 1] * g1 + o1;
      dst[o + 2] = src[i + 2] * g2 + o2;
    }
  }
}
