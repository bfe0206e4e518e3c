import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError, InputError, InvalidArgumentError, NotFoundError } from '../../src/core/errors.js';
import { extractTar } from '../../src/sources/safe-extract.js';
import { makeTempDir, rejectionOf, type TempDir } from '../helpers/files.js';

type Entry = Parameters<ReturnType<typeof tar.pack>['entry']>[0] & { body?: string };

/** Builds a tar archive in memory from header + body pairs. */
async function buildTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) {
    pack.entry(header, body ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let tmp: TempDir;
let counter = 0;

/** A fresh `<tmp>/case-N/` holding `archive.tar` and an empty `out/` to extract into. */
async function caseWith(
  bytes: Uint8Array,
  name = 'archive.tar',
): Promise<{ archive: string; out: string; base: string }> {
  const base = join(tmp.dir, `case-${counter++}`);
  await mkdir(base);
  const archive = join(base, name);
  await writeFile(archive, bytes);
  return { archive, out: join(base, 'out'), base };
}

beforeAll(async () => {
  tmp = await makeTempDir('safe-extract');
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('extractTar: benign archives', () => {
  it('extracts files, folders, a relative symlink and a hard link inside the folder', async () => {
    const bytes = await buildTar([
      { name: 'data/', type: 'directory' },
      { name: 'data/a.bin', body: 'alpha' },
      { name: './data/sub/b.txt', body: 'bravo' },
      { name: 'data/sub/link-to-a', type: 'symlink', linkname: '../a.bin' },
      { name: 'data/hard-a', type: 'link', linkname: 'data/a.bin' },
    ]);
    const { archive, out } = await caseWith(bytes);
    const result = await extractTar(archive, out);
    expect(result.entries).toEqual([
      'data',
      'data/a.bin',
      'data/sub/b.txt',
      'data/sub/link-to-a',
      'data/hard-a',
    ]);
    expect(readFileSync(join(out, 'data/a.bin'), 'utf8')).toBe('alpha');
    expect(readFileSync(join(out, 'data/sub/b.txt'), 'utf8')).toBe('bravo');
    expect(readlinkSync(join(out, 'data/sub/link-to-a'))).toBe('../a.bin');
    expect(readFileSync(join(out, 'data/sub/link-to-a'), 'utf8')).toBe('alpha');
    expect(lstatSync(join(out, 'data/hard-a')).ino).toBe(lstatSync(join(out, 'data/a.bin')).ino);
  });

  it('detects gzip from the magic bytes (.tgz, .tar.gz) and extracts GNU tar output', async () => {
    const src = join(tmp.dir, 'gnu-src');
    await mkdir(join(src, 'x'), { recursive: true });
    await writeFile(join(src, 'x', 'y.txt'), 'from gnu tar');
    const gnu = execFileSync('tar', ['-czf', '-', '-C', src, 'x']);
    const { archive, out } = await caseWith(gnu, 'gnu.tgz');
    await extractTar(archive, out);
    expect(readFileSync(join(out, 'x/y.txt'), 'utf8')).toBe('from gnu tar');

    const gz = gzipSync(await buildTar([{ name: 'z.txt', body: 'zulu' }]));
    const second = await caseWith(gz, 'odd-name.bin');
    await extractTar(second.archive, second.out);
    expect(readFileSync(join(second.out, 'z.txt'), 'utf8')).toBe('zulu');
  });

  it('replaces an existing file rather than writing through it', async () => {
    const { archive, out } = await caseWith(await buildTar([{ name: 'f.txt', body: 'new' }]));
    await mkdir(out);
    await writeFile(join(out, 'f.txt'), 'old');
    await extractTar(archive, out);
    expect(readFileSync(join(out, 'f.txt'), 'utf8')).toBe('new');
  });
});

describe('extractTar: hostile archives', () => {
  const hostile: [string, Entry[], string][] = [
    ['a ../ name', [{ name: '../evil', body: 'x' }], '../evil'],
    ['an absolute name', [{ name: '/abs/evil', body: 'x' }], '/abs/evil'],
    ['a name that climbs out after descending', [{ name: 'a/../../evil', body: 'x' }], 'a/../../evil'],
    [
      'a symlink to /etc, then a file through it',
      [
        { name: 'link', type: 'symlink', linkname: '/etc' },
        { name: 'link/passwd', body: 'x' },
      ],
      'link',
    ],
    [
      'a relative symlink pointing outside, then a file through it',
      [
        { name: 'sub/out', type: 'symlink', linkname: '../../' },
        { name: 'sub/out/evil', body: 'x' },
      ],
      'sub/out',
    ],
    ['a hard link to /etc/passwd', [{ name: 'pw', type: 'link', linkname: '/etc/passwd' }], 'pw'],
    ['a hard link climbing out', [{ name: 'pw', type: 'link', linkname: '../evil' }], 'pw'],
    ['a hard link to a missing entry', [{ name: 'pw', type: 'link', linkname: 'nope' }], 'pw'],
    ['a character device', [{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }], 'null'],
    ['a block device', [{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }], 'sda'],
    ['a fifo', [{ name: 'pipe', type: 'fifo' }], 'pipe'],
  ];

  for (const [label, entries, entryName] of hostile) {
    it(`refuses ${label}, naming the entry, and writes nothing outside`, async () => {
      const { archive, out, base } = await caseWith(await buildTar(entries));
      const before = readdirSync(base).sort();
      const error = await rejectionOf(() => extractTar(archive, out));
      expect(error).toBeInstanceOf(ArchiveError);
      expect((error as InputError).file).toBe(archive);
      expect((error as InputError).key).toBe(entryName);
      expect((error as InputError).stage).toBe('extractTar');
      expect((error as Error).message).toContain(JSON.stringify(entryName));
      expect((error as Error).message).toContain(archive);
      // Nothing landed beside `out/` (the parent folder), nor one level further up.
      expect(readdirSync(base).sort()).toEqual([...before, 'out'].sort());
      expect(existsSync(join(tmp.dir, 'evil'))).toBe(false);
      expect(existsSync(join(base, 'evil'))).toBe(false);
    });
  }

  it('refuses a write through a symlink already on disk that points outside', async () => {
    const { archive, out, base } = await caseWith(await buildTar([{ name: 'tunnel/evil', body: 'x' }]));
    await mkdir(join(base, 'outside'));
    await mkdir(out);
    await symlink(join(base, 'outside'), join(out, 'tunnel'));
    const error = await rejectionOf(() => extractTar(archive, out));
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as InputError).key).toBe('tunnel/evil');
    expect(readdirSync(join(base, 'outside'))).toEqual([]);
  });

  it('refuses a symlink whose `..` climbs from another link (text says inside, disk says outside)', async () => {
    const bytes = await buildTar([
      { name: 'd1/d2/', type: 'directory' },
      { name: 'd1/d2/A', type: 'symlink', linkname: '../..' },
      { name: 'B', type: 'symlink', linkname: 'd1/d2/A/..' },
    ]);
    const { archive, out } = await caseWith(bytes);
    const error = await rejectionOf(() => extractTar(archive, out));
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as InputError).key).toBe('B');
  });

  it('refuses a symlink through a link already on disk that points outside', async () => {
    const { archive, out, base } = await caseWith(
      await buildTar([{ name: 'x', type: 'symlink', linkname: 'tunnel/passwd' }]),
    );
    await mkdir(join(base, 'outside'));
    await writeFile(join(base, 'outside', 'passwd'), 'secret');
    await mkdir(out);
    await symlink(join(base, 'outside'), join(out, 'tunnel'));
    const error = await rejectionOf(() => extractTar(archive, out));
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as InputError).key).toBe('x');
  });

  it('refuses a file over a folder entry with an error naming the entry', async () => {
    const bytes = await buildTar([
      { name: 'd/', type: 'directory' },
      { name: 'd', body: 'x' },
    ]);
    const { archive, out } = await caseWith(bytes);
    const error = await rejectionOf(() => extractTar(archive, out));
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as InputError).key).toBe('d');
  });
});

describe('extractTar: errors', () => {
  it('names a missing archive', async () => {
    const missing = join(tmp.dir, 'missing.tar');
    const error = await rejectionOf(() => extractTar(missing, join(tmp.dir, 'never')));
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).file).toBe(missing);
    expect(existsSync(join(tmp.dir, 'never'))).toBe(false);
  });

  it('names an archive that is not a tar file', async () => {
    const { archive, out } = await caseWith(Buffer.alloc(1024, 7));
    const error = await rejectionOf(() => extractTar(archive, out));
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as InputError).file).toBe(archive);
    expect((error as Error).message).toContain(archive);
  });

  it('names a corrupt gzip archive', async () => {
    const gz = gzipSync(await buildTar([{ name: 'a', body: 'a'.repeat(5000) }]));
    const { archive, out } = await caseWith(gz.subarray(0, gz.length - 20), 'cut.tgz');
    const error = await rejectionOf(() => extractTar(archive, out));
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as InputError).file).toBe(archive);
  });

  it('names a tar truncated inside an entry, with the entry as key', async () => {
    const bytes = await buildTar([
      { name: 'a.txt', body: 'a'.repeat(100) },
      { name: 'big.bin', body: 'b'.repeat(5000) },
    ]);
    // a.txt: header 512 + data 512; big.bin: header at 1024, data from 1536; cut inside its data.
    const { archive, out } = await caseWith(bytes.subarray(0, 1536 + 2000));
    const error = await rejectionOf(() => extractTar(archive, out));
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as InputError).file).toBe(archive);
    expect((error as InputError).key).toBe('big.bin');
    expect(error.message).toContain('"big.bin"');
    // The entry before the cut was extracted whole.
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('a'.repeat(100));
  });

  it('a zero-byte archive, or one shorter than the end-of-archive marker, is an ArchiveError; an empty archive extracts nothing', async () => {
    for (const [bytes, name] of [
      [new Uint8Array(0), 'zero.tar'],
      [new Uint8Array(512), 'one-block.tar'],
      [gzipSync(new Uint8Array(0)), 'zero.tgz'],
    ] as const) {
      const { archive, out } = await caseWith(bytes, name);
      const error = await rejectionOf(() => extractTar(archive, out));
      expect(error).toBeInstanceOf(ArchiveError);
      expect(error).toMatchObject({ file: archive, offset: 0, stage: 'extractTar', parameter: 'archive' });
      expect(error.message).toContain(
        `cannot extract ${archive}: it is empty: no tar header and no end-of-archive marker`,
      );
    }
    // What `tar cf x.tar -T /dev/null` writes: a valid archive with nothing in it.
    for (const bytes of [new Uint8Array(10240), gzipSync(new Uint8Array(10240))]) {
      const { archive, out } = await caseWith(bytes);
      expect((await extractTar(archive, out)).entries).toEqual([]);
    }
  });

  it('a destination that cannot be created is an InputError naming it (parameter dir), the fs error its cause', async () => {
    const bytes = await buildTar([{ name: 'a.txt', body: 'a' }]);
    const { archive, base } = await caseWith(bytes);
    const file = join(base, 'a-file');
    await writeFile(file, 'not a folder');
    const dir = join(file, 'sub');
    const error = await rejectionOf(() => extractTar(archive, dir));
    expect(error).toBeInstanceOf(InputError);
    expect(error).not.toBeInstanceOf(ArchiveError); // the archive is fine
    expect(error).toMatchObject({ file: dir, stage: 'extractTar', parameter: 'dir' });
    expect(error.message).toBe(`extractTar: cannot create ${dir}: ${(error.cause as Error).message}`);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOTDIR');
  });

  it('rejects bad arguments, naming the parameter', async () => {
    const a = await rejectionOf(() => extractTar('' as string, tmp.dir));
    expect(a).toBeInstanceOf(InvalidArgumentError);
    expect((a as InvalidArgumentError).parameter).toBe('archive');
    const d = await rejectionOf(() => extractTar('x.tar', 3 as unknown as string));
    expect(d).toBeInstanceOf(InvalidArgumentError);
    expect((d as InvalidArgumentError).parameter).toBe('dir');
  });
});
