/**
 * Spawned by bad-inputs.test.ts: reads the file named on the command line (a character device such
 * as /dev/zero) with wholeFileReader and prints one JSON line: the typed error or the bytes read, or
 * `unbounded` once more than 256 MiB of buffers are held, before the process gives up on its own.
 * A child, because a read that never ends cannot be cancelled and would keep growing in the runner.
 */
import { wholeFileReader } from '../../src/readers/whole-file-reader.js';

const LIMIT = 256 * 1024 * 1024;
const file = process.argv[2];
const report = (line: object): never => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
  process.exit(0);
};
const watchdog = setInterval(() => {
  const held = process.memoryUsage().arrayBuffers;
  if (held > LIMIT) report({ outcome: 'unbounded', held });
}, 20);
try {
  const records = await wholeFileReader([file]).toArray();
  clearInterval(watchdog);
  report({ outcome: 'read', bytes: records[0].value.length });
} catch (err) {
  clearInterval(watchdog);
  const e = err as { name: string; message: string; file?: string; stage?: string; parameter?: string };
  report({
    outcome: 'error',
    name: e.name,
    message: e.message,
    file: e.file,
    stage: e.stage,
    parameter: e.parameter,
  });
}
