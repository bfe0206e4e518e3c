#!/usr/bin/env node
/**
 * `inqueue <command> [options]`. Exit codes: 0 done, 1 bad input (a file, a dataset), 2 usage.
 * Errors are one line naming what was wrong.
 */
import { InputError } from '../core/errors.js';
import { parseArgs, UsageError } from './args.js';
import { detectFormat } from './detect.js';
import { describeDataset } from './info.js';

const HELP: Record<string, string> = {
  '': `inqueue: TensorFlow 1 style input pipelines for Node.js

Usage: inqueue <command> [options]

Commands:
  info <path>      detect the dataset at <path> and print counts per split and class

Run 'inqueue <command> --help' for a command's options.`,
  info: `Usage: inqueue info <path>

Detects the dataset layout at <path> (CIFAR-10 or CIFAR-100 binary folder, MNIST IDX files,
an image folder of class sub-folders) and prints counts per split and class.`,
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
    const { positionals, options } = parseArgs(rest, { help: { type: 'flag' } });
    if (options.help) {
      out(HELP[command]);
      return 0;
    }
    if (command === 'info') {
      const [path] = positionals;
      if (!path || positionals.length > 1) throw new UsageError('info takes exactly one <path>');
      const detected = detectFormat(path);
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

// Run when executed directly (the package's bin), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/(^|[\\/])(main\.(ts|js)|inqueue)$/.test(invoked)) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
