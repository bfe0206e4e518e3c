/** inqueue: TensorFlow 1 queue-based input pipelines as bounded, deterministic RxJS streams. */

export type { BatchOptions, JoinOptions, ShuffleBatchOptions, ShuffledStream } from './batch/batch.js';
export { batch, batchJoin, shuffleBatch, shuffleBatchJoin } from './batch/batch.js';
export { interleave } from './batch/interleave.js';
export { prefetch } from './batch/prefetch.js';
export type { Batch, Example, NumberDType } from './batch/stack.js';
export { stack } from './batch/stack.js';
export type { ErrorPolicy, ErrorPolicyOptions, OnError } from './core/error-policy.js';
export type { InputErrorContext } from './core/errors.js';
export {
  ArchiveError,
  CancelledError,
  DecodeError,
  InputError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  TooManyErrorsError,
  TruncatedRecordError,
} from './core/errors.js';
export { FIFOQueue } from './core/fifo-queue.js';
export type { CloseOptions, QueueOptions } from './core/queue-base.js';
export { QueueBase } from './core/queue-base.js';
export type { RandomShuffleQueueOptions } from './core/random-shuffle-queue.js';
export { RandomShuffleQueue } from './core/random-shuffle-queue.js';
export { CounterRng, permutation, philox4x32 } from './core/rng.js';
export type {
  PipelineReport,
  SkipSummary,
  StageCounters,
  StageReport,
  StageStats,
} from './core/stats.js';
export type { Opener, SeededStream, Source, StageInfo } from './core/stream.js';
export { DEFAULT_PIPE_WINDOW, Stream } from './core/stream.js';
export type { DType, Tensor } from './core/tensor.js';
export {
  type CifarDataset,
  type CifarOptions,
  cifar10,
  cifar100,
  type DistortedInputs,
  type DistortedInputsOptions,
  distortedInputs,
  type EvalExample,
  type InputsOptions,
  inputs,
} from './datasets/cifar.js';
export type {
  ImageFolderExample,
  ImageFolderFile,
  ImageFolderListing,
  ImageFolderListOptions,
  ImageFolderOptions,
  ImageFolderRecord,
  ImageFolderSplit,
  ImageFolderSplitCounts,
  ImageFolderStream,
} from './datasets/image-folder.js';
export {
  IMAGE_FOLDER_SPLITS,
  imageFolder,
  imageFolderPercentage,
  imageFolderSplit,
  listImageFolder,
} from './datasets/image-folder.js';
export type { MnistExample, MnistOptions } from './datasets/mnist.js';
export { mnist } from './datasets/mnist.js';
export type {
  WebDatasetDecoder,
  WebDatasetFieldContext,
  WebDatasetOptions,
  WebDatasetSample,
} from './datasets/webdataset.js';
export { decodeWebDatasetField, splitMemberName, webDataset } from './datasets/webdataset.js';
export type { CifarExample } from './decode/cifar-record.js';
export { CIFAR_IMAGE_BYTES, decodeCifarRecord } from './decode/cifar-record.js';
export type { DecodeImageOptions } from './decode/decode-image.js';
export { decodeImage } from './decode/decode-image.js';
export { type Decoded, type DecodeImagesOptions, decodeImages } from './decode/decode-images.js';
export type { DecodeJpegOptions, JpegResize } from './decode/decode-jpeg.js';
export { decodeJpeg } from './decode/decode-jpeg.js';
export type { DecodePngOptions } from './decode/decode-png.js';
export { decodePng } from './decode/decode-png.js';
export { decodeRaw } from './decode/decode-raw.js';
export type { EncodeJpegOptions, EncodePngOptions, Rescale } from './decode/encode-image.js';
export { encodeJpeg, encodePng } from './decode/encode-image.js';
export type { SharpStreamingOptions, SharpStreamingSettings } from './decode/sharp-config.js';
export { configureSharpForStreaming } from './decode/sharp-config.js';
export type { ImageFormat } from './decode/sniff-format.js';
export { sniffFormat } from './decode/sniff-format.js';
export { adjustBrightness, randomBrightness } from './image/adjust-brightness.js';
export { adjustContrast, randomContrast } from './image/adjust-contrast.js';
export { adjustHue, randomHue } from './image/adjust-hue.js';
export { adjustSaturation, randomSaturation } from './image/adjust-saturation.js';
export { centralCrop } from './image/central-crop.js';
export type { CifarEvalTransform, CifarEvalTransformOptions } from './image/cifar-eval-transform.js';
export { cifarEvalTransform } from './image/cifar-eval-transform.js';
export { convertImageDtype } from './image/convert-image-dtype.js';
export { crop } from './image/crop.js';
export type { DistortCifar, DistortCifarOptions, DistortedCifarExample } from './image/distort-cifar.js';
export { distortCifar } from './image/distort-cifar.js';
export type {
  DistortCifarBatchOptions,
  DistortedCifarBatch,
  RawCifarBatch,
} from './image/distort-cifar-batch.js';
export { distortCifarBatch } from './image/distort-cifar-batch.js';
export { flipLeftRight, flipUpDown, randomFlipLeftRight, randomFlipUpDown } from './image/flip.js';
export { gaussianNoise } from './image/gaussian-noise.js';
export type { Image, ImageDType, Random } from './image/image.js';
export { padToBoundingBox } from './image/pad.js';
export { perImageStandardization } from './image/per-image-standardization.js';
export { randomCrop } from './image/random-crop.js';
export type {
  CropBox,
  RandomResizedCropOptions,
  ResizedCropBoxOptions,
  ResizedCropInterpolation,
} from './image/random-resized-crop.js';
export { randomResizedCrop, sampleResizedCropBox } from './image/random-resized-crop.js';
export type { RandomZoomOptions, ZoomOptions } from './image/random-zoom.js';
export { randomZoom, zoom } from './image/random-zoom.js';
export type { ResizeOptions } from './image/resize-bilinear.js';
export { resizeBilinear } from './image/resize-bilinear.js';
export { resizeNearestNeighbor } from './image/resize-nearest-neighbor.js';
export { resizeWithCropOrPad } from './image/resize-with-crop-or-pad.js';
export { rot90 } from './image/rot90.js';
export type { RotateInterpolation, RotateOptions } from './image/rotate.js';
export { randomRotation, rotate } from './image/rotate.js';
export type { TranslateOptions } from './image/translate.js';
export { randomTranslate, translate } from './image/translate.js';
export {
  type ContactSheetOptions,
  type ContactSheetResult,
  contactSheet,
  type SheetInput,
} from './inspect/contact-sheet.js';
export {
  type DumpSamplesOptions,
  type DumpSamplesResult,
  dumpSamples,
  sanitizeFileName,
} from './inspect/dump-samples.js';
export { CONSTANT_VIEW_VALUE, rescaleForView, type ViewImage, viewImage } from './inspect/view-rescale.js';
export type { ExampleFn, MapParallelOptions, ParallelFn } from './parallel/map-parallel.js';
export { MapError, MapTimeoutError, mapParallel, WorkerDiedError } from './parallel/map-parallel.js';
export type { ShardFactory } from './parallel/shard-worker.js';
export type { ShardedPipelineOptions } from './parallel/sharded-pipeline.js';
export { shardedPipeline } from './parallel/sharded-pipeline.js';
export type { ProducerStream, StringInputProducerOptions } from './producers/string-input-producer.js';
export { stringInputProducer } from './producers/string-input-producer.js';
export type {
  FixedLengthRecordBlocksOptions,
  FixedLengthRecordReaderOptions,
} from './readers/fixed-length-record-reader.js';
export {
  fixedLengthRecordBlocks,
  fixedLengthRecordReader,
  type RecordBlock,
} from './readers/fixed-length-record-reader.js';
export type { KeyValue } from './readers/whole-file-reader.js';
export { wholeFileReader } from './readers/whole-file-reader.js';
export { type RecordLocation, RecordLocator } from './resume/record-locator.js';
export {
  type IndexedRecord,
  type IndexedRecordBatch,
  type RecordBatchesPosition,
  type ShuffledRecordBatches,
  type ShuffledRecordBatchesOptions,
  shuffledRecordBatches,
} from './resume/shuffled-record-batches.js';
export { archiveEntryNames } from './sources/archive-name.js';
export {
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  maybeDownloadAndExtract,
} from './sources/download.js';
export { globToRegExp } from './sources/glob.js';
export { type ExtractResult, extractTar } from './sources/safe-extract.js';
export { type TarEntriesOptions, type TarEntry, tarEntries } from './sources/tar-entries.js';
export { registerConvGradientKernels } from './train/conv-gradient-kernels.js';
export type { ClassScores, EvaluateOptions, EvaluationResult } from './train/evaluate.js';
export { evaluate } from './train/evaluate.js';
export type { FitOptions, FitResult } from './train/fit.js';
export { fit } from './train/fit.js';
export {
  type CheckpointIndex,
  type CheckpointState,
  type LatestCheckpoint,
  latestCheckpoint,
  restoreCheckpoint,
} from './train/hooks/checkpoint-files.js';
export {
  type CheckpointSaverHook,
  type CheckpointSaverOptions,
  checkpointSaver,
  type SavedCheckpoint,
} from './train/hooks/checkpoint-saver.js';
export { type LoggerHook, type LoggerOptions, logger } from './train/hooks/logger.js';
export { NanLossError, type NanLossOptions, nanLoss } from './train/hooks/nan-loss.js';
export type { WindowStats } from './train/hooks/step-window.js';
export { type StopAtStepOptions, stopAtStep } from './train/hooks/stop-at-step.js';
export {
  type SummaryRow,
  type SummaryWriterHook,
  type SummaryWriterOptions,
  summaryWriter,
} from './train/hooks/summary-writer.js';
export type { FitContext, FitOutcome, Hook, StepInfo } from './train/hooks/types.js';
export {
  type Cifar10LearningRateOptions,
  cifar10LearningRate,
  type ExponentialDecayOptions,
  exponentialDecay,
  type LearningRateSchedule,
} from './train/learning-rate.js';
export { type LinePlotOptions, type LineSeries, linePlot } from './train/line-plot.js';
export {
  BACKEND_ORDER,
  currentRuntime,
  currentTf,
  type LoadTfOptions,
  loadTf,
  type TfBackendChoice,
  type TfNamespace,
  type TfRuntime,
} from './train/load-tf.js';
export {
  loadModel,
  loadNamedTensors,
  type NamedTensor,
  saveModel,
  saveNamedTensors,
} from './train/model-files.js';
export {
  CIFAR10_LRN,
  CIFAR10_WEIGHT_DECAY,
  cifar10Cnn,
  type LocalResponseNormalizationConfig,
  localResponseNormalizationLayer,
  type ModelOptions,
  mnistLenet,
  registerCustomLayers,
} from './train/models.js';
export {
  type LearningRate,
  type LossFunction,
  type OptimizerName,
  type TfjsEvaluation,
  type TfjsTrainer,
  type TfjsTrainerOptions,
  tfjsTrainer,
} from './train/tfjs-trainer.js';
export { type BatchSource, type ToTfDatasetOptions, toTfDataset } from './train/to-tf-dataset.js';
export {
  type EvalCifarOptions,
  evalCifar,
  stopAfterSeconds,
  type TrainCifarOptions,
  type TrainCifarResult,
  trainCifar,
} from './train/train-cifar.js';
export type { PositionedSource, StepResult, Trainer } from './train/trainer.js';
export {
  type BottleneckExample,
  type TransferHead,
  type TransferHeadOptions,
  transferHead,
} from './train/transfer-head.js';
