import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../../src/train/hooks/write-file-atomic.js';
import { makeTempDir, type TempDir } from '../../helpers/files.js';
import { rejection } from '../../helpers/promises.js';

let tmp: TempDir;
beforeAll(async () => {
  tmp = await makeTempDir('atomic');
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('writeFileAtomic', () => {
  it('creates and replaces a file whole, text or bytes, leaving no temp file', async () => {
    const file = tmp.path('a.txt');
    await writeFileAtomic(file, 'first');
    expect(await readFile(file, 'utf8')).toBe('first');
    await writeFileAtomic(file, new Uint8Array([104, 105]));
    expect(await readFile(file, 'utf8')).toBe('hi');
    expect(await readdir(tmp.dir)).toEqual(['a.txt']);
  });

  it('removes its temp file when the rename fails', async () => {
    const dir = tmp.path('case');
    await mkdir(join(dir, 'sub'), { recursive: true });
    const err = await rejection(writeFileAtomic(join(dir, 'sub'), 'x'));
    expect((err as NodeJS.ErrnoException).code).toMatch(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(await readdir(dir)).toEqual(['sub']);
  });

  it('fails when the folder does not exist', async () => {
    const err = await rejection(writeFileAtomic(tmp.path('missing/a.txt'), 'x'));
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
