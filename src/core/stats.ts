import { Observable } from 'rxjs';

/**
 * Telemetry. Every queue and stage keeps cheap counters and exposes a snapshot; `stats$` samples
 * snapshots on an unref'd timer, so watching a pipeline never keeps the process alive.
 */

export interface StageStats {
  /** Stage name, e.g. `shuffle_batch`, `input_producer`. */
  readonly name: string;
  /** Elements held right now (queued, buffered or in flight). */
  readonly size: number;
  /** The most elements the stage can hold (Infinity for a stage that holds none). */
  readonly capacity: number;
  /** TF's summary value: `size / capacity` (for shuffle queues `max(0, size - m) / (capacity - m)`). */
  readonly fractionFull: number;
  /** Elements that have entered the stage since it started. */
  readonly elementsIn: number;
  /** Elements that have left the stage. */
  readonly elementsOut: number;
  /** Output rate over the stage's lifetime so far. */
  readonly elementsPerSecond: number;
  /** Elements skipped under a skip policy (for example truncated records). */
  readonly skipped: number;
  /** Elements tried by a stage with an error policy (records read, elements mapped). */
  readonly read: number;
  /** Skips by reason (the error's class name), with the first keys of each. */
  readonly skippedByReason: Readonly<Record<string, SkipSummary>>;
  /** True once the stage has delivered its last element, or was cancelled and has closed its source. */
  readonly done: boolean;
}

/** Skips of one reason: how many, and the keys of the first few (FIRST_SKIPPED_KEYS). */
export interface SkipSummary {
  count: number;
  firstKeys: string[];
}

/** How many skipped keys each reason remembers. */
export const FIRST_SKIPPED_KEYS = 10;

/** Mutable counters a stage updates on its hot path; `snapshot()` turns them into a StageStats. */
export class StageCounters {
  size = 0;
  elementsIn = 0;
  elementsOut = 0;
  skipped = 0;
  /** Elements a stage with an error policy tried to produce: read = elementsOut + skipped. */
  read = 0;
  private readonly skips = new Map<string, SkipSummary>();
  private finishedAt = 0;
  private isDone = false;
  /** When set, the live size (a queue's length) instead of the `size` field. */
  sizeProbe: (() => number) | null = null;
  /** When set, the live count of elements in (a queue's enqueue count). */
  inProbe: (() => number) | null = null;
  private started = 0;

  constructor(
    readonly name: string,
    readonly capacity: number,
    private readonly fraction?: (size: number) => number,
  ) {}

  /** True once the stage delivered its last element, or was cancelled and closed its source; freezes the rate's clock. */
  get done(): boolean {
    return this.isDone;
  }

  set done(value: boolean) {
    if (value && !this.isDone) this.finishedAt = performance.now();
    this.isDone = value;
  }

  /** Marks the start of the run (first pull), the origin of the rate. */
  start(): void {
    if (this.started === 0) this.started = performance.now();
  }

  /**
   * Counts one skipped element under `reason`, remembering its key if among the first. A skipped
   * element was read: `read` counts it here, so a stage adds to `read` only what it yields and
   * read = yielded + skipped holds whatever the policy (the element whose error ends a stream under
   * raise is neither).
   */
  recordSkip(reason: string, key: string | undefined): void {
    this.skipped++;
    this.read++;
    let s = this.skips.get(reason);
    if (!s) this.skips.set(reason, (s = { count: 0, firstKeys: [] }));
    s.count++;
    if (key !== undefined && s.firstKeys.length < FIRST_SKIPPED_KEYS) s.firstKeys.push(key);
  }

  snapshot(): StageStats {
    const end = this.isDone && this.finishedAt > 0 ? this.finishedAt : performance.now();
    const elapsed = this.started === 0 ? 0 : (end - this.started) / 1000;
    const size = this.done ? 0 : this.sizeProbe ? this.sizeProbe() : this.size;
    const fractionFull = this.fraction
      ? this.fraction(size)
      : Number.isFinite(this.capacity) && this.capacity > 0
        ? size / this.capacity
        : 0;
    return {
      name: this.name,
      size,
      capacity: this.capacity,
      fractionFull,
      elementsIn: this.inProbe ? this.inProbe() : this.elementsIn,
      elementsOut: this.elementsOut,
      elementsPerSecond: elapsed > 0 ? this.elementsOut / elapsed : 0,
      skipped: this.skipped,
      read: this.read,
      skippedByReason: Object.fromEntries(
        [...this.skips].map(([reason, s]) => [reason, { count: s.count, firstKeys: [...s.firstKeys] }]),
      ),
      done: this.done,
    };
  }
}

/** An observable that emits `read()` now and every `intervalMs`, on a timer that never holds the process. */
export function sampled<T>(read: () => T, intervalMs = 500): Observable<T> {
  return new Observable<T>((subscriber) => {
    subscriber.next(read());
    const timer = setInterval(() => subscriber.next(read()), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  });
}

/** One stage's line in a pipeline report. */
export interface StageReport {
  stage: string;
  read: number;
  yielded: number;
  skipped: number;
  skippedByReason: Record<string, SkipSummary>;
}

/** What `Stream.report()` returns: every stage that reads or skips, sources first. */
export interface PipelineReport {
  stages: StageReport[];
  /** Skipped elements over all stages. */
  skipped: number;
}

/** The report of a pipeline from its stages' stats. */
export function reportOf(stats: readonly StageStats[]): PipelineReport {
  const stages = stats
    .filter((s) => s.read > 0 || s.skipped > 0)
    .map((s) => ({
      stage: s.name,
      read: s.read,
      yielded: s.elementsOut,
      skipped: s.skipped,
      skippedByReason: { ...s.skippedByReason },
    }));
  return { stages, skipped: stages.reduce((n, s) => n + s.skipped, 0) };
}
