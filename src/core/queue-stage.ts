import { CancelledError, OutOfRangeError } from './errors.js';
import type { QueueBase } from './queue-base.js';
import { QueueRunner } from './runner.js';
import type { StageCounters } from './stats.js';

/**
 * The iterator of a queue-backed stage: on the first pull it starts a QueueRunner filling `queue`
 * from `upstream`; each pull dequeues (`take`), and the queue's end (OutOfRangeError) ends the
 * iteration. `return()` stops the runner, which cancels the queue and returns the upstream.
 */
export class QueueStageIterator<Q, R> implements AsyncIterator<R> {
  private runner: QueueRunner<Q> | null = null;
  private finished = false;

  constructor(
    private readonly openUpstream: () => AsyncIterator<Q>,
    private readonly queue: QueueBase<Q>,
    private readonly take: (queue: QueueBase<Q>) => Promise<R>,
    private readonly counters: StageCounters,
    private readonly lookahead = 1,
  ) {
    counters.sizeProbe = () => queue.size();
    counters.inProbe = () => queue.stats().elementsIn;
  }

  async next(): Promise<IteratorResult<R>> {
    if (this.finished) return { value: undefined, done: true };
    this.counters.start();
    if (!this.runner) this.runner = new QueueRunner(this.openUpstream(), this.queue, this.lookahead);
    try {
      const value = await this.take(this.queue);
      this.counters.elementsOut++;
      return { value, done: false };
    } catch (err) {
      // A pull still pending when the stage was returned ends quietly, not with the cancellation.
      const returned = this.finished;
      await this.finish();
      if (err instanceof OutOfRangeError || (returned && err instanceof CancelledError))
        return { value: undefined, done: true };
      throw err;
    }
  }

  async return(): Promise<IteratorResult<R>> {
    await this.finish();
    return { value: undefined, done: true };
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.counters.done = true;
    await this.runner?.stop();
  }
}
