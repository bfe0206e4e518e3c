#!/usr/bin/env node
/**
 * `inqueue <command> [options]`. Exit codes: 0 done, 1 bad input (a file, a dataset), 2 usage.
 * Errors are one line naming what was wrong.
 */
import { join } from 'node:path';
import { tap } from 'rxjs';
import { InputError } from '../core/errors.js';
import { contactSheet } from '../inspect/contact-sheet.js';
import { dumpSamples } from '../inspect/dump-samples.js';
import { parseArgs, UsageError } from './args.js';
import { benchPipeline, progressLine, samplesIn } from './bench.js';
import { detectFormat } from './detect.js';
import { describeDataset } from './info.js';
import { policyFromArgs, reportLines } from './report.js';
import { type ShownExample, samplesOf } from './samples.js';
import { EVAL_HELP, evalCommand, TRAIN_HELP, trainCommand } from './train.js';

const HELP: Record<string, string> = {
  '': `inqueue: TensorFlow 1 style input pipelines for Node.js

Usage: inqueue <command> [options]

Commands:
  info <path>      detect the dataset at <path> and print counts per split and class
  dump <path>      write decoded (or distorted) samples as images, and optionally a contact sheet
  bench <path>     run the dataset's training pipeline and print samples/s and queue fill
  train [path]     train the CIFAR-10 tutorial CNN on distorted inputs, checkpoint, evaluate
  eval [path]      precision @ 1 of a training run's latest checkpoint on the test split

Run 'inqueue <command> --help' for a command's options.`,
  info: `Usage: inqueue info <path>

Detects the dataset layout at <path> (CIFAR-10 or CIFAR-100 binary folder, MNIST IDX files,
an image folder of class sub-folders, the published CIFAR archives (cifar-10-binary.tar.gz,
cifar-100-binary.tar.gz), tar shards) and prints counts per split and class (shards: members and
samples).`,
  dump: `Usage: inqueue dump <path> --out DIR [--count 30] [--split train] [--distorted] [--sheet]
                   [--format png|jpeg] [--seed 1] [--on-error raise|skip|warn] [--max-errors N]

Writes the first --count examples of the split as image files in DIR with an index.csv (key, label,
class, file). --distorted applies cifar10_input's distorted_inputs (CIFAR only; standardized images
are rescaled for viewing). --sheet also writes DIR/sheet.png, a captioned grid (before and after
side by side with --distorted). --on-error skip|warn drops unreadable or undecodable examples
(counted; --max-errors bounds them) instead of stopping; a report line says what was read, yielded
and skipped, by reason with the first keys.`,
  bench: `Usage: inqueue bench <path> [--threads 1] [--batch 128] [--epochs 1] [--seed 1] [--cache]
                    [--on-error raise|skip|warn] [--max-errors N]

Runs the matching pipeline — CIFAR-10/100 (folder or archive): distortedInputs on --threads threads
(--cache: the files held in memory, read once); MNIST: shuffled batches; image folder: decoded
batches — and prints samples/s and queue fill as it goes (a live line on a terminal), then the
total and the report (read, yielded, skipped by reason). --on-error applies to MNIST and image
folders (the CIFAR pipeline raises).`,
  train: TRAIN_HELP,
  eval: EVAL_HELP,
};

export async function main(
  argv: readonly string[],
  out: (line: string) => void = console.log,
): Promise<number> {
  const [command = '', ...rest] = argv;
  try {
    if (command === '' || command === '--help' || command === 'help') {
      out(HELP['']);
      return command === '' ? 2 : 0;
    }
    if (!(command in HELP))
      throw new UsageError(`unknown command ${JSON.stringify(command)} (see inqueue --help)`);
    if (rest.includes('--help')) {
      out(HELP[command]);
      return 0;
    }
    if (command === 'dump') {
      const parsed = parseArgs(rest, {
        out: { type: 'string' },
        count: { type: 'number', default: 30 },
        split: { type: 'string', default: 'train' },
        distorted: { type: 'flag' },
        sheet: { type: 'flag' },
        format: { type: 'string', default: 'png' },
        seed: { type: 'number', default: 1 },
        'on-error': { type: 'string', default: 'raise' },
        'max-errors': { type: 'number' },
      });
      return await dump(parsed.positionals, parsed.options, out);
    }
    if (command === 'bench') {
      const parsed = parseArgs(rest, {
        threads: { type: 'number', default: 1 },
        batch: { type: 'number', default: 128 },
        epochs: { type: 'number', default: 1 },
        seed: { type: 'number', default: 1 },
        cache: { type: 'flag' },
        'on-error': { type: 'string', default: 'raise' },
        'max-errors': { type: 'number' },
      });
      return await bench(parsed.positionals, parsed.options, out);
    }
    if (command === 'train') return await trainCommand(rest, out);
    if (command === 'eval') return await evalCommand(rest, out);
    if (command === 'info') {
      const { positionals } = parseArgs(rest, {});
      const [path] = positionals;
      if (!path || positionals.length > 1) throw new UsageError('info takes exactly one <path>');
      const detected = await detectFormat(path);
      if (!detected)
        throw new InputError(
          `no dataset recognised at ${JSON.stringify(path)} (expected CIFAR, MNIST or an image folder)`,
        );
      for (const line of await describeDataset(detected)) out(line);
      return 0;
    }
    return 2;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`inqueue: ${message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

async function dump(
  positionals: string[],
  o: Record<string, string | number | boolean | undefined>,
  out: (line: string) => void,
): Promise<number> {
  const [path] = positionals;
  if (!path || positionals.length > 1) throw new UsageError('dump takes exactly one <path>');
  if (typeof o.out !== 'string') throw new UsageError('dump needs --out DIR');
  if (o.format !== 'png' && o.format !== 'jpeg')
    throw new UsageError(`--format must be png or jpeg, got ${JSON.stringify(o.format)}`);
  const count = Number(o.count);
  if (!Number.isInteger(count) || count < 1)
    throw new UsageError(`--count must be a positive integer, got ${o.count}`);
  const detected = await detectFormat(path);
  if (!detected)
    throw new InputError(
      `no dataset recognised at ${JSON.stringify(path)} (expected CIFAR, MNIST or an image folder)`,
    );
  if (detected.format === 'tar-shards')
    throw new InputError('inqueue dump: tar shards are not supported yet');
  if (o.distorted && detected.format !== 'cifar10' && detected.format !== 'cifar100') {
    throw new UsageError('--distorted applies to CIFAR datasets only');
  }
  const { examples, classNames, report } = await samplesOf(detected, {
    split: String(o.split),
    distorted: Boolean(o.distorted),
    seed: Number(o.seed),
    ...policyFromArgs(o),
  });
  const kept: ShownExample[] = [];
  const result = await dumpSamples(examples.pipe(tap((e) => kept.length < count && kept.push(e))), {
    dir: o.out,
    count,
    format: o.format,
    classNames,
  });
  out(`wrote ${result.files.length} images and ${result.index}`);
  for (const line of reportLines(report())) out(line);
  if (o.sheet && kept.length > 0) {
    const sheet = join(o.out, 'sheet.png');
    const befores = kept.filter((e) => e.before).map((e) => ({ image: e.before!, label: e.label }));
    await contactSheet(
      kept.map((e) => ({ image: e.image, label: e.label })),
      { out: sheet, classNames, before: befores.length === kept.length ? befores : undefined },
    );
    out(`wrote ${sheet}`);
  }
  return 0;
}

async function bench(
  positionals: string[],
  o: Record<string, string | number | boolean | undefined>,
  out: (line: string) => void,
): Promise<number> {
  const [path] = positionals;
  if (!path || positionals.length > 1) throw new UsageError('bench takes exactly one <path>');
  for (const name of ['threads', 'batch', 'epochs'] as const) {
    const v = Number(o[name]);
    if (!Number.isInteger(v) || v < 1)
      throw new UsageError(`--${name} must be a positive integer, got ${o[name]}`);
  }
  const detected = await detectFormat(path);
  if (!detected)
    throw new InputError(
      `no dataset recognised at ${JSON.stringify(path)} (expected CIFAR, MNIST or an image folder)`,
    );
  const policy = policyFromArgs(o);
  const cifar = detected.format === 'cifar10' || detected.format === 'cifar100';
  if (cifar && policy.onError !== 'raise')
    throw new UsageError('--on-error applies to MNIST and image folders; the CIFAR bench pipeline raises');
  if (o.cache && !cifar) throw new UsageError('--cache applies to CIFAR');
  const options = {
    path,
    threads: Number(o.threads),
    batch: Number(o.batch),
    epochs: Number(o.epochs),
    seed: Number(o.seed),
    cache: o.cache === true,
    ...policy,
  };
  const stream = await benchPipeline(detected, options);
  const tty = process.stdout.isTTY === true;
  const t0 = performance.now();
  let batches = 0;
  let samples = 0;
  let last = t0;
  for await (const b of stream) {
    batches++;
    samples += samplesIn(b, options.batch);
    stream.release?.(b as never); // nothing keeps a batch here: hand it back for reuse where the stream can
    const now = performance.now();
    if (now - last > 1000) {
      last = now;
      const line = progressLine(batches, samples, (now - t0) / 1000, stream.stats());
      if (tty) process.stdout.write(`\r${line}`);
      else out(line);
    }
  }
  if (tty) process.stdout.write('\n');
  const seconds = (performance.now() - t0) / 1000;
  out(
    `${detected.format}: ${batches} batches, ${samples} samples in ${seconds.toFixed(2)} s = ${(samples / seconds).toFixed(0)} samples/s (threads ${options.threads})`,
  );
  for (const line of reportLines(stream.report())) out(line);
  return 0;
}

// Run when executed directly (the package's bin), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/(^|[\\/])(main\.(ts|js)|inqueue)$/.test(invoked)) {
  // `inqueue info … | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
