import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { basename, join } from 'node:path';
import { InputError, invalidArgument, NotFoundError } from '../core/errors.js';
import { booleanOption, integerOption, objectOption } from '../core/validate.js';
import { extractTar } from './safe-extract.js';

/**
 * `maybeDownloadAndExtract`: TensorFlow's cifar10.py helper. Downloads `url` into `dir` unless the
 * file is already there (and matches `sha256` when given), then extracts `.tar`/`.tar.gz`/`.tgz`
 * archives safely into `dir` unless a marker says that was done for this very file.
 * See docs/download.md.
 */

const STAGE = 'maybeDownloadAndExtract';
const MAX_REDIRECTS = 5;
/** At most one progress report per this many milliseconds (the final one always comes). */
const PROGRESS_INTERVAL_MS = 100;

export interface DownloadProgress {
  /** Bytes received so far. */
  bytes: number;
  /** The body's size, when the server sent `Content-Length`. */
  total?: number;
  /** `bytes / total`, when `total` is known. */
  fraction?: number;
  /** Average rate since the body started. */
  bytesPerSecond: number;
}

export interface DownloadOptions {
  /** Called at most ~10 times a second, and once at the end with the final byte count. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Expected SHA-256 of the file, 64 hex digits. */
  sha256?: string;
  /** Extract `.tar`/`.tar.gz`/`.tgz` files into `dir` (default true). */
  extract?: boolean;
  /** Name of the file in `dir` (default: the last segment of the URL's path). */
  filename?: string;
  /** Give up when the server sends nothing for this long (default 60,000 ms). */
  timeoutMs?: number;
}

export interface DownloadResult {
  /** Path of the downloaded file. */
  file: string;
  /** Whether this call downloaded it (false: it was already there). */
  downloaded: boolean;
  /** What happened to the archive: extracted now, found extracted before, or not extracted. */
  extraction: 'extracted' | 'already-extracted' | 'not-an-archive' | 'disabled';
}

export async function maybeDownloadAndExtract(
  url: string,
  dir: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const parsed = parseUrl(url);
  if (typeof dir !== 'string' || dir === '') throw invalidArgument('dir', 'a non-empty path', dir, STAGE);
  const opts = objectOption(STAGE, 'options', options);
  const onProgress = opts.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw invalidArgument('onProgress', 'a function', onProgress, STAGE);
  }
  const sha256 = opts.sha256;
  if (sha256 !== undefined && (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256))) {
    throw invalidArgument('sha256', 'a SHA-256 digest of 64 hex digits', sha256, STAGE);
  }
  const expected = sha256?.toLowerCase();
  const extract = booleanOption(STAGE, 'extract', opts.extract, true);
  const filename = filenameOf(parsed, opts.filename);
  const timeoutMs = integerOption(STAGE, 'timeoutMs', opts.timeoutMs, { min: 1, defaultValue: 60_000 });

  await mkdir(dir, { recursive: true });
  const file = join(dir, filename);
  let downloaded = false;
  if (!(await alreadyThere(file, expected))) {
    const bar = onProgress === undefined && process.stderr.isTTY;
    const report = bar
      ? ttyProgressBar(process.stderr, filename)
      : (onProgress as DownloadOptions['onProgress']);
    try {
      await download(parsed, dir, file, expected, report, timeoutMs);
    } finally {
      if (bar) process.stderr.write('\n');
    }
    downloaded = true;
  }
  if (!extract) return { file, downloaded, extraction: 'disabled' };
  if (!isTarName(filename)) return { file, downloaded, extraction: 'not-an-archive' };
  return { file, downloaded, extraction: await extractOnce(file, dir) };
}

function parseUrl(url: unknown): URL {
  let parsed: URL | undefined;
  if (typeof url === 'string') {
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw invalidArgument('url', 'an http: or https: URL', url, STAGE);
  }
  return parsed;
}

function filenameOf(url: URL, filename: unknown): string {
  if (filename !== undefined) {
    if (typeof filename !== 'string' || !isPlainName(filename)) {
      throw invalidArgument('filename', 'a file name without folders', filename, STAGE);
    }
    return filename;
  }
  let last = '';
  try {
    last = decodeURIComponent(url.pathname.split('/').pop() ?? '');
  } catch {
    last = '';
  }
  if (!isPlainName(last)) {
    throw invalidArgument('filename', 'a file name (the URL does not end in one)', filename, STAGE);
  }
  return last;
}

function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

export function isTarName(filename: string): boolean {
  return /\.(tar|tar\.gz|tgz)$/i.test(filename);
}

async function alreadyThere(file: string, expected: string | undefined): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
  } catch {
    return false;
  }
  return expected === undefined || (await sha256Of(file)) === expected;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** GETs `url`, following up to MAX_REDIRECTS redirects; resolves with a 200 response. */
async function get(url: URL, original: URL, timeoutMs: number): Promise<IncomingMessage> {
  for (let hops = 0; ; hops++) {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const client = url.protocol === 'https:' ? https : http;
      const request = client.get(url, { agent: false, timeout: timeoutMs }, resolve);
      // An idle socket (headers or body) ends the download instead of hanging it forever.
      request.on('timeout', () => request.destroy(new Error(`no data from the server for ${timeoutMs} ms`)));
      request.on('error', (error) =>
        reject(
          new InputError(`${STAGE}: cannot download ${url.href}: ${error.message}`, {
            file: url.href,
            stage: STAGE,
            cause: error,
          }),
        ),
      );
    });
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location !== undefined) {
      response.resume();
      if (hops >= MAX_REDIRECTS) {
        throw new InputError(
          `${STAGE}: too many redirects (more than ${MAX_REDIRECTS}) from ${original.href}`,
          {
            file: original.href,
            stage: STAGE,
          },
        );
      }
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new InputError(`${STAGE}: ${url.href} redirects to unsupported ${next.href}`, {
          file: original.href,
          stage: STAGE,
        });
      }
      url = next;
      continue;
    }
    if (status !== 200) {
      response.resume();
      const via = url.href === original.href ? '' : ` (redirected from ${original.href})`;
      const ErrorClass = status === 404 || status === 410 ? NotFoundError : InputError;
      throw new ErrorClass(
        `${STAGE}: cannot download ${url.href}${via}: HTTP ${status} ${response.statusMessage ?? ''}`.trimEnd(),
        { file: url.href, stage: STAGE },
      );
    }
    return response;
  }
}

/** Downloads into a temp file in `dir`, checks the digest, then renames onto `file`. */
async function download(
  url: URL,
  dir: string,
  file: string,
  expected: string | undefined,
  onProgress: DownloadOptions['onProgress'],
  timeoutMs: number,
): Promise<void> {
  const temp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.part`);
  let bytes = 0;
  let total: number | undefined;
  let response: IncomingMessage | undefined;
  try {
    response = await get(url, url, timeoutMs);
    const length = Number(response.headers['content-length']);
    total = Number.isFinite(length) && length >= 0 ? length : undefined;
    const hash = createHash('sha256');
    const started = performance.now();
    let last = Number.NEGATIVE_INFINITY;
    let lastBytes = -1;
    const report = (force: boolean) => {
      const now = performance.now();
      if (onProgress === undefined || bytes === lastBytes || (!force && now - last < PROGRESS_INTERVAL_MS))
        return;
      last = now;
      lastBytes = bytes;
      const seconds = Math.max((now - started) / 1000, 1e-3);
      onProgress({
        bytes,
        ...(total === undefined ? {} : { total, fraction: total === 0 ? 1 : bytes / total }),
        bytesPerSecond: bytes / seconds,
      });
    };
    const out = await open(temp, 'wx');
    try {
      // Node reports a peer that closes mid-body as an 'aborted' error on the response.
      for await (const chunk of response) {
        const buffer = chunk as Buffer;
        hash.update(buffer);
        await out.write(buffer);
        bytes += buffer.length;
        report(false);
      }
    } finally {
      await out.close();
    }
    if (total !== undefined && bytes !== total) throw new Error(`expected ${total} bytes`);
    report(true);
    const actual = hash.digest('hex');
    if (expected !== undefined && actual !== expected) {
      throw new InputError(
        `${STAGE}: SHA-256 mismatch for ${file} downloaded from ${url.href}: expected ${expected}, got ${actual}`,
        { file, parameter: 'sha256', stage: STAGE },
      );
    }
    await rename(temp, file);
  } catch (error) {
    response?.destroy();
    await rm(temp, { force: true });
    if (error instanceof InputError) throw error;
    const of = total === undefined ? '' : ` of ${total}`;
    throw new InputError(
      `${STAGE}: download of ${url.href} interrupted after ${bytes}${of} bytes: ${(error as Error).message}`,
      { file: url.href, offset: bytes, stage: STAGE, cause: error },
    );
  }
}

/** Marker beside the archive: `.<name>.extracted`, holding the size and mtime it was made for. */
async function extractOnce(file: string, dir: string): Promise<'extracted' | 'already-extracted'> {
  const marker = join(dir, `.${basename(file)}.extracted`);
  const { size, mtimeMs } = await stat(file);
  const stamp = JSON.stringify({ size, mtimeMs });
  try {
    if ((await readFile(marker, 'utf8')) === stamp) return 'already-extracted';
  } catch {
    // no marker: extract
  }
  await extractTar(file, dir);
  await writeFile(marker, stamp);
  return 'extracted';
}

/** One line of progress: `name  45.2%  12.3 MB / 27.2 MB  3.4 MB/s` (no percentage without a total). */
export function formatProgress(name: string, p: DownloadProgress): string {
  const size =
    p.total === undefined ? formatBytes(p.bytes) : `${formatBytes(p.bytes)} / ${formatBytes(p.total)}`;
  const percent = p.fraction === undefined ? '' : `${(p.fraction * 100).toFixed(1).padStart(5)}%  `;
  return `${name}  ${percent}${size}  ${formatBytes(p.bytesPerSecond)}/s`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(1)} ${units[i]}`;
}

/** A progress reporter that redraws one line (`\r`) on a terminal; the caller ends the line. */
export function ttyProgressBar(
  stream: { write(text: string): unknown; columns?: number },
  name: string,
): (p: DownloadProgress) => void {
  return (p) => {
    const text = formatProgress(name, p);
    const width = Math.max((stream.columns ?? 80) - text.length - 4, 0);
    const barWidth = Math.min(width, 30);
    const bar =
      p.fraction === undefined || barWidth < 5
        ? ''
        : ` [${'#'.repeat(Math.round(p.fraction * barWidth)).padEnd(barWidth, '.')}]`;
    stream.write(`\r${text}${bar}\x1b[K`);
  };
}
