import { CancelledError } from './errors.js';
import type { QueueBase } from './queue-base.js';

/**
 * TF1's QueueRunner, for one upstream: pulls elements and enqueues them, blocking while the queue is
 * full (that is the backpressure), closes the queue when the upstream ends, and fails it with the
 * upstream's error. `lookahead` > 1 keeps that many upstream pulls in flight (TF's `num_threads`):
 * results are enqueued in pull order, so the order never depends on timing.
 */
export class QueueRunner<T> {
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly upstream: AsyncIterator<T>,
    private readonly queue: QueueBase<T>,
    private readonly lookahead = 1,
  ) {
    this.done = this.run();
  }

  /** Stops pulling, cancels the queue and returns the upstream (closing its files). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.queue.cancel();
    await this.upstream.return?.().catch(() => undefined);
    await this.done;
  }

  private async run(): Promise<void> {
    const inFlight: Promise<IteratorResult<T>>[] = [];
    try {
      for (;;) {
        while (inFlight.length < this.lookahead) inFlight.push(this.upstream.next());
        const r = await inFlight.shift()!;
        if (this.stopped) return;
        if (r.done) break;
        if (!this.queue.tryEnqueue(r.value)) await this.queue.enqueue(r.value);
      }
      // Pulls issued after the end resolve as done too; let them settle before closing.
      await Promise.allSettled(inFlight);
      await this.queue.close();
    } catch (err) {
      await Promise.allSettled(inFlight);
      if (this.stopped && err instanceof CancelledError) return;
      if (!this.stopped) this.queue.fail(err);
    }
  }
}
