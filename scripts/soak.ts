// Soak test (issue 6): many epochs of the full CIFAR training pipeline — producer → fixed-length reader →
// shuffle → prefetch → distortCifarBatch, as `distortedInputs` builds it — with a slow consumer, random
// cancellations and restarts that resume from `position()` (sometimes from an older checkpoint, replaying what
// came after it). It samples RSS, heap and open file descriptors every second and ends with a verdict:
//   - every record accounted for: each epoch's records exactly once in the batches committed across restarts,
//     every batch identical to the one an uninterrupted run delivers at that point;
//   - RSS flat: at most max(50 MB, 20 %) above its value after the warm-up (a quarter of the epochs);
//   - descriptors flat: back to the starting count (±2) at the end, never more than the pipelines' files above it.
// Exit code 0 when all hold, 1 when one fails, 2 for a usage or setup error.
//
//   npx tsx scripts/soak.ts [--epochs 20] [--seconds N] [--data DIR] [--seed S] [--batch-size B]
//                           [--cancel-every N] [--max-delay-ms N] [--sample-ms N] [--no-reference]
//                           [--threads N] [--cache]
//
// `node --expose-gc --import tsx scripts/soak.ts` collects garbage before each sample: steadier RSS figures.
// test/scripts/soak.test.ts runs a short variant (2 epochs) through `runSoak`.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { InputError } from '../src/core/errors.js';
import { cifar10, distortedInputs } from '../src/datasets/cifar.js';
import type { DistortedCifarBatch } from '../src/image/distort-cifar-batch.js';
import type { RecordBatchesPosition } from '../src/resume/shuffled-record-batches.js';
import { mulberry32, type Rng } from './cifar-synth.js';

export const DEFAULT_DATA = fileURLToPath(new URL('../fixtures/cifar-10-batches-bin', import.meta.url));

export interface SoakOptions {
  /** The CIFAR-10 binary folder (default: the generated fixture). */
  data: string;
  /** Passes over the training files (default 20). */
  epochs: number;
  /** Stop after this many seconds even if epochs remain (the verdict then covers what was delivered). */
  seconds?: number;
  /** Seed of the pipeline and of the soak's own random choices (default 1). */
  seed: number;
  /** Default 125: divides the fixture's 5,000 records per epoch, so no record is dropped at the end. */
  batchSize: number;
  /** Mean batches between cancellations (default 25). */
  cancelEvery: number;
  /** Fraction of restarts that go back to the last checkpoint instead of the current position (default 0.3). */
  rollbackRate: number;
  /** The slow consumer awaits up to this many ms after a batch (default 3). */
  maxDelayMs: number;
  /** Sampling interval (default 1000 ms). */
  sampleMs: number;
  /** Compare every batch with an uninterrupted run of the pipeline on one thread, not cached (default true). */
  reference: boolean;
  /** distortedInputs' numThreads for the soaked pipeline (default 1). */
  numThreads: number;
  /** distortedInputs' cache for the soaked pipeline (default false). */
  cache: boolean;
  /** Epochs before the RSS baseline is taken (default: a quarter of the epochs, at least 1). */
  warmupEpochs?: number;
  /** RSS may grow by max(rssLimitMB, rssLimitFraction × RSS after warm-up) (defaults 50 MB, 0.2). */
  rssLimitMB: number;
  rssLimitFraction: number;
  /** Descriptors at the end may differ from the start by this much (default 2). */
  fdSlack: number;
  /** Where table rows and the verdict go (default: nowhere; the CLI passes console.log). */
  log: (line: string) => void;
}

export const DEFAULT_OPTIONS: SoakOptions = {
  data: DEFAULT_DATA,
  epochs: 20,
  seed: 1,
  batchSize: 125,
  cancelEvery: 25,
  rollbackRate: 0.3,
  maxDelayMs: 3,
  sampleMs: 1000,
  reference: true,
  numThreads: 1,
  cache: false,
  rssLimitMB: 50,
  rssLimitFraction: 0.2,
  fdSlack: 2,
  log: () => undefined,
};

/** Descriptors a worker thread holds (its event loop's), under tsx's loader. */
const FDS_PER_WORKER = 6;

/** Open files the pipelines may hold at once above the start: a reader's file each (soak and reference) + slack. */
const PIPELINE_FDS = 4;

export interface SoakSample {
  /** Seconds since the start. */
  t: number;
  /** Epochs delivered so far (committed records / records per epoch). */
  epoch: number;
  rssMB: number;
  heapMB: number;
  /** Open file descriptors (-1 where /proc/self/fd does not exist). */
  fds: number;
  /** Records committed (after rollbacks). */
  records: number;
  restarts: number;
}

export type CancelStyle = 'break' | 'abort' | 'take' | 'unsubscribe';

export interface Accounting {
  recordsPerEpoch: number;
  /** Records the run should have delivered: all full batches, or those committed when stopped early. */
  recordsExpected: number;
  recordsDelivered: number;
  /** Records of the final partial batch, which shuffleBatch drops (0 when batchSize divides the total). */
  dropped: number;
  /** Stream indices committed more than once. */
  duplicates: number;
  /** Stream indices never committed beyond the dropped ones (complete runs only). */
  missing: number;
  /** (epoch, record) pairs committed more than once, or (complete runs) not exactly once where expected. */
  epochRecordErrors: number;
  /** Keys that name no record of the files. */
  unknownKeys: number;
}

export interface SoakVerdict extends Accounting {
  ok: boolean;
  exitCode: 0 | 1;
  /** The stream reached its end (not stopped by --seconds). */
  completed: boolean;
  seconds: number;
  epochs: number;
  /** Committed batches that differ from the uninterrupted run's (or a replay from its first delivery). */
  mismatchedBatches: number;
  /** Cancellations after which position().batches was not the number of batches received. */
  positionMismatches: number;
  /** Cancelled streams whose stages did not all report done within 5 s. */
  teardownTimeouts: number;
  accounted: boolean;
  restarts: number;
  rollbacks: number;
  replayedBatches: number;
  cancellations: Record<CancelStyle, number>;
  rss: { warmMB: number; endMB: number; growthMB: number; limitMB: number; ok: boolean };
  fds: { measured: boolean; start: number; end: number; max: number; ok: boolean };
  /** Why the verdict failed, one line each. */
  failures: string[];
}

export interface SoakResult {
  samples: SoakSample[];
  verdict: SoakVerdict;
}

/**
 * Which records were committed, by batch number: restarts append, rollbacks cut back. Storage is
 * allocated up front for the whole run, so the ledger itself does not grow the RSS being measured.
 */
export class RecordLedger {
  readonly perEpoch: number;
  readonly total: number;
  readonly totalBatches: number;
  /** Batches committed: the next batch delivered is batch number `committed`. */
  committed = 0;
  private readonly indices: Int32Array;
  /** Record id within an epoch (file base + record number), from the key; -1 for an unknown key. */
  private readonly records: Int32Array;
  private readonly base = new Map<string, { first: number; count: number }>();

  constructor(
    files: readonly string[],
    counts: readonly number[],
    readonly epochs: number,
    readonly batchSize: number,
  ) {
    let first = 0;
    for (const [i, f] of files.entries()) {
      this.base.set(f, { first, count: counts[i] });
      first += counts[i];
    }
    this.perEpoch = first;
    this.total = epochs * first;
    this.totalBatches = Math.floor(this.total / batchSize);
    this.indices = new Int32Array(this.totalBatches * batchSize);
    this.records = new Int32Array(this.totalBatches * batchSize);
  }

  /** Commits a delivered batch as batch number `committed`. */
  commit(indices: ArrayLike<number>, keys: readonly string[]): void {
    if (indices.length !== this.batchSize || keys.length !== this.batchSize) {
      throw new Error(
        `soak: batch ${this.committed} has ${indices.length} indices and ${keys.length} keys, expected ${this.batchSize}`,
      );
    }
    if (this.committed >= this.totalBatches) {
      throw new Error(
        `soak: batch ${this.committed} delivered, but ${this.totalBatches} batches make the run`,
      );
    }
    const at = this.committed * this.batchSize;
    for (let i = 0; i < this.batchSize; i++) {
      this.indices[at + i] = indices[i];
      this.records[at + i] = this.recordId(keys[i]);
    }
    this.committed++;
  }

  /** Goes back to `batches` committed (a restart from an older checkpoint replays what followed). */
  rollback(batches: number): void {
    if (!Number.isInteger(batches) || batches < 0 || batches > this.committed) {
      throw new Error(`soak: cannot roll back to batch ${batches} with ${this.committed} committed`);
    }
    this.committed = batches;
  }

  /** Counts what the committed batches hold; `complete`: the stream ran to its end. */
  audit(complete: boolean): Accounting {
    const n = this.committed * this.batchSize;
    const perIndex = new Uint8Array(this.total);
    const perEpochRecord = new Uint8Array(this.total);
    let duplicates = 0;
    let unknownKeys = 0;
    let epochRecordErrors = 0;
    for (let s = 0; s < n; s++) {
      const index = this.indices[s];
      if (index < 0 || index >= this.total) {
        unknownKeys++;
        continue;
      }
      if (perIndex[index]++ > 0) duplicates++;
      const record = this.records[s];
      if (record < 0) {
        unknownKeys++;
        continue;
      }
      const pair = Math.floor(index / this.perEpoch) * this.perEpoch + record;
      if (perEpochRecord[pair]++ > 0) epochRecordErrors++;
    }
    const dropped = this.total - this.totalBatches * this.batchSize;
    let missing = 0;
    if (complete) {
      let never = 0;
      for (let i = 0; i < this.total; i++) if (perIndex[i] === 0) never++;
      missing = Math.max(0, never - dropped);
      // Each epoch: every record once, but for the dropped final remainder.
      let absent = 0;
      for (let i = 0; i < this.total; i++) if (perEpochRecord[i] === 0) absent++;
      epochRecordErrors += Math.max(0, absent - dropped);
    }
    return {
      recordsPerEpoch: this.perEpoch,
      recordsExpected: complete ? this.totalBatches * this.batchSize : n,
      recordsDelivered: n,
      dropped: complete ? dropped : 0,
      duplicates,
      missing,
      epochRecordErrors,
      unknownKeys,
    };
  }

  private recordId(key: string): number {
    const colon = key.lastIndexOf(':');
    const file = this.base.get(key.slice(0, colon));
    const record = Number(key.slice(colon + 1));
    if (!file || colon < 0 || !Number.isInteger(record) || record < 0 || record >= file.count) return -1;
    return file.first + record;
  }
}

/** A batch's fingerprint: its keys, indices, labels and pixels. */
export function batchDigest(b: DistortedCifarBatch): string {
  const h = createHash('sha1');
  h.update((b.key ?? []).join('\n'));
  for (const t of [b.index, b.label, b.image]) {
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

export function openFds(): number {
  return existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : -1;
}

interface RssInput {
  samples: readonly SoakSample[];
  /** Index of the first sample after the warm-up (-1: none). */
  warmIndex: number;
}

/**
 * RSS after warm-up vs at the end (the median of the last three samples from the warm-up on, the upper
 * one of two: one allocator spike does not fail a run, a steady climb does); passes when the growth is
 * within max(limitMB, fraction × warm).
 */
export function rssVerdict(
  { samples, warmIndex }: RssInput,
  options: Pick<SoakOptions, 'rssLimitMB' | 'rssLimitFraction'>,
): SoakVerdict['rss'] {
  const from = warmIndex >= 0 ? warmIndex : Math.max(0, samples.length - 1);
  const last = samples
    .slice(Math.max(from, samples.length - 3))
    .map((s) => s.rssMB)
    .sort((a, b) => a - b);
  const end = last.length > 0 ? last[Math.floor(last.length / 2)] : 0;
  const warm = warmIndex >= 0 ? samples[warmIndex].rssMB : end;
  const limitMB = Math.max(options.rssLimitMB, options.rssLimitFraction * warm);
  const growthMB = end - warm;
  return { warmMB: warm, endMB: end, growthMB, limitMB, ok: growthMB <= limitMB };
}

/** Descriptors back to the start (± slack) at the end, and no sample above the pipelines' own files. */
export function fdVerdict(
  start: number,
  end: number,
  samples: readonly SoakSample[],
  slack: number,
  /** Distortion workers' own descriptors (event loop, wake-up) that may be open at once. */
  workerFds = 0,
): SoakVerdict['fds'] {
  if (start < 0) return { measured: false, start, end, max: -1, ok: true };
  const max = Math.max(start, end, ...samples.map((s) => s.fds));
  const ok = Math.abs(end - start) <= slack && max - start <= slack + PIPELINE_FDS + workerFds;
  return { measured: true, start, end, max, ok };
}

const pause = (rng: Rng, maxMs: number): Promise<void> | undefined => {
  const r = rng() % (maxMs + 3);
  if (r === 0) return undefined; // no await at all
  if (r === 1) return Promise.resolve(); // a microtask
  if (r === 2) return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => setTimeout(resolve, r - 2));
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const clone = (p: RecordBatchesPosition): RecordBatchesPosition => JSON.parse(JSON.stringify(p));
const MB = 1024 * 1024;
const STYLES: readonly CancelStyle[] = ['break', 'abort', 'take', 'unsubscribe'];

/** Runs the soak; resolves with the samples and the verdict (it never calls process.exit). */
export async function runSoak(partial: Partial<SoakOptions> = {}): Promise<SoakResult> {
  const o: SoakOptions = { ...DEFAULT_OPTIONS, ...partial };
  checkOptions(o);
  const { log } = o;
  // The RSS climbs for a few epochs (allocator pools, the JIT) before it settles.
  const warmupEpochs = o.warmupEpochs ?? Math.max(1, Math.floor(o.epochs / 4));
  const rng = mulberry32(o.seed ^ 0x5eed);
  const t0 = performance.now();
  const deadline = o.seconds === undefined ? Number.POSITIVE_INFINITY : t0 + o.seconds * 1000;
  const timeUp = () => performance.now() >= deadline;
  const gc = (globalThis as { gc?: () => void }).gc;
  const fdsStart = openFds();

  const ds = await cifar10({ path: o.data, split: 'train', shuffle: false });
  const ledger = new RecordLedger(ds.files, ds.recordCounts, o.epochs, o.batchSize);
  const pipeline = (resume?: RecordBatchesPosition, engine = { numThreads: o.numThreads, cache: o.cache }) =>
    distortedInputs({
      path: o.data,
      batchSize: o.batchSize,
      seed: o.seed,
      numEpochs: o.epochs,
      prefetch: 2,
      resume,
      ...engine,
    });

  const samples: SoakSample[] = [];
  let warmIndex = -1;
  let restarts = 0;
  const sample = () => {
    gc?.();
    const m = process.memoryUsage();
    const s: SoakSample = {
      t: (performance.now() - t0) / 1000,
      epoch: (ledger.committed * o.batchSize) / ledger.perEpoch,
      rssMB: m.rss / MB,
      heapMB: m.heapUsed / MB,
      fds: openFds(),
      records: ledger.committed * o.batchSize,
      restarts,
    };
    samples.push(s);
    if (warmIndex < 0 && s.records >= warmupEpochs * ledger.perEpoch) warmIndex = samples.length - 1;
    log(formatRow(s));
  };
  log(
    `soak: ${o.epochs} epochs of ${ledger.perEpoch} records from ${o.data}, batches of ${o.batchSize}, seed ${o.seed}` +
      `${o.seconds === undefined ? '' : `, at most ${o.seconds} s`}`,
  );
  // The uninterrupted run, compared batch by batch with what the soak commits.
  // The reference runs the plainest engine: a threaded or cached soak must give its very batches.
  const reference = o.reference
    ? (await pipeline(undefined, { numThreads: 1, cache: false }))[Symbol.asyncIterator]()
    : null;
  log(formatHeader());
  sample();
  const sampler = setInterval(sample, o.sampleMs);
  let referenceChecked = 0;
  const firstDigests: (string | undefined)[] = new Array(ledger.totalBatches);
  let mismatchedBatches = 0;
  let replayedBatches = 0;
  let positionMismatches = 0;
  let teardownTimeouts = 0;
  let rollbacks = 0;
  const cancellations: Record<CancelStyle, number> = { break: 0, abort: 0, take: 0, unsubscribe: 0 };
  let checkpoint: { position: RecordBatchesPosition; batches: number } | null = null;
  let warmed = false;

  try {
    let resume: RecordBatchesPosition | undefined;
    let completed = false;
    let idleSegments = 0;
    while (!completed && !timeUp()) {
      const stream = await pipeline(resume);
      const style = STYLES[rng() % STYLES.length];
      // Geometric-ish segment lengths with mean cancelEvery, at least one batch.
      const after = 1 + Math.floor(-Math.log(1 - (rng() % 1e6) / 1e6) * (o.cancelEvery - 1));
      let received = 0;
      const deliver = (b: DistortedCifarBatch) => {
        const n = ledger.committed;
        const d = batchDigest(b);
        const first = firstDigests[n];
        if (first === undefined) firstDigests[n] = d;
        else {
          replayedBatches++;
          if (first !== d) mismatchedBatches++;
        }
        ledger.commit(b.index.data, b.key ?? []);
        received++;
        if (!warmed && ledger.committed * o.batchSize >= warmupEpochs * ledger.perEpoch) {
          warmed = true;
          sample();
        }
        if (rng() % Math.max(1, Math.round(o.cancelEvery / 2)) === 0) {
          checkpoint = { position: clone(stream.position()), batches: ledger.committed };
        }
      };
      let ended = false;
      if (style === 'break') {
        ended = true;
        for await (const b of stream) {
          deliver(b);
          await pause(rng, o.maxDelayMs);
          if (received >= after || timeUp()) {
            ended = false;
            break;
          }
        }
      } else if (style === 'abort') {
        // An AbortSignal-style stop: return() while a pull is pending; what that pull still got counts.
        const it = stream[Symbol.asyncIterator]();
        while (received < after && !timeUp()) {
          const r = await it.next();
          if (r.done) {
            ended = true;
            break;
          }
          deliver(r.value);
          await pause(rng, o.maxDelayMs);
        }
        if (!ended) {
          const pending = it.next();
          await sleep(rng() % 3);
          const returned = it.return!();
          const r = await pending;
          if (!r.done) deliver(r.value);
          else ended = ledger.committed === ledger.totalBatches;
          await returned;
        }
      } else {
        // Push: `take` unsubscribes inside next() after `after` batches; `unsubscribe` at a random
        // moment, whatever is in flight.
        ended = await new Promise<boolean>((resolve, reject) => {
          let done = false;
          const stop = (finished: boolean) => {
            if (done) return;
            done = true;
            sub?.unsubscribe();
            clearTimeout(timer);
            resolve(finished);
          };
          // The unsubscribe timer starts at the first batch, or (one time in four) at once: then it
          // often fires while the resumed pool is still being read.
          let timer: NodeJS.Timeout | undefined;
          const arm = (maxMs: number) => {
            if (style === 'unsubscribe' && timer === undefined)
              timer = setTimeout(() => stop(false), rng() % maxMs);
          };
          if (rng() % 4 === 0) arm(60);
          let sub: { unsubscribe(): void } | undefined;
          sub = stream.subscribe({
            next: (b) => {
              if (done) return;
              arm(4 * after + 1);
              try {
                deliver(b);
              } catch (err) {
                done = true;
                sub?.unsubscribe();
                clearTimeout(timer);
                reject(err);
                return;
              }
              if ((style === 'take' && received >= after) || timeUp()) stop(false);
            },
            error: (err) => {
              done = true;
              clearTimeout(timer);
              reject(err);
            },
            complete: () => stop(true),
          });
          if (done) sub.unsubscribe();
        });
        // Unsubscribing cannot await the teardown: wait for it before the next pipeline opens.
        const until = performance.now() + 5000;
        while (stream.stats().some((s) => !s.done) && performance.now() < until) await sleep(2);
        if (stream.stats().some((s) => !s.done)) teardownTimeouts++;
      }
      if (received === 0) idleSegments++;
      else idleSegments = 0;
      if (idleSegments >= 20) throw new Error('soak: 20 restarts in a row delivered no batch');
      if (reference) {
        for (; referenceChecked < ledger.committed; referenceChecked++) {
          const r = await reference.next();
          if (r.done || batchDigest(r.value) !== firstDigests[referenceChecked]) mismatchedBatches++;
        }
      }
      if (ended) {
        completed = true;
        break;
      }
      const position = clone(stream.position());
      if (position.batches !== ledger.committed) positionMismatches++;
      if (timeUp()) break;
      cancellations[style]++;
      restarts++;
      if (checkpoint !== null && rng() % 1000 < o.rollbackRate * 1000) {
        const cp: { position: RecordBatchesPosition; batches: number } = checkpoint;
        ledger.rollback(cp.batches);
        resume = cp.position;
        rollbacks++;
      } else resume = position;
    }

    await reference?.return?.();
    clearInterval(sampler);
    // A stream unsubscribed last may still be closing its file: allow it a second, a leak stays.
    const settleBy = performance.now() + 1000;
    while (openFds() - fdsStart > o.fdSlack && performance.now() < settleBy) await sleep(10);
    const fdsEnd = openFds();
    sample();
    const accounting = ledger.audit(completed);
    const rss = rssVerdict({ samples, warmIndex }, o);
    // A worker thread holds a few descriptors of its own (4 measured; 6 under tsx's loader); a
    // terminated worker's close late, so a restarted pipeline's may overlap them.
    const fds = fdVerdict(
      fdsStart,
      fdsEnd,
      samples,
      o.fdSlack,
      Math.max(0, o.numThreads - 1) * 2 * FDS_PER_WORKER,
    );
    const failures: string[] = [];
    if (completed && accounting.recordsDelivered !== accounting.recordsExpected)
      failures.push(
        `delivered ${accounting.recordsDelivered} records, expected ${accounting.recordsExpected}`,
      );
    if (accounting.duplicates > 0) failures.push(`${accounting.duplicates} records delivered twice`);
    if (accounting.missing > 0) failures.push(`${accounting.missing} records never delivered`);
    if (accounting.epochRecordErrors > 0)
      failures.push(`${accounting.epochRecordErrors} (epoch, record) pairs not delivered exactly once`);
    if (accounting.unknownKeys > 0) failures.push(`${accounting.unknownKeys} keys name no record`);
    if (mismatchedBatches > 0)
      failures.push(`${mismatchedBatches} batches differ from the uninterrupted run's`);
    if (positionMismatches > 0)
      failures.push(`${positionMismatches} positions did not count the batches received`);
    if (teardownTimeouts > 0)
      failures.push(`${teardownTimeouts} cancelled streams did not finish within 5 s`);
    if (!rss.ok)
      failures.push(
        `RSS grew ${rss.growthMB.toFixed(1)} MB after warm-up (limit ${rss.limitMB.toFixed(1)} MB)`,
      );
    if (!fds.ok)
      failures.push(`open descriptors ${fds.start} at the start, ${fds.end} at the end, ${fds.max} at most`);
    const accounted =
      (!completed || accounting.recordsDelivered === accounting.recordsExpected) &&
      accounting.duplicates === 0 &&
      accounting.missing === 0 &&
      accounting.epochRecordErrors === 0 &&
      accounting.unknownKeys === 0 &&
      mismatchedBatches === 0 &&
      positionMismatches === 0;
    const ok = failures.length === 0;
    const verdict: SoakVerdict = {
      ...accounting,
      ok,
      exitCode: ok ? 0 : 1,
      completed,
      seconds: (performance.now() - t0) / 1000,
      epochs: o.epochs,
      mismatchedBatches,
      positionMismatches,
      teardownTimeouts,
      accounted,
      restarts,
      rollbacks,
      replayedBatches,
      cancellations,
      rss,
      fds,
      failures,
    };
    for (const line of formatVerdict(verdict)) log(line);
    return { samples, verdict };
  } finally {
    clearInterval(sampler);
    await reference?.return?.();
  }
}

function checkOptions(o: SoakOptions): void {
  const positive = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`soak: --${name} must be a positive integer, got ${v}`);
  };
  positive('epochs', o.epochs);
  positive('batch-size', o.batchSize);
  positive('cancel-every', o.cancelEvery);
  positive('sample-ms', o.sampleMs);
  if (!Number.isInteger(o.maxDelayMs) || o.maxDelayMs < 0)
    throw new Error(`soak: --max-delay-ms must be a non-negative integer, got ${o.maxDelayMs}`);
  if (!Number.isInteger(o.seed) || o.seed < 0)
    throw new Error(`soak: --seed must be a non-negative integer, got ${o.seed}`);
  if (o.seconds !== undefined && !(o.seconds > 0))
    throw new Error(`soak: --seconds must be a positive number, got ${o.seconds}`);
  if (!(o.rollbackRate >= 0 && o.rollbackRate <= 1))
    throw new Error(`soak: rollbackRate must be in [0, 1], got ${o.rollbackRate}`);
}

const COLUMNS = ['time s', 'epoch', 'RSS MB', 'heap MB', 'fds', 'records', 'restarts'] as const;
const WIDTHS = [8, 7, 8, 8, 5, 9, 9];

export function formatHeader(): string {
  return COLUMNS.map((c, i) => c.padStart(WIDTHS[i])).join(' ');
}

export function formatRow(s: SoakSample): string {
  const cells = [
    s.t.toFixed(1),
    s.epoch.toFixed(2),
    s.rssMB.toFixed(1),
    s.heapMB.toFixed(1),
    String(s.fds),
    String(s.records),
    String(s.restarts),
  ];
  return cells.map((c, i) => c.padStart(WIDTHS[i])).join(' ');
}

export function formatVerdict(v: SoakVerdict): string[] {
  const mark = (ok: boolean) => (ok ? 'ok  ' : 'FAIL');
  const c = v.cancellations;
  return [
    '',
    `${mark(v.accounted)} records: ${v.recordsDelivered} delivered, ${v.recordsExpected} expected` +
      ` (${v.recordsPerEpoch} per epoch, ${v.dropped} dropped in the last partial batch${v.completed ? '' : '; stopped early'});` +
      ` ${v.duplicates} duplicated, ${v.missing} missing, ${v.epochRecordErrors} epoch errors,` +
      ` ${v.mismatchedBatches} batches unlike the uninterrupted run, ${v.positionMismatches} position mismatches`,
    `     restarts: ${v.restarts} (${v.rollbacks} to an older checkpoint, ${v.replayedBatches} batches replayed);` +
      ` cancelled by break ${c.break}, abort ${c.abort}, take ${c.take}, unsubscribe ${c.unsubscribe}`,
    `${mark(v.rss.ok)} RSS: ${v.rss.warmMB.toFixed(1)} MB after warm-up, ${v.rss.endMB.toFixed(1)} MB at the end` +
      ` (${v.rss.growthMB >= 0 ? '+' : ''}${v.rss.growthMB.toFixed(1)} MB, limit ${v.rss.limitMB.toFixed(1)} MB)`,
    v.fds.measured
      ? `${mark(v.fds.ok)} fds: ${v.fds.start} at the start, ${v.fds.end} at the end, ${v.fds.max} at most`
      : 'ok   fds: not measured (no /proc/self/fd)',
    `${v.ok ? 'PASS' : 'FAIL'} after ${v.seconds.toFixed(1)} s${v.failures.length ? `: ${v.failures.join('; ')}` : ''}`,
  ];
}

export const USAGE = `Usage: npx tsx scripts/soak.ts [--epochs 20] [--seconds N] [--data DIR] [--seed S]
         [--batch-size 125] [--cancel-every 25] [--max-delay-ms 3] [--sample-ms 1000] [--no-reference]
         [--threads 1] [--cache]
Soaks the CIFAR pipeline (distortedInputs) over DIR (default: fixtures/cifar-10-batches-bin, made by
\`npm run fixtures\`) with a slow consumer and random cancellations and restarts; prints RSS, heap and
open descriptors every sample and a verdict. Exit code 0: pass; 1: fail; 2: usage or setup error.`;

/** Parses the command line; throws an Error naming the bad argument. `help`: print usage and stop. */
export function parseSoakArgs(argv: readonly string[]): Partial<SoakOptions> & { help?: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      epochs: { type: 'string' },
      seconds: { type: 'string' },
      data: { type: 'string' },
      seed: { type: 'string' },
      'batch-size': { type: 'string' },
      'cancel-every': { type: 'string' },
      'max-delay-ms': { type: 'string' },
      'sample-ms': { type: 'string' },
      'no-reference': { type: 'boolean' },
      threads: { type: 'string' },
      cache: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const int = (name: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < 0)
      throw new Error(`soak: --${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    return n;
  };
  const out: Partial<SoakOptions> & { help?: boolean } = {};
  const set = <K extends keyof SoakOptions>(k: K, v: SoakOptions[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('epochs', int('epochs', values.epochs));
  set('seed', int('seed', values.seed));
  set('batchSize', int('batch-size', values['batch-size']));
  set('cancelEvery', int('cancel-every', values['cancel-every']));
  set('maxDelayMs', int('max-delay-ms', values['max-delay-ms']));
  set('sampleMs', int('sample-ms', values['sample-ms']));
  const threads = int('threads', values.threads);
  if (threads === 0)
    throw new Error(`soak: --threads must be a positive integer, got ${JSON.stringify(values.threads)}`);
  set('numThreads', threads);
  if (values.cache) out.cache = true;
  if (values.seconds !== undefined) {
    const s = Number(values.seconds);
    if (values.seconds.trim() === '' || !(s > 0))
      throw new Error(`soak: --seconds must be a positive number, got ${JSON.stringify(values.seconds)}`);
    out.seconds = s;
  }
  set('data', values.data);
  if (values['no-reference']) out.reference = false;
  if (values.help) out.help = true;
  return out;
}

/** The command: parses, runs, prints; resolves with the exit code. */
export async function main(
  argv: readonly string[],
  log: (line: string) => void = console.log,
): Promise<number> {
  let options: ReturnType<typeof parseSoakArgs>;
  try {
    options = parseSoakArgs(argv);
  } catch (err) {
    log(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    log(USAGE);
    return 0;
  }
  const { help: _, ...soak } = options;
  const data = soak.data ?? DEFAULT_DATA;
  if (!existsSync(data)) {
    log(
      `soak: no CIFAR data at ${data}${soak.data === undefined ? ' (run `npm run fixtures` to make it)' : ''}`,
    );
    return 2;
  }
  try {
    const { verdict } = await runSoak({ ...soak, log });
    return verdict.exitCode;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Bad options and unusable data (InputError: missing files, bad meta) are setup errors.
    if (message.startsWith('soak: --') || err instanceof InputError) {
      log(message.startsWith('soak:') ? message : `soak: ${message}`);
      return 2;
    }
    log(`soak: ${(err as Error).stack ?? message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // No process.exit: the process must end by itself once the soak is over (nothing left running).
  process.exitCode = await main(process.argv.slice(2));
}
