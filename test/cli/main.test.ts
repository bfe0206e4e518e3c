import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_DIR } from '../helpers/fixture.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'inqueue-cli-'));
  // An image folder: two classes, three PNGs.
  for (const [cls, n] of [
    ['roses', 2],
    ['tulips', 1],
  ] as const) {
    mkdirSync(join(dir, 'flowers', cls), { recursive: true });
    for (let i = 0; i < n; i++) {
      const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#336699' } })
        .png()
        .toBuffer();
      writeFileSync(join(dir, 'flowers', cls, `${cls}${i}.png`), png);
    }
  }
  // MNIST: 3 training examples (labels 1, 2, 1), gzipped images.
  mkdirSync(join(dir, 'mnist'));
  const images = Buffer.alloc(16 + 3 * 4);
  images.writeUInt32BE(0x803, 0);
  images.writeUInt32BE(3, 4);
  images.writeUInt32BE(2, 8);
  images.writeUInt32BE(2, 12);
  const labels = Buffer.from([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 1]);
  writeFileSync(join(dir, 'mnist', 'train-images-idx3-ubyte.gz'), gzipSync(images));
  writeFileSync(join(dir, 'mnist', 'train-labels-idx1-ubyte'), labels);
  // The published CIFAR-10 archive layout, made with GNU tar from the fixture.
  spawnSync('tar', [
    '-czf',
    join(dir, 'cifar-10-binary.tar.gz'),
    '-C',
    join(FIXTURE_DIR, '..'),
    'cifar-10-batches-bin',
  ]);
  // One WebDataset-style shard: two samples, three members.
  mkdirSync(join(dir, 'shards', 'src'), { recursive: true });
  for (const [name, body] of [
    ['000001.cls', '1'],
    ['000001.jpg', 'x'],
    ['000002.cls', '2'],
  ])
    writeFileSync(join(dir, 'shards', 'src', name), body);
  spawnSync('tar', [
    '-cf',
    join(dir, 'shards', 'shard-0.tar'),
    '-C',
    join(dir, 'shards', 'src'),
    '000001.cls',
    '000001.jpg',
    '000002.cls',
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('inqueue CLI', () => {
  it('info on a CIFAR-10 folder prints counts per split and class', () => {
    const r = run('info', FIXTURE_DIR);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('CIFAR-10 binary at');
    expect(r.stdout).toMatch(/train: 5000 records in 5 files/);
    expect(r.stdout).toMatch(/test: 1000 records in 1 file/);
    expect(r.stdout).toMatch(/per class: circle 500, square 500/);
  });

  it('info on an image folder prints classes and splits', () => {
    const r = run('info', join(dir, 'flowers'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/image folder at .*: 3 images in 2 classes/);
    expect(r.stdout).toMatch(/class 0 roses: /);
    expect(r.stdout).toMatch(/class 1 tulips: /);
  });

  it('info on MNIST counts digits (plain and gzipped files)', () => {
    const r = run('info', join(dir, 'mnist'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/train: 3 examples; per digit 0 2 1 0 0 0 0 0 0 0/);
    expect(r.stdout).toMatch(/test: unavailable/);
  });

  it('exit 1 with one line naming the path when nothing is recognised', () => {
    const r = run('info', join(dir, 'nothing-here'));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('nothing-here');
  });

  it('exit 2 for usage errors; --help on every command', () => {
    expect(run('frobnicate').code).toBe(2);
    expect(run('info').code).toBe(2);
    expect(run('info', FIXTURE_DIR, '--bogus').stderr).toMatch(/unknown option --bogus/);
    const help = run('info', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: inqueue info <path>/);
    expect(run('--help').stdout).toMatch(/Commands:/);
  });

  it('dump writes decodable images, an index and a before/after sheet', async () => {
    const out = join(dir, 'dumped');
    const r = run('dump', FIXTURE_DIR, '--out', out, '--count', '5', '--distorted', '--sheet');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote 5 images/);
    const index = (await import('node:fs')).readFileSync(join(out, 'index.csv'), 'utf8').trim().split('\n');
    expect(index).toHaveLength(6);
    expect(index[1]).toMatch(/^0,.*data_batch_1\.bin:0,\d,\w+,0_\d\.png$/);
    const first = await sharp(join(out, index[1].split(',').pop()!)).metadata();
    expect([first.width, first.height]).toEqual([24, 24]);
    const sheet = await sharp(join(out, 'sheet.png')).metadata();
    expect(sheet.width).toBeGreaterThan(5 * 2 * 32);
  });

  it('dump: usage and input errors', () => {
    expect(run('dump', FIXTURE_DIR).stderr).toMatch(/dump needs --out DIR/);
    expect(run('dump', FIXTURE_DIR, '--out', join(dir, 'x'), '--format', 'gif').code).toBe(2);
    expect(run('dump', join(dir, 'flowers'), '--out', join(dir, 'y'), '--distorted').stderr).toMatch(
      /--distorted applies to CIFAR datasets only/,
    );
    expect(run('dump', join(dir, 'missing'), '--out', join(dir, 'z')).code).toBe(1);
    expect(run('dump', '--help').stdout).toMatch(/Usage: inqueue dump <path> --out DIR/);
  });

  it('info and dump read the published CIFAR archive without extracting it', async () => {
    const archive = join(dir, 'cifar-10-binary.tar.gz');
    const info = run('info', archive);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/CIFAR-10 binary at .*cifar-10-binary\.tar\.gz#cifar-10-batches-bin/);
    expect(info.stdout).toMatch(/train: 5000 records in 5 files/);
    const out = join(dir, 'from-archive');
    const dump = run('dump', archive, '--out', out, '--count', '2', '--split', 'test');
    expect(dump.code).toBe(0);
    const index = (await import('node:fs')).readFileSync(join(out, 'index.csv'), 'utf8');
    expect(index).toContain('cifar-10-binary.tar.gz#cifar-10-batches-bin/test_batch.bin:0');
  });

  it('info on a folder of tar shards counts members and samples', () => {
    const r = run('info', join(dir, 'shards'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/tar shards at .*: 1 shard/);
    expect(r.stdout).toMatch(/shard-0\.tar: 3 members, 2 samples/);
  });

  it('bench runs the CIFAR pipeline and prints the rate', () => {
    const r = run('bench', FIXTURE_DIR, '--epochs', '1', '--batch', '64');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cifar10: \d+ batches, \d+ samples in [\d.]+ s = \d+ samples\/s \(threads 1\)/);
    expect(run('bench', FIXTURE_DIR, '--threads', '0').stderr).toMatch(
      /--threads must be a positive integer/,
    );
  });

  it('bench reads a CIFAR archive in place, cached, on two threads: every batch of 3 epochs', () => {
    const r = run(
      'bench',
      join(dir, 'cifar-10-binary.tar.gz'),
      '--epochs',
      '3',
      '--batch',
      '50',
      '--cache',
      '--threads',
      '2',
    );
    expect(r.code).toBe(0);
    // 5 files x 1,000 records x 3 epochs = 15,000 samples: 300 batches of 50.
    expect(r.stdout).toMatch(
      /cifar10: 300 batches, 15000 samples in [\d.]+ s = \d+ samples\/s \(threads 2\)/,
    );
    expect(run('bench', join(dir, 'shards'), '--cache').stderr).toMatch(/--cache applies to CIFAR/);
  });

  it('dump and bench: --on-error skip goes on past a corrupt image and reports it; raise stops naming it', async () => {
    const root = join(dir, 'with-bad');
    mkdirSync(join(root, 'roses'), { recursive: true });
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#aa3366' } })
      .png()
      .toBuffer();
    for (const name of ['a.png', 'b.png']) writeFileSync(join(root, 'roses', name), png);
    const bad = join(root, 'roses', 'bad.png');
    writeFileSync(bad, 'not a PNG at all');
    // The stable hash puts each file in some split (an empty split is its own error): dump all three.
    const outputs = ['train', 'validation', 'test'].map((split) =>
      run('dump', root, '--out', join(dir, `skip-${split}`), '--split', split, '--on-error', 'skip'),
    );
    for (const r of outputs) expect(r.code === 0 || /found none/.test(r.stderr), r.stderr).toBe(true);
    const reports = outputs.map((r) => r.stdout).join('\n');
    expect(reports).toMatch(/report: \S+ read \d+, yielded \d+, skipped 1 \(DecodeError 1: .*bad\.png\)/);
    const raising = ['train', 'validation', 'test'].map((split) =>
      run('dump', root, '--out', join(dir, `raise-${split}`), '--split', split),
    );
    expect(raising.some((r) => r.code === 1 && r.stderr.includes('bad.png'))).toBe(true);
    expect(run('dump', root, '--out', join(dir, 'x2'), '--on-error', 'ignore').code).toBe(2);
    expect(run('bench', FIXTURE_DIR, '--on-error', 'skip').stderr).toMatch(/the CIFAR bench pipeline raises/);
  });
});
