import sharp from 'sharp';
import { booleanOption, integerOption, objectOption } from '../core/validate.js';

const STAGE = 'configureSharpForStreaming';

/**
 * libvips threads per image. 1 measured best for a stream of small images on 2 cores (see
 * docs/image-decode.md): the parallelism comes from several images in flight on libuv's thread pool,
 * and splitting one 500x375 JPEG across threads only adds synchronisation.
 */
export const STREAMING_CONCURRENCY = 1;

export interface SharpStreamingOptions {
  /** libvips threads per image operation (`sharp.concurrency`); default 1. */
  concurrency?: number;
  /** Keep sharp's operation cache (`sharp.cache`); default false: each image is decoded once. */
  cache?: boolean;
}

export interface SharpStreamingSettings {
  concurrency: number;
  cache: boolean;
}

let configured = false;

/**
 * Sets sharp's process-wide settings for decoding a stream of images: no operation cache (it only
 * holds memory when every image is seen once) and `concurrency` libvips threads per image. How many
 * images decode at once is bounded by libuv's thread pool (`UV_THREADPOOL_SIZE`, default 4, read at
 * process start). The decoders call this with the defaults before their first decode unless it was
 * called before; it affects every user of sharp in the process.
 */
export function configureSharpForStreaming(options: SharpStreamingOptions = {}): SharpStreamingSettings {
  const opts = objectOption(STAGE, 'options', options);
  const concurrency = integerOption(STAGE, 'concurrency', opts.concurrency, {
    min: 1,
    max: 1024,
    defaultValue: STREAMING_CONCURRENCY,
  });
  const cache = booleanOption(STAGE, 'cache', opts.cache, false);
  sharp.cache(cache);
  sharp.concurrency(concurrency);
  configured = true;
  return { concurrency: sharp.concurrency(), cache };
}

/** Applies the streaming defaults once, unless `configureSharpForStreaming` already ran. */
export function ensureSharpConfigured(): void {
  if (!configured) configureSharpForStreaming();
}
