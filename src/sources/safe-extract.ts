import { type FileHandle, link, lstat, mkdir, open, realpath, symlink, unlink } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar, { type Header } from 'tar-stream';
import { ArchiveError, InputError, invalidArgument } from '../core/errors.js';
import { fileError, openRegularFile } from '../readers/file-errors.js';

/**
 * Safe `.tar` / `.tar.gz` extraction: every entry must land inside the destination folder.
 *
 * Refused (an `ArchiveError` with `file` = the archive and `key` = the entry name):
 * - names that are absolute or contain a `..` segment;
 * - symlinks and hard links whose target resolves outside the folder;
 * - any write whose parent folder, once symlinks are resolved on disk, lies outside the folder
 *   (so a symlink cannot be used as a tunnel, however it was made);
 * - character/block devices, fifos and other special entries.
 * Gzip is detected from the file's magic bytes, not its name. A corrupt or truncated archive is an
 * ArchiveError naming the entry being written, if any, and so is an empty one (no header, less than
 * the two zero blocks that end every archive); a missing one is a NotFoundError, a destination that
 * cannot be created an InputError (parameter `dir`). There is no skip policy: an extraction stops
 * at the first bad entry (what was written before it stays).
 */

const STAGE = 'extractTar';
/** The end-of-archive marker: two zero blocks, the least any archive (even an empty one) holds. */
const END_MARKER_BYTES = 1024;

/** File-system error codes that say the destination, not the archive, is at fault. */
const DESTINATION_FAULTS = new Set([
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EACCES',
  'EPERM',
  'EMFILE',
  'ENFILE',
  'EIO',
]);

export interface ExtractResult {
  /** The folder the archive was extracted into. */
  readonly dir: string;
  /** The entries written, as named in the archive (normalised, without `./` or a trailing `/`). */
  readonly entries: string[];
}

/** Extracts `archive` (tar, optionally gzipped) into `dir`, creating `dir` if needed. */
export async function extractTar(archive: string, dir: string): Promise<ExtractResult> {
  if (typeof archive !== 'string' || archive === '') {
    throw invalidArgument('archive', 'a non-empty path', archive, STAGE);
  }
  if (typeof dir !== 'string' || dir === '') throw invalidArgument('dir', 'a non-empty path', dir, STAGE);
  const { handle, gzipped } = await openArchive(archive);
  let root: string;
  try {
    await mkdir(dir, { recursive: true });
    root = await realpath(dir);
  } catch (err) {
    await handle.close();
    // A path under a regular file (ENOTDIR), no permission, a read-only disk: the destination's fault.
    throw new InputError(`${STAGE}: cannot create ${dir}: ${(err as Error)?.message ?? String(err)}`, {
      file: dir,
      stage: STAGE,
      parameter: 'dir',
      cause: err,
    });
  }

  const extract = tar.extract();
  const source = handle.createReadStream({ start: 0 });
  const gunzip = gzipped ? createGunzip() : null;
  const piping = pipeline(gunzip ? [source, gunzip, extract] : [source, extract]);
  piping.catch(() => {}); // awaited below; this only stops an early unhandled rejection
  // Bytes of tar data handed to the parser: an archive with no header and less than the
  // end-of-archive marker (a zero-byte file) is no archive. Listening does not change the flow.
  let tarBytes = 0;
  (gunzip ?? source).on('data', (c: Buffer) => {
    tarBytes += c.length;
  });
  const entries: string[] = [];
  let current: string | undefined;
  let headers = 0;
  try {
    for await (const entry of extract) {
      headers++;
      current = entry.header.name;
      const written = await writeEntry(entry, archive, root);
      if (written !== undefined) entries.push(written);
      current = undefined;
    }
    await piping;
    if (headers === 0 && tarBytes < END_MARKER_BYTES) {
      throw new ArchiveError(
        `${STAGE}: cannot extract ${archive}: it is empty: no tar header and no end-of-archive marker ` +
          `(${tarBytes} bytes of tar data)`,
        { file: archive, offset: 0, stage: STAGE, parameter: 'archive' },
      );
    }
  } catch (caught) {
    source.destroy();
    extract.destroy();
    if (caught instanceof InputError) throw caught;
    // An entry's body fails as "destroyed" when the archive broke under it: the pipeline has the cause.
    const error =
      (caught as { code?: string })?.code === 'STREAM_DESTROYED'
        ? await piping.then(
            () => caught,
            (e: unknown) => e ?? caught,
          )
        : caught;
    const what = current === undefined ? '' : ` at entry ${JSON.stringify(current)}`;
    // The destination full, read-only or not writable is no fault of the archive; anything else
    // (corrupt data, an entry clashing with another) is.
    const ErrorClass = DESTINATION_FAULTS.has((error as NodeJS.ErrnoException)?.code ?? '')
      ? InputError
      : ArchiveError;
    throw new ErrorClass(
      `${STAGE}: cannot extract ${archive}${what}: ${(error as Error)?.message ?? String(error)}`,
      {
        file: archive,
        key: current,
        stage: STAGE,
        cause: error,
      },
    );
  }
  return { dir: root, entries };
}

/** Opens a regular archive file (never a FIFO or device) and sniffs gzip from its first bytes. */
async function openArchive(archive: string): Promise<{ handle: FileHandle; gzipped: boolean }> {
  const { handle } = await openRegularFile(archive, STAGE);
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return { handle, gzipped: bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b };
  } catch (err) {
    await handle.close();
    throw fileError(STAGE, archive, err);
  }
}

function refuse(archive: string, name: string, why: string): ArchiveError {
  return new ArchiveError(`${STAGE}: refusing entry ${JSON.stringify(name)} in ${archive}: ${why}`, {
    file: archive,
    key: name,
    stage: STAGE,
  });
}

/** `target` equals `root` or lies below it (both absolute, normalised). */
/**
 * A symlink target stays inside when (1) it is relative, (2) any `..` comes only at its start — a
 * `..` after a named step climbs from wherever that step's own link points, which the text cannot
 * tell — and (3) the real location of the deepest part of it that exists already (links on disk
 * followed) is inside the destination.
 */
async function symlinkStaysInside(root: string, parent: string, target: string): Promise<boolean> {
  if (isAbsolute(target) || /^[A-Za-z]:/.test(target) || target.includes('\\')) return false;
  let named = false;
  for (const seg of target.split('/')) {
    if (seg === '..') {
      if (named) return false;
    } else if (seg !== '' && seg !== '.') named = true;
  }
  const realRoot = await realpath(root);
  let probe = resolve(parent, target);
  for (;;) {
    try {
      return isInside(realRoot, await realpath(probe));
    } catch {
      const up = resolve(probe, '..');
      if (up === probe) return false;
      probe = up;
    }
  }
}

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The entry name as a list of path segments, or a refusal. */
function segmentsOf(archive: string, name: string): string[] {
  if (name.includes('\0')) throw refuse(archive, name, 'the name contains a NUL byte');
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) {
    throw refuse(archive, name, 'absolute paths are not allowed');
  }
  const segments = name.split(/[/\\]+/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw refuse(archive, name, "'..' segments are not allowed");
  return segments;
}

/**
 * Creates each missing folder of `segments` under `root` one level at a time, checking after each
 * step that the real (symlink-resolved) location is still inside `root`; returns that real path.
 */
async function safeFolder(archive: string, name: string, root: string, segments: string[]): Promise<string> {
  let real = root;
  for (const segment of segments) {
    const next = join(real, segment);
    try {
      await mkdir(next);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    try {
      real = await realpath(next);
    } catch {
      throw refuse(archive, name, `${segment} is a dangling link`);
    }
    if (!isInside(root, real)) throw refuse(archive, name, 'it would be written outside the destination');
    if (!(await lstat(real)).isDirectory()) throw refuse(archive, name, `${segment} is not a folder`);
  }
  return real;
}

/** Removes a non-folder already at `path` (tar replaces files); never follows a link. */
async function clearSlot(path: string): Promise<void> {
  try {
    const stats = await lstat(path);
    if (!stats.isDirectory()) await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** One entry of `tar.extract()`: its header and its body (a streamx readable). */
interface TarEntry extends AsyncIterable<unknown> {
  readonly header: Header;
  resume(): unknown;
}

async function writeEntry(entry: TarEntry, archive: string, root: string): Promise<string | undefined> {
  const { header } = entry;
  const name = header.name;
  const type = header.type ?? 'file';
  const segments = segmentsOf(archive, name);
  if (segments.length === 0) {
    if (type === 'directory') {
      entry.resume();
      return undefined; // `./` itself
    }
    throw refuse(archive, name, 'the name is empty');
  }
  const normalised = segments.join('/');
  if (type === 'directory') {
    entry.resume();
    await safeFolder(archive, name, root, segments);
    return normalised;
  }
  if (type !== 'file' && type !== 'contiguous-file' && type !== 'symlink' && type !== 'link') {
    throw refuse(archive, name, `${type} entries are not allowed`);
  }
  const parent = await safeFolder(archive, name, root, segments.slice(0, -1));
  const dest = join(parent, segments[segments.length - 1]);
  if (type === 'symlink') {
    const target = header.linkname ?? '';
    if (
      target === '' ||
      !isInside(root, resolve(parent, target)) ||
      !(await symlinkStaysInside(root, parent, target))
    ) {
      throw refuse(archive, name, `symlink target ${JSON.stringify(target)} lies outside the destination`);
    }
    entry.resume();
    await clearSlot(dest);
    await symlink(target, dest);
    return normalised;
  }
  if (type === 'link') {
    const target = header.linkname ?? '';
    const outside = refuse(
      archive,
      name,
      `hard link target ${JSON.stringify(target)} is not a file inside the destination`,
    );
    let targetSegments: string[];
    try {
      targetSegments = segmentsOf(archive, target);
    } catch {
      throw outside;
    }
    let real: string;
    try {
      real = await realpath(join(root, ...targetSegments));
    } catch {
      throw refuse(archive, name, `hard link target ${JSON.stringify(target)} does not exist in the archive`);
    }
    if (targetSegments.length === 0 || !isInside(root, real) || !(await lstat(real)).isFile()) throw outside;
    entry.resume();
    await clearSlot(dest);
    await link(real, dest);
    return normalised;
  }
  await clearSlot(dest);
  // 'wx' (O_CREAT | O_EXCL) never follows a link at `dest`.
  const out = await open(dest, 'wx', (header.mode ?? 0o644) & 0o777);
  try {
    for await (const chunk of entry) await out.write(chunk as Uint8Array);
  } finally {
    await out.close();
  }
  return normalised;
}
