import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, InvalidArgumentError, NotFoundError } from '../../src/core/errors.js';
import { globToRegExp } from '../../src/sources/glob.js';
import { tarEntries } from '../../src/sources/tar-entries.js';
import {
  canListOpenFds,
  makeTempDir,
  openDescriptorsFor,
  pseudoRandomBytes,
  rejectionOf,
  type TempDir,
  thrownBy,
} from '../helpers/files.js';

let tmp: TempDir;
let plain: string;
let gz: string;
let tgzNamedTar: string;
const files: Record<string, Uint8Array> = {
  'd/a.bin': pseudoRandomBytes(300_000, 1),
  'd/sub/b.txt': new TextEncoder().encode('hello\n'),
  'd/sub/deep/c.bin': pseudoRandomBytes(5000, 2),
  'd/e.md': new TextEncoder().encode('# e\n'),
};

async function collect(archive: string, pattern?: string | string[]) {
  const out: Record<string, Uint8Array> = {};
  for await (const e of tarEntries(archive, { pattern, chunkBytes: 4096 })) {
    const parts: Uint8Array[] = [];
    for await (const c of e.chunks) parts.push(c);
    out[e.name] = new Uint8Array(Buffer.concat(parts));
    expect(out[e.name].length).toBe(e.size);
  }
  return out;
}

beforeAll(async () => {
  tmp = await makeTempDir('tar-entries');
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(join(tmp.dir, 'src', name, '..'), { recursive: true });
    await writeFile(join(tmp.dir, 'src', name), bytes);
  }
  plain = tmp.path('x.tar');
  gz = tmp.path('x.tar.gz');
  tgzNamedTar = tmp.path('gz-inside.tar');
  execFileSync('tar', ['-cf', plain, '-C', join(tmp.dir, 'src'), 'd']);
  execFileSync('tar', ['-czf', gz, '-C', join(tmp.dir, 'src'), 'd']);
  await writeFile(tgzNamedTar, await readFile(gz));
});
afterAll(() => tmp.cleanup());

describe('globToRegExp', () => {
  it.each([
    ['*.bin', 'a.bin', true],
    ['*.bin', 'd/a.bin', false],
    ['d/**', 'd/sub/deep/c.bin', true],
    ['**/*.bin', 'a.bin', true],
    ['**/*.bin', 'd/sub/deep/c.bin', true],
    ['d/**/c.bin', 'd/c.bin', true],
    ['d/?.bin', 'd/a.bin', true],
    ['d/?.bin', 'd/ab.bin', false],
    ['d/{a,e}.{bin,md}', 'd/e.md', true],
    ['d/{a,e}.{bin,md}', 'd/b.md', false],
    ['a+b(1).txt', 'a+b(1).txt', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
  ])('%s against %s is %s', (glob, name, expected) => {
    expect(globToRegExp(glob, 'test').test(name)).toBe(expected);
  });

  it('rejects unbalanced braces, a trailing backslash and an empty glob', () => {
    for (const g of ['{a,b', 'a\\', '']) {
      const err = thrownBy(() => globToRegExp(g, 'test'));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain('pattern');
    }
  });
});

describe('tarEntries', () => {
  it('streams every regular file of a .tar and of a .tar.gz with the bytes that were archived', async () => {
    for (const archive of [plain, gz]) {
      const got = await collect(archive);
      expect(Object.keys(got).sort()).toEqual(Object.keys(files).sort());
      for (const [name, bytes] of Object.entries(files)) expect(Buffer.compare(got[name], bytes)).toBe(0);
    }
  });

  it('detects gzip by its magic bytes, not by the name', async () => {
    const got = await collect(tgzNamedTar, 'd/a.bin');
    expect(Object.keys(got)).toEqual(['d/a.bin']);
    expect(Buffer.compare(got['d/a.bin'], files['d/a.bin'])).toBe(0);
  });

  it('selects entries by glob (one or several) and skips unread entries', async () => {
    expect(Object.keys(await collect(gz, '**/*.bin')).sort()).toEqual(['d/a.bin', 'd/sub/deep/c.bin']);
    expect(Object.keys(await collect(plain, ['d/*.md', 'd/sub/*.txt'])).sort()).toEqual([
      'd/e.md',
      'd/sub/b.txt',
    ]);
    const names: string[] = [];
    for await (const e of tarEntries(gz)) names.push(e.name); // bodies never read
    expect(names.sort()).toEqual(Object.keys(files).sort());
  });

  it('raises a NotFoundError naming a missing archive', async () => {
    const missing = tmp.path('nope.tar');
    const err = await rejectionOf(() => tarEntries(missing).toArray());
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(missing);
  });

  it('raises a DecodeError naming the archive and offset for truncated and corrupt archives', async () => {
    const bytes = await readFile(gz);
    const cut = await tmp.write('cut.tar.gz', bytes.subarray(0, Math.floor(bytes.length / 2)));
    const e1 = (await rejectionOf(() => collect(cut))) as DecodeError;
    expect(e1).toBeInstanceOf(DecodeError);
    expect(e1.message).toContain(cut);
    expect(e1.offset).toBe(Math.floor(bytes.length / 2));
    const tarBytes = new Uint8Array(await readFile(plain));
    const cutTar = await tmp.write('cut.tar', tarBytes.subarray(0, 100_000));
    const e2 = (await rejectionOf(() => collect(cutTar))) as DecodeError;
    expect(e2).toBeInstanceOf(DecodeError);
    expect(e2.message).toContain(cutTar);
    const garbage = await tmp.write('garbage.tar', pseudoRandomBytes(4096, 9));
    const e3 = (await rejectionOf(() => collect(garbage))) as DecodeError;
    expect(e3).toBeInstanceOf(DecodeError);
    expect(e3.file).toBe(garbage);
    expect(e3.message).toMatch(/byte offset \d+/);
  });

  it('validates its options', () => {
    expect(thrownBy(() => tarEntries(''))).toBeInstanceOf(InvalidArgumentError);
    expect(thrownBy(() => tarEntries(gz, { pattern: [] }))).toBeInstanceOf(InvalidArgumentError);
    expect(thrownBy(() => tarEntries(gz, { chunkBytes: 0 })).message).toContain('chunkBytes');
  });

  it.runIf(canListOpenFds)('break closes the archive file', async () => {
    for await (const e of tarEntries(gz, { chunkBytes: 1024 })) {
      expect(openDescriptorsFor(gz)).toBe(1);
      for await (const _ of e.chunks) break;
      break;
    }
    expect(openDescriptorsFor(gz)).toBe(0);
  });
});
