/**
 * The contract between inqueue's training loop (`fit`) and whatever learns from the batches: a tfjs
 * model (`tfjsTrainer`), or any object a user writes around an existing training step.
 */

/** What one training step reports. `loss` is required; any other number is a metric. */
export interface StepResult {
  loss: number;
  [metric: string]: number;
}

export interface Trainer<B> {
  /** Trains on one batch; resolves when the step's numbers are known. */
  step(batch: B): Promise<StepResult>;
  /** Scores one batch without training (e.g. `{ correct, count }` or a loss). */
  evaluate?(batch: B): Promise<Record<string, number>>;
  /** Writes everything needed to continue training into `dir` (an existing, empty folder). */
  save?(dir: string): Promise<void>;
  /** Reads what `save` wrote. */
  load?(dir: string): Promise<void>;
  /** The learning rate the next step will use, for logs and summaries. */
  learningRate?(): number;
  /** Frees what the trainer holds (tensors, workers). */
  dispose?(): void;
}

/**
 * A batch stream that can say where it stands: `position()` describes the input after the last
 * batch it delivered, as a JSON-serializable value from which the same stream can be rebuilt to
 * deliver exactly the following batches (see docs/training.md, "Checkpoint and resume").
 */
export interface PositionedSource {
  position(): unknown;
}

export function hasPosition(source: unknown): source is PositionedSource {
  return (
    typeof source === 'object' &&
    source !== null &&
    typeof (source as Partial<PositionedSource>).position === 'function'
  );
}
