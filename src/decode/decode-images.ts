import {
  type ErrorPolicy,
  type ErrorPolicyOptions,
  errorPolicyOption,
  handleElementError,
} from '../core/error-policy.js';
import {
  DecodeError,
  describeValue,
  InputError,
  type InputErrorContext,
  invalidArgument,
} from '../core/errors.js';
import type { StageCounters } from '../core/stats.js';
import { returnsUpstreamFirst, type Source, Stream } from '../core/stream.js';
import type { Tensor } from '../core/tensor.js';
import { integerOption, objectOption, oneOfOption } from '../core/validate.js';
import type { Image } from '../image/image.js';
import { channelsOption } from './decode-common.js';
import { decodeImage } from './decode-image.js';

const STAGE = 'decodeImages';

export interface DecodeImagesOptions<F extends string = 'value'> extends ErrorPolicyOptions {
  /** The field holding each element's encoded bytes (default 'value', as the readers' records). */
  field?: F;
  /** decodeImage's channels (default 0: as stored). */
  channels?: 0 | 1 | 3 | 4;
  /** decodeImage's dtype (default 'uint8'). */
  dtype?: 'uint8' | 'uint16' | 'float32';
  /**
   * Images decoding at once, handed out in input order (default 4, the size of libuv's thread pool
   * that sharp decodes on). This many elements are pulled ahead of the consumer.
   */
  concurrency?: number;
}

/** An element with its bytes field replaced by the decoded `image`. */
export type Decoded<T, F extends string, I> = Omit<T, F> & { image: I };

/**
 * Decodes the image bytes of every element (`decodeImage`: JPEG or PNG by content, never by name)
 * into an `image` field, dropping the bytes field so that they are not kept alive. A bad image (not
 * an image, truncated, corrupt, a lying header, no bytes in the field) is a DecodeError naming the
 * element's key (its `key` field, else `#<index>`): `onError: 'raise'` (default) ends the stream
 * with it; `skip`/`warn` drop the element, count it as `DecodeError` with its key in the stage's
 * stats (read = yielded + skipped), and go on in order; past `maxErrors` TooManyErrorsError. Errors
 * name stage `decodeImages` (decodeImage's own error is their cause).
 */
export function decodeImages<T extends object, F extends string = 'value'>(
  source: Source<T>,
  options: DecodeImagesOptions<F> & { dtype: 'float32' },
): Stream<Decoded<T, F, Image<'float32'>>>;
export function decodeImages<T extends object, F extends string = 'value'>(
  source: Source<T>,
  options: DecodeImagesOptions<F> & { dtype: 'uint16' },
): Stream<Decoded<T, F, Tensor<'uint16'>>>;
export function decodeImages<T extends object, F extends string = 'value'>(
  source: Source<T>,
  options?: DecodeImagesOptions<F> & { dtype?: 'uint8' },
): Stream<Decoded<T, F, Image<'uint8'>>>;
export function decodeImages<T extends object, F extends string = 'value'>(
  source: Source<T>,
  options: DecodeImagesOptions<F> = {},
): Stream<Decoded<T, F, Tensor<'uint8' | 'uint16' | 'float32'>>> {
  const o = objectOption(STAGE, 'options', options) as DecodeImagesOptions<F>;
  const field = o.field ?? ('value' as F);
  if (typeof field !== 'string' || field === '') {
    throw invalidArgument('field', 'a field name (a non-empty string)', field, STAGE);
  }
  const channels = channelsOption(STAGE, o.channels, [0, 1, 3, 4]);
  const dtype = oneOfOption(STAGE, 'dtype', o.dtype, ['uint8', 'uint16', 'float32'] as const, 'uint8');
  const concurrency = integerOption(STAGE, 'concurrency', o.concurrency, { min: 1, defaultValue: 4 });
  const policy = errorPolicyOption(STAGE, o);
  const upstream = Stream.from(source, 'source', { stage: STAGE, parameter: 'source' });
  type Out = Decoded<T, F, Tensor<'uint8' | 'uint16' | 'float32'>>;

  /** One element's decode; never rejects, so abandoned ones leave no unhandled rejection. */
  const decodeOne = async (element: T, index: number): Promise<Outcome<Out>> => {
    const record = element as Record<string, unknown>;
    const key = typeof record.key === 'string' ? record.key : `#${index}`;
    const bytes = record[field];
    try {
      if (!(bytes instanceof Uint8Array)) {
        throw new DecodeError(
          `${STAGE}: Expected image bytes (a Uint8Array) in field '${field}' of ${JSON.stringify(key)} but received ${describeValue(bytes)}`,
          { key, stage: STAGE, parameter: field },
        );
      }
      const image = await decodeImage(bytes, { channels, dtype, key });
      const { [field]: _bytes, ...rest } = record;
      return { ok: true, value: { ...rest, image } as unknown as Out };
    } catch (error) {
      return { ok: false, error: inThisStage(error), key };
    }
  };

  return new Stream<Out>(
    (counters) =>
      returnsUpstreamFirst(upstream, (it) => ordered(it, decodeOne, concurrency, counters, policy)),
    { name: 'decode_images', capacity: concurrency, upstreams: [upstream as Stream<unknown>] },
  );
}

/**
 * decodeImage's errors say stage `decodeImage`; re-raised as the same class with the same message,
 * key and details, they name this stage (the one the user built), the original as cause.
 */
function inThisStage(error: unknown): unknown {
  if (!(error instanceof InputError) || error.stage === STAGE) return error;
  const ErrorClass = error.constructor as new (message: string, context: InputErrorContext) => InputError;
  return new ErrorClass(error.message, {
    file: error.file,
    offset: error.offset,
    key: error.key,
    parameter: error.parameter,
    stage: STAGE,
    cause: error,
  });
}

type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown; key: string };

/**
 * Runs `work` on up to `concurrency` elements at once and yields their outcomes in input order,
 * applying the error policy to failures. An upstream error comes after the elements pulled before it.
 */
async function* ordered<T, R>(
  upstream: AsyncIterator<T>,
  work: (element: T, index: number) => Promise<Outcome<R>>,
  concurrency: number,
  counters: StageCounters,
  policy: ErrorPolicy,
): AsyncGenerator<R> {
  const window: Promise<Outcome<R>>[] = [];
  counters.sizeProbe = () => window.length;
  let index = 0;
  let exhausted = false;
  let failure: { error: unknown } | null = null;
  try {
    for (;;) {
      counters.start();
      while (!exhausted && !failure && window.length < concurrency) {
        let r: IteratorResult<T>;
        try {
          r = await upstream.next();
        } catch (error) {
          failure = { error };
          break;
        }
        if (r.done) exhausted = true;
        else {
          counters.elementsIn++;
          window.push(work(r.value, index++));
        }
      }
      const next = window.shift();
      if (!next) {
        if (failure) throw failure.error;
        return;
      }
      const outcome = await next;
      if (outcome.ok) {
        counters.read++;
        counters.elementsOut++;
        yield outcome.value;
        continue;
      }
      handleElementError(policy, counters, outcome.error, outcome.key, STAGE);
    }
  } finally {
    counters.done = true;
    window.length = 0;
    await upstream.return?.();
  }
}
