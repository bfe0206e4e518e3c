/** inqueue: TensorFlow 1 queue-based input pipelines as bounded, deterministic RxJS streams. */

export type { BatchOptions, JoinOptions, ShuffleBatchOptions, ShuffledStream } from './batch/batch.js';
export { batch, batchJoin, shuffleBatch, shuffleBatchJoin } from './batch/batch.js';
export { interleave } from './batch/interleave.js';
export { prefetch } from './batch/prefetch.js';
export type { Batch, Example, NumberDType } from './batch/stack.js';
export { stack } from './batch/stack.js';
export type { InputErrorContext } from './core/errors.js';
export {
  CancelledError,
  DecodeError,
  InputError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  TruncatedRecordError,
} from './core/errors.js';
export { FIFOQueue } from './core/fifo-queue.js';
export type { CloseOptions, QueueOptions } from './core/queue-base.js';
export { QueueBase } from './core/queue-base.js';
export type { RandomShuffleQueueOptions } from './core/random-shuffle-queue.js';
export { RandomShuffleQueue } from './core/random-shuffle-queue.js';
export { CounterRng, permutation, philox4x32 } from './core/rng.js';
export type { StageCounters, StageStats } from './core/stats.js';
export type { Opener, Source, StageInfo } from './core/stream.js';
export { DEFAULT_PIPE_WINDOW, Stream } from './core/stream.js';
export type { DType, Tensor } from './core/tensor.js';
export type { CifarExample } from './decode/cifar-record.js';
export { CIFAR_IMAGE_BYTES, decodeCifarRecord } from './decode/cifar-record.js';
export { decodeRaw } from './decode/decode-raw.js';
export type { ProducerStream, StringInputProducerOptions } from './producers/string-input-producer.js';
export { stringInputProducer } from './producers/string-input-producer.js';
export type { FixedLengthRecordReaderOptions } from './readers/fixed-length-record-reader.js';
export { fixedLengthRecordReader } from './readers/fixed-length-record-reader.js';
export type { KeyValue } from './readers/whole-file-reader.js';
export { wholeFileReader } from './readers/whole-file-reader.js';
