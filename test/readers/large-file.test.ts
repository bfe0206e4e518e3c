import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '../helpers/files.js';

const RECORD_BYTES = 3073;
const RECORDS = 700_000;
const FILE_BYTES = RECORD_BYTES * RECORDS; // 2 151 100 000 bytes: past 2^31
const PEAK_RSS_LIMIT = 300 * 1024 * 1024;

const childScript = fileURLToPath(new URL('./large-file-child.ts', import.meta.url));

interface ChildReport {
  records: number;
  batches: number;
  batchedRecords: number;
  lastKey: string;
  peakRssBytes: number;
  seconds: number;
}

function runChild(file: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', childScript, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`child exited with ${code}: ${stderr}`));
      else {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ChildReport);
        } catch (err) {
          reject(new Error(`child printed no report: ${stdout} ${stderr} (${err})`));
        }
      }
    });
  });
}

let tmp: TempDir;
let file: string;

beforeAll(async () => {
  tmp = await makeTempDir('large');
  file = tmp.path('sparse-cifar-like.bin');
  // Sparse: no disk blocks are written, reads return zeros.
  const handle = await open(file, 'w');
  try {
    await handle.truncate(FILE_BYTES);
  } finally {
    await handle.close();
  }
});

afterAll(async () => {
  await tmp.cleanup();
});

describe('fixedLengthRecordReader on a 2 GB-class file', () => {
  it('streams 700 000 records of 3073 bytes through batch(128) with peak RSS under 300 MB', async () => {
    const report = await runChild(file);
    expect(report.records).toBe(RECORDS);
    expect(report.batchedRecords).toBe(RECORDS);
    expect(report.batches).toBe(Math.ceil(RECORDS / 128));
    expect(report.lastKey).toBe(`${file}:${RECORDS - 1}`);
    expect(report.peakRssBytes).toBeLessThan(PEAK_RSS_LIMIT);
    console.info(
      `large file: ${report.records} records in ${report.seconds.toFixed(1)} s, peak RSS ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
  }, 120_000);
});
