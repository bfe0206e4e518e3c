import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, InvalidArgumentError, NotFoundError } from '../../src/core/errors.js';
import {
  type DownloadProgress,
  formatBytes,
  formatProgress,
  isTarName,
  maybeDownloadAndExtract,
  ttyProgressBar,
} from '../../src/sources/download.js';
import { makeTempDir, pseudoRandomBytes, rejectionOf, type TempDir } from '../helpers/files.js';

async function buildTgz(entries: { name: string; body?: string; type?: 'symlink'; linkname?: string }[]) {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header, body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let tmp: TempDir;
let server: http.Server;
let base: string;
let archive: Buffer;
let hostile: Buffer;
const big = Buffer.from(pseudoRandomBytes(640 * 1024, 7));
const hits = new Map<string, number>();
const hitsOf = (path: string) => hits.get(path) ?? 0;
let dirCount = 0;
const freshDir = () => join(tmp.dir, `dl-${dirCount++}`);

beforeAll(async () => {
  tmp = await makeTempDir('download');
  archive = await buildTgz([
    { name: 'cifar-10-batches-bin/data_batch_1.bin', body: 'records' },
    { name: 'cifar-10-batches-bin/readme.html', body: '<p>hi</p>' },
  ]);
  hostile = await buildTgz([{ name: '../evil', body: 'x' }]);
  server = http.createServer((req, res) => {
    const path = req.url ?? '';
    hits.set(path, hitsOf(path) + 1);
    const send = (body: Buffer) => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    };
    if (path === '/cifar.tar.gz' || path === '/copy/cifar.tar.gz') return send(archive);
    if (path === '/hostile.tgz') return send(hostile);
    if (path === '/plain.bin') return send(Buffer.from('plain'));
    if (path === '/r/cifar.tar.gz') {
      res.writeHead(302, { location: '/r2/cifar.tar.gz' });
      return res.end();
    }
    if (path === '/r2/cifar.tar.gz') {
      res.writeHead(301, { location: `${base}/copy/cifar.tar.gz` });
      return res.end();
    }
    if (path.startsWith('/loop')) {
      res.writeHead(307, { location: '/loop' });
      return res.end();
    }
    if (path === '/big.bin') {
      // 10 chunks of 64 KiB, 25 ms apart: ~250 ms, so the 100 ms throttle shows.
      res.writeHead(200, { 'content-length': big.length });
      let i = 0;
      const timer = setInterval(() => {
        res.write(big.subarray(i * 65536, (i + 1) * 65536));
        if (++i === 10) {
          clearInterval(timer);
          res.end();
        }
      }, 25);
      return;
    }
    if (path === '/stall.bin') {
      // Headers and 10 bytes of 100, then silence (the socket stays open).
      res.writeHead(200, { 'content-length': 100 });
      res.write(Buffer.alloc(10, 1));
      return;
    }
    if (path === '/cut.bin' || path === '/cut-chunked.bin') {
      res.writeHead(200, path === '/cut.bin' ? { 'content-length': 100_000 } : {});
      res.write(Buffer.alloc(40_000, 1), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    res.writeHead(404, 'Not Found');
    res.end('nope');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await tmp.cleanup();
});

/** Files in `dir` that are leftovers of a download: `.part` temp files. */
const partials = (dir: string) =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.part')) : [];

describe('maybeDownloadAndExtract', () => {
  it('downloads, extracts, and skips both on the second call', async () => {
    const dir = freshDir();
    const first = await maybeDownloadAndExtract(`${base}/cifar.tar.gz`, dir, { sha256: sha(archive) });
    expect(first).toEqual({ file: join(dir, 'cifar.tar.gz'), downloaded: true, extraction: 'extracted' });
    expect(readFileSync(join(dir, 'cifar.tar.gz'))).toEqual(archive);
    expect(readFileSync(join(dir, 'cifar-10-batches-bin/data_batch_1.bin'), 'utf8')).toBe('records');
    expect(hitsOf('/cifar.tar.gz')).toBe(1);

    const second = await maybeDownloadAndExtract(`${base}/cifar.tar.gz`, dir, { sha256: sha(archive) });
    expect(second).toEqual({
      file: join(dir, 'cifar.tar.gz'),
      downloaded: false,
      extraction: 'already-extracted',
    });
    expect(hitsOf('/cifar.tar.gz')).toBe(1);
    expect(partials(dir)).toEqual([]);
  });

  it('downloads again when the file on disk does not match the checksum', async () => {
    const dir = freshDir();
    await maybeDownloadAndExtract(`${base}/cifar.tar.gz`, dir, { extract: false });
    await writeFile(join(dir, 'cifar.tar.gz'), 'damaged');
    const before = hitsOf('/cifar.tar.gz');
    const result = await maybeDownloadAndExtract(`${base}/cifar.tar.gz`, dir, { sha256: sha(archive) });
    expect(result.downloaded).toBe(true);
    expect(hitsOf('/cifar.tar.gz')).toBe(before + 1);
    expect(readFileSync(join(dir, 'cifar.tar.gz'))).toEqual(archive);
  });

  it('refuses a download whose checksum differs, naming file, expected and actual digest', async () => {
    const dir = freshDir();
    const wrong = 'ab'.repeat(32);
    const error = await rejectionOf(() =>
      maybeDownloadAndExtract(`${base}/cifar.tar.gz`, dir, { sha256: wrong }),
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toContain(join(dir, 'cifar.tar.gz'));
    expect(error.message).toContain(wrong);
    expect(error.message).toContain(sha(archive));
    expect((error as InputError).parameter).toBe('sha256');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('accepts an upper-case digest', async () => {
    const dir = freshDir();
    const result = await maybeDownloadAndExtract(`${base}/plain.bin`, dir, {
      sha256: sha(Buffer.from('plain')).toUpperCase(),
    });
    expect(result.extraction).toBe('not-an-archive');
  });

  it('names the URL and the status of a 404', async () => {
    const dir = freshDir();
    const error = await rejectionOf(() => maybeDownloadAndExtract(`${base}/missing.tar`, dir));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain(`${base}/missing.tar`);
    expect(error.message).toContain('404');
    expect((error as NotFoundError).file).toBe(`${base}/missing.tar`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('follows redirects (relative and absolute) and names the file after the original URL', async () => {
    const dir = freshDir();
    const result = await maybeDownloadAndExtract(`${base}/r/cifar.tar.gz`, dir);
    expect(result.file).toBe(join(dir, 'cifar.tar.gz'));
    expect(hitsOf('/copy/cifar.tar.gz')).toBe(1);
    expect(readFileSync(join(dir, 'cifar-10-batches-bin/readme.html'), 'utf8')).toBe('<p>hi</p>');
  });

  it('gives up after 5 redirects', async () => {
    const dir = freshDir();
    const error = await rejectionOf(() =>
      maybeDownloadAndExtract(`${base}/loop`, dir, { filename: 'x.bin' }),
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toContain('too many redirects');
    expect(hitsOf('/loop')).toBe(6); // the request and 5 redirects
    expect(error.message).toContain(`${base}/loop`);
    expect(readdirSync(dir)).toEqual([]);
  });

  for (const path of ['/cut.bin', '/cut-chunked.bin']) {
    it(`reports an interrupted connection (${path}) with the URL and bytes received, leaving no file`, async () => {
      const dir = freshDir();
      const error = await rejectionOf(() => maybeDownloadAndExtract(`${base}${path}`, dir));
      expect(error).toBeInstanceOf(InputError);
      expect(error.message).toContain(`${base}${path}`);
      expect(error.message).toContain('interrupted after 40000');
      expect((error as InputError).offset).toBe(40_000);
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('gives up on a server that stalls mid-body (timeoutMs), leaving no file', async () => {
    const dir = freshDir();
    const t0 = performance.now();
    const error = await rejectionOf(() =>
      maybeDownloadAndExtract(`${base}/stall.bin`, dir, { timeoutMs: 200 }),
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(/interrupted after 10 of 100 bytes/);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names the URL when the server cannot be reached', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const dir = freshDir();
    const error = await rejectionOf(() => maybeDownloadAndExtract(`http://127.0.0.1:${port}/a.tar`, dir));
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toContain(`http://127.0.0.1:${port}/a.tar`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports progress at most ~10 times a second, monotonic, ending at the full size', async () => {
    const dir = freshDir();
    const seen: DownloadProgress[] = [];
    const started = performance.now();
    await maybeDownloadAndExtract(`${base}/big.bin`, dir, { onProgress: (p) => seen.push(p) });
    const seconds = (performance.now() - started) / 1000;
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.length).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 2);
    for (let i = 1; i < seen.length; i++) expect(seen[i].bytes).toBeGreaterThanOrEqual(seen[i - 1].bytes);
    const last = seen[seen.length - 1];
    expect(last).toMatchObject({ bytes: big.length, total: big.length, fraction: 1 });
    expect(last.bytesPerSecond).toBeGreaterThan(0);
    for (const p of seen) expect(p.fraction).toBeCloseTo(p.bytes / big.length, 10);
    expect(seen.filter((p) => p.bytes === big.length)).toHaveLength(1); // the final report, once
    expect(readFileSync(join(dir, 'big.bin')).equals(big)).toBe(true);
  });

  it('skips extraction when asked, and extracts later when asked', async () => {
    const dir = freshDir();
    const off = await maybeDownloadAndExtract(`${base}/cifar.tar.gz`, dir, { extract: false });
    expect(off.extraction).toBe('disabled');
    expect(existsSync(join(dir, 'cifar-10-batches-bin'))).toBe(false);
    const on = await maybeDownloadAndExtract(`${base}/cifar.tar.gz`, dir);
    expect(on).toMatchObject({ downloaded: false, extraction: 'extracted' });
  });

  it('uses the filename option and propagates a refused entry without marking the archive done', async () => {
    const dir = join(freshDir(), 'inner');
    const call = () => maybeDownloadAndExtract(`${base}/hostile.tgz`, dir, { filename: 'h.tar.gz' });
    const error = await rejectionOf(call);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).key).toBe('../evil');
    expect((error as InputError).file).toBe(join(dir, 'h.tar.gz'));
    expect(existsSync(join(dir, '..', 'evil'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['h.tar.gz']);
    expect((await rejectionOf(call)).message).toContain('../evil'); // not skipped: no marker
  });

  it('rejects bad arguments, naming the parameter', async () => {
    const dir = freshDir();
    const cases: [() => Promise<unknown>, string][] = [
      [() => maybeDownloadAndExtract('ftp://example.com/a.tar', dir), 'url'],
      [() => maybeDownloadAndExtract('not a url', dir), 'url'],
      [() => maybeDownloadAndExtract(`${base}/a.tar`, ''), 'dir'],
      [() => maybeDownloadAndExtract(`${base}/a.tar`, dir, 3 as never), 'options'],
      [() => maybeDownloadAndExtract(`${base}/a.tar`, dir, { sha256: 'abc' }), 'sha256'],
      [() => maybeDownloadAndExtract(`${base}/a.tar`, dir, { onProgress: 3 as never }), 'onProgress'],
      [() => maybeDownloadAndExtract(`${base}/a.tar`, dir, { extract: 'yes' as never }), 'extract'],
      [() => maybeDownloadAndExtract(`${base}/a.tar`, dir, { filename: 'a/b' }), 'filename'],
      [() => maybeDownloadAndExtract(`${base}/a.tar`, dir, { filename: '..' }), 'filename'],
      [() => maybeDownloadAndExtract(`${base}/folder/`, dir), 'filename'],
    ];
    for (const [call, parameter] of cases) {
      const error = await rejectionOf(call);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).parameter).toBe(parameter);
    }
    expect(existsSync(dir)).toBe(false);
  });
});

describe('progress display', () => {
  it('formats bytes, percentage and rate', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.5 kB');
    expect(formatBytes(27_200_000)).toBe('27.2 MB');
    expect(formatProgress('f.tgz', { bytes: 500, total: 1000, fraction: 0.5, bytesPerSecond: 2000 })).toBe(
      'f.tgz   50.0%  500 B / 1.0 kB  2.0 kB/s',
    );
    expect(formatProgress('f', { bytes: 5, bytesPerSecond: 1 })).toBe('f  5 B  1 B/s');
  });

  it('redraws one line with a bar on a terminal', () => {
    const written: string[] = [];
    const bar = ttyProgressBar({ write: (t: string) => written.push(t), columns: 100 }, 'f');
    bar({ bytes: 1, total: 4, fraction: 0.25, bytesPerSecond: 1 });
    bar({ bytes: 4, total: 4, fraction: 1, bytesPerSecond: 1 });
    expect(written).toHaveLength(2);
    for (const line of written) {
      expect(line.startsWith('\r')).toBe(true);
      expect(line).not.toContain('\n');
    }
    expect(written[0]).toContain(`[${'#'.repeat(8)}${'.'.repeat(22)}]`);
    expect(written[1]).toContain(`[${'#'.repeat(30)}]`);
  });

  it('recognises tar names', () => {
    expect(['a.tar', 'a.tar.gz', 'a.TGZ'].map(isTarName)).toEqual([true, true, true]);
    expect(['a.gz', 'a.zip', 'tar'].map(isTarName)).toEqual([false, false, false]);
  });
});
