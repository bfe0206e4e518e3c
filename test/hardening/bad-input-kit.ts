import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import tar from 'tar-stream';
import { expect } from 'vitest';
import type { InputError, Stream } from '../../src/index.js';
import { concat } from '../helpers/files.js';

export { concat, type Drained, drain } from '../helpers/files.js';

/**
 * Builders and checks shared by the bad-input catalog: draining a stream into what it gave and how
 * it ended, the report line of a stage (with read = yielded + skipped checked), tar archives made by
 * GNU tar (real layouts) or tar-stream (hostile headers GNU tar will not write), and IDX files.
 */

/**
 * The report line of the stage `name` of `stream`'s pipeline; fails unless read = yielded + skipped
 * for every stage of the report.
 */
export function stageLine(stream: Stream<unknown>, name: string) {
  const { stages, skipped } = stream.report();
  for (const s of stages) expect(s.read, `${s.stage}: read = yielded + skipped`).toBe(s.yielded + s.skipped);
  expect(skipped).toBe(stages.reduce((n, s) => n + s.skipped, 0));
  const line = stages.find((s) => s.stage === name);
  if (!line) throw new Error(`no stage ${name} in the report: ${stages.map((s) => s.stage).join(', ')}`);
  return line;
}

/**
 * Asserts `error` is an instance of `Class` (exactly: not a subclass standing in for it) with the
 * given context fields, and a message that names `file` (as the library writes it: JSON-quoted).
 */
export function expectTyped(
  error: unknown,
  Class: new (...args: never[]) => InputError,
  fields: Partial<Pick<InputError, 'file' | 'offset' | 'key' | 'stage' | 'parameter'>>,
  names?: string,
): InputError {
  expect(error).toBeInstanceOf(Class);
  const e = error as InputError;
  expect(e.name).toBe(Class.name);
  expect(e.constructor).toBe(Class);
  for (const [field, value] of Object.entries(fields))
    expect(e[field as keyof InputError], field).toBe(value);
  if (names !== undefined) expect(e.message).toContain(names);
  return e;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

export function u32be(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, false);
  return b;
}

/**
 * A tar made by GNU tar from `members` (written under `<work>/src-<name>/` first), in that order,
 * with no folder entries: short names give the plain layout of one 512-byte header then the data
 * padded to 512 per member, two zero blocks, and padding to GNU tar's 10240-byte records.
 */
export async function gnuTar(
  work: string,
  name: string,
  members: [string, Uint8Array | string][],
  gzip = false,
): Promise<string> {
  const root = join(work, `src-${name}`);
  for (const [member, bytes] of members) {
    await mkdir(dirname(join(root, member)), { recursive: true });
    await writeFile(join(root, member), typeof bytes === 'string' ? enc(bytes) : bytes);
  }
  const out = join(work, name);
  execFileSync('tar', [gzip ? '-czf' : '-cf', out, '-C', root, ...members.map(([m]) => m)]);
  return out;
}

/** The bytes of a GNU tar archive (see gnuTar). */
export async function gnuTarBytes(work: string, name: string, members: [string, Uint8Array | string][]) {
  return new Uint8Array(await readFile(await gnuTar(work, name, members)));
}

export type PackEntry = Parameters<ReturnType<typeof tar.pack>['entry']>[0] & { body?: string };

/** A tar built from raw headers with tar-stream: names and links GNU tar would rewrite or refuse. */
export async function packTar(entries: PackEntry[]): Promise<Uint8Array> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header, body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/** An MNIST images file: `n` images of rows x cols, every pixel of image i being i, after its header. */
export function imagesIdx(
  n: number,
  {
    rows = 4,
    cols = 4,
    magic = 0x803,
    count = n,
  }: { rows?: number; cols?: number; magic?: number; count?: number } = {},
): Uint8Array {
  const body = Uint8Array.from({ length: n * rows * cols }, (_, i) => Math.floor(i / (rows * cols)) & 0xff);
  return concat(u32be(magic), u32be(count), u32be(rows), u32be(cols), body);
}

/** An MNIST labels file holding `labels`. */
export function labelsIdx(labels: number[], { magic = 0x801, count = labels.length } = {}): Uint8Array {
  return concat(u32be(magic), u32be(count), Uint8Array.from(labels));
}

/** CIFAR-10's six data files (names of cifar10's folder layout). */
export const CIFAR10_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
  'test_batch.bin',
];

/**
 * A CIFAR-10 folder in `dir`: every data file holds `records` records whose label byte is
 * `label(file, index)` (pixels: the index), plus `batches.meta.txt` listing `classes` unless null.
 */
export async function cifarFolder(
  dir: string,
  {
    records = 3,
    classes = ['cat', 'dog'] as string[] | null,
    label = (_file: string, i: number) => i % 2,
  }: { records?: number; classes?: string[] | null; label?: (file: string, index: number) => number } = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const name of CIFAR10_FILES) {
    const bytes = new Uint8Array(records * 3073);
    for (let i = 0; i < records; i++) {
      bytes[i * 3073] = label(name, i);
      bytes.fill(i, i * 3073 + 1, (i + 1) * 3073);
    }
    await writeFile(join(dir, name), bytes);
  }
  if (classes) await writeFile(join(dir, 'batches.meta.txt'), `${classes.join('\n')}\n`);
  return dir;
}
