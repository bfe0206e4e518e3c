import {
  type ErrorPolicy,
  type ErrorPolicyOptions,
  errorPolicyOption,
  handleElementError,
} from '../core/error-policy.js';
import {
  ArchiveError,
  DecodeError,
  InputError,
  invalidArgument,
  TooManyErrorsError,
} from '../core/errors.js';
import { randomSeed } from '../core/rng.js';
import type { StageCounters } from '../core/stats.js';
import { counted, type SeededStream, Stream } from '../core/stream.js';
import { booleanOption, integerOption, objectOption } from '../core/validate.js';
import { stringInputProducer } from '../producers/string-input-producer.js';
import { type TarEntry, tarEntries } from '../sources/tar-entries.js';

/** Where a field being decoded comes from. */
export interface WebDatasetFieldContext {
  /** The sample key (member path up to the first dot of its final component). */
  key: string;
  /** The shard path, as given. */
  shard: string;
}

/**
 * A custom field decoder: `ext` is the field name (the extension(s) after the first dot, lowercased,
 * e.g. `jpg`, `seg.png`), `bytes` the member's bytes. May return a promise. A throw becomes a
 * DecodeError naming the shard, the key and the field.
 */
export type WebDatasetDecoder = (ext: string, bytes: Uint8Array, context: WebDatasetFieldContext) => unknown;

/**
 * Error policy: under `'skip'`/`'warn'` a bad sample (a member over `maxMemberBytes`, a field the
 * decoder rejects, a repeated field, a key coming back non-adjacently) is dropped with all its
 * members, counted under its error's class name as `<shard>#<key>`; a bad shard (missing,
 * unreadable, corrupt or truncated tar or gzip) ends there, the sample it was building dropped, and
 * counts as one skip (ArchiveError keyed `<shard>#<member>` or NotFoundError keyed `<shard>`), then
 * the next shard is read. read = yielded + skipped (a sample or shard whose error ends the stream
 * is not counted). With `numEpochs: null`, two passes' worth of shard reads in a row that give no
 * sample end the stream instead of spinning forever: TooManyErrorsError when they skipped, else a
 * DecodeError naming the shards (they hold no samples: empty, or no member named `<key>.<field>`).
 */
export interface WebDatasetOptions extends ErrorPolicyOptions {
  /** Passes over the shard list (default 1); null streams forever. */
  numEpochs?: number | null;
  /** Reshuffle the shard order every epoch (default true). */
  shuffleShards?: boolean;
  /** Seed of the per-epoch shard permutations; random when unset (see the stream's `seed`). */
  seed?: number;
  /**
   * false (default): every field is the member's bytes. true: the built-in decoders (see
   * `decodeWebDatasetField`). A function: called for every field.
   */
  decode?: boolean | WebDatasetDecoder;
  /** Largest member read into memory, in bytes (default 64 MiB); a larger one is a DecodeError. */
  maxMemberBytes?: number;
}

/** One sample: its fields by extension, plus `__key__` and `__shard__`. */
export interface WebDatasetSample {
  __key__: string;
  __shard__: string;
  [field: string]: unknown;
}

const STAGE = 'webDataset';
const DEFAULT_MAX_MEMBER = 64 * 1024 * 1024;
const RESERVED = new Set(['__key__', '__shard__']);
const TEXT_EXTS = new Set(['txt', 'text', 'transcript']);
const INT_EXTS = new Set(['cls', 'cls2', 'class', 'count', 'index', 'inx', 'id']);
const JSON_EXTS = new Set(['json', 'jsn']);

/**
 * A WebDataset: tar shards whose consecutive members sharing a key (`dir/000123.jpg`,
 * `dir/000123.cls` → key `dir/000123`) form one sample. Shards go through `stringInputProducer`
 * (numEpochs, shuffleShards → shuffle, seed) and are streamed one after another with `tarEntries`,
 * never extracted; only the current sample is held. `break` closes the open shard.
 */
export function webDataset(
  shards: readonly string[],
  options: WebDatasetOptions = {},
): SeededStream<WebDatasetSample> {
  if (!Array.isArray(shards) || shards.length === 0) {
    throw invalidArgument('shards', 'a non-empty array of shard paths', shards, STAGE);
  }
  shards.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0) {
      throw invalidArgument(`shards[${i}]`, 'a shard path (a non-empty string)', s, STAGE);
    }
  });
  const opts = objectOption(STAGE, 'options', options) as WebDatasetOptions;
  const numEpochs =
    opts.numEpochs === null
      ? undefined
      : integerOption(STAGE, 'numEpochs', opts.numEpochs, { min: 1, defaultValue: 1 });
  const shuffle = booleanOption(STAGE, 'shuffleShards', opts.shuffleShards, true);
  const seed =
    opts.seed === undefined ? randomSeed(STAGE) : integerOption(STAGE, 'seed', opts.seed, { min: 0 });
  const maxMemberBytes = integerOption(STAGE, 'maxMemberBytes', opts.maxMemberBytes, {
    min: 1,
    defaultValue: DEFAULT_MAX_MEMBER,
  });
  const decode = opts.decode ?? false;
  if (typeof decode !== 'boolean' && typeof decode !== 'function') {
    throw invalidArgument('decode', 'a boolean or a function (ext, bytes) => value', decode, STAGE);
  }
  const decoder: WebDatasetDecoder | undefined =
    decode === true ? decodeWebDatasetField : decode === false ? undefined : decode;
  const policy = errorPolicyOption(STAGE, opts);
  const list = [...shards];
  const config: ShardConfig = { maxMemberBytes, decoder, policy };

  const stream = new Stream<WebDatasetSample>(
    (counters) => counted(allSamples(list, { numEpochs, shuffle, seed }, config, counters), counters),
    { name: 'web_dataset' },
  );
  return Object.assign(stream, { seed });
}

/**
 * Splits a member path into its sample key and field name, WebDataset's way: the key is the path up
 * to the first dot of its final component, the field the rest (lowercased). null when the final
 * component has no dot or nothing before it (`README`, `dir/.hidden`): such members are skipped.
 */
export function splitMemberName(name: string): { key: string; field: string } | null {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  if (dot <= slash + 1 || dot === name.length - 1) return null;
  return { key: name.slice(0, dot), field: name.slice(dot + 1).toLowerCase() };
}

/**
 * The built-in decoders of `decode: true`, by the last extension of the field (`seg.png` → `png`):
 * `txt`/`text`/`transcript` → string (UTF-8); `cls`/`cls2`/`class`/`count`/`index`/`inx`/`id` →
 * integer; `json`/`jsn` → parsed JSON; anything else (images included) → the bytes unchanged.
 */
export function decodeWebDatasetField(
  ext: string,
  bytes: Uint8Array,
  context?: WebDatasetFieldContext,
): unknown {
  const last = ext.slice(ext.lastIndexOf('.') + 1);
  const isText = TEXT_EXTS.has(last);
  const isInt = INT_EXTS.has(last);
  const isJson = JSON_EXTS.has(last);
  if (!isText && !isInt && !isJson) return bytes;
  const where = context
    ? ` of key ${JSON.stringify(context.key)} in shard ${JSON.stringify(context.shard)}`
    : '';
  const fail = (what: string, cause?: unknown): DecodeError =>
    new DecodeError(`${STAGE}: Expected ${what} in field '${ext}'${where}`, {
      file: context?.shard,
      key: context?.key,
      stage: STAGE,
      parameter: 'decode',
      cause,
    });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw fail('UTF-8 text', err);
  }
  if (isText) return text;
  if (isInt) {
    const t = text.trim();
    if (!/^[+-]?\d+$/.test(t) || !Number.isSafeInteger(Number(t))) {
      throw fail(`an integer but it holds ${JSON.stringify(t.length > 40 ? `${t.slice(0, 37)}...` : t)}`);
    }
    return Number(t);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw fail(`JSON (${(err as Error).message})`, err);
  }
}

interface ShardConfig {
  maxMemberBytes: number;
  decoder: WebDatasetDecoder | undefined;
  policy: ErrorPolicy;
}

async function* allSamples(
  shards: string[],
  producer: { numEpochs: number | undefined; shuffle: boolean; seed: number },
  config: ShardConfig,
  counters: StageCounters,
): AsyncGenerator<WebDatasetSample> {
  // Shard visits since one last gave a sample, and the skips among them: an endless stream whose
  // shards all fail or hold no sample (an empty tar, one holding only a README) would otherwise
  // spin without end, and `break` could never get in.
  let barren = 0;
  let barrenSkips = 0;
  for await (const shard of stringInputProducer(shards, producer)) {
    const skippedBefore = counters.skipped;
    let yielded = false;
    for await (const sample of shardSamples(shard, config, counters)) {
      yielded = true;
      yield sample;
    }
    if (yielded) {
      barren = barrenSkips = 0;
      continue;
    }
    barren++;
    barrenSkips += counters.skipped - skippedBefore;
    // 2 × shards visits in a row cover at least one whole pass, whatever the shuffled order.
    if (producer.numEpochs === undefined && barren >= 2 * shards.length) {
      throw barrenShards(shards, shard, barren, barrenSkips, counters.skipped);
    }
  }
}

/** The error ending an endless stream whose last `visits` shard reads gave no sample. */
function barrenShards(
  shards: string[],
  last: string,
  visits: number,
  skips: number,
  skipped: number,
): InputError {
  const head = `${STAGE}: Expected samples from ${shards.length} shard(s) read forever (numEpochs: null) but ${visits} shard reads in a row gave none`;
  if (skips > 0) {
    return new TooManyErrorsError(
      `${head}, only skips (${skipped} in all): every shard fails or holds no sample`,
      { stage: STAGE, parameter: 'onError', file: last },
    );
  }
  const named = shards.slice(0, 5).map((s) => JSON.stringify(s));
  if (shards.length > named.length) named.push(`and ${shards.length - named.length} more`);
  return new DecodeError(
    `${head} and no error: the shards hold no samples (no member named <key>.<field>): ${named.join(', ')}`,
    { stage: STAGE, parameter: 'shards', file: last },
  );
}

/**
 * The samples of one shard. Keys of the samples already emitted from this shard are remembered (one
 * string per sample, forgotten at the shard's end) to reject a key that comes back non-adjacently.
 * Counts every sample tried and applies the policy to bad samples and a bad shard.
 */
async function* shardSamples(
  shard: string,
  config: ShardConfig,
  counters: StageCounters,
): AsyncGenerator<WebDatasetSample> {
  const { policy } = config;
  const seen = new Set<string>();
  let current: WebDatasetSample | null = null;
  // The key of a sample being dropped: its remaining members are passed over unread.
  let dropping: string | null = null;
  const dropSample = (err: unknown, key: string): void => {
    handleElementError(policy, counters, err, `${shard}#${key}`, STAGE);
    current = null;
    dropping = key;
  };
  const entries = tarEntries(shard)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let r: IteratorResult<TarEntry>;
      try {
        r = await entries.next();
      } catch (err) {
        // The shard cannot go on: count it once (the sample being built goes with it).
        handleElementError(policy, counters, err, (err as InputError).key ?? shard, STAGE);
        return;
      }
      if (r.done) break;
      const entry = r.value;
      const split = splitMemberName(entry.name);
      if (!split) continue;
      const { key, field } = split;
      if (key === dropping) continue;
      dropping = null;
      if (current && current.__key__ !== key) {
        counters.read++;
        yield current;
        current = null;
      }
      if (!current) {
        if (seen.has(key)) {
          dropSample(
            new DecodeError(
              `${STAGE}: Expected the members of sample ${JSON.stringify(key)} to be adjacent in shard ${JSON.stringify(shard)} but ${JSON.stringify(entry.name)} comes after other samples`,
              { file: shard, key, stage: STAGE },
            ),
            key,
          );
          continue;
        }
        seen.add(key);
        current = { __key__: key, __shard__: shard };
      }
      if (RESERVED.has(field) || Object.hasOwn(current, field)) {
        dropSample(
          new DecodeError(
            `${STAGE}: Expected one member per field in sample ${JSON.stringify(key)} of shard ${JSON.stringify(shard)} but ${JSON.stringify(entry.name)} repeats or reserves field '${field}'`,
            { file: shard, key, stage: STAGE },
          ),
          key,
        );
        continue;
      }
      let value: unknown;
      try {
        const bytes = await readMember(entry, shard, key, config.maxMemberBytes);
        value = config.decoder ? await runDecoder(config.decoder, field, bytes, key, shard) : bytes;
      } catch (err) {
        if (err instanceof ArchiveError) {
          // The shard broke while this member was read: as above, one skip for the rest of it.
          handleElementError(policy, counters, err, err.key ?? shard, STAGE);
          return;
        }
        dropSample(err, key);
        continue;
      }
      current[field] = value;
    }
    if (current) {
      counters.read++;
      yield current;
    }
  } finally {
    await entries.return?.();
  }
}

async function readMember(entry: TarEntry, shard: string, key: string, max: number): Promise<Uint8Array> {
  const tooBig = (size: number): DecodeError =>
    new DecodeError(
      `${STAGE}: Expected members of at most ${max} bytes (maxMemberBytes) but ${JSON.stringify(entry.name)} in shard ${JSON.stringify(shard)} has ${size}`,
      { file: shard, key, stage: STAGE, parameter: 'maxMemberBytes' },
    );
  // The declared size refuses a big member early, but is never allocated up front: a header can lie
  // (a 1 KB shard declaring 60 MiB), so memory grows only with the bytes that actually arrive.
  if (entry.size > max) throw tooBig(entry.size);
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of entry.chunks) {
    length += chunk.length;
    if (length > max) throw tooBig(length);
    parts.push(chunk);
  }
  // Joined into a buffer of its own: a kept sample must not keep the archive's read chunks alive.
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function runDecoder(
  decoder: WebDatasetDecoder,
  field: string,
  bytes: Uint8Array,
  key: string,
  shard: string,
): Promise<unknown> {
  try {
    return await decoder(field, bytes, { key, shard });
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new DecodeError(
      `${STAGE}: decode failed on field '${field}' of sample ${JSON.stringify(key)} in shard ${JSON.stringify(shard)}: ${(err as Error)?.message ?? String(err)}`,
      { file: shard, key, stage: STAGE, parameter: 'decode', cause: err },
    );
  }
}
