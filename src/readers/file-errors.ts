import type { Stats } from 'node:fs';
import { constants, type FileHandle, open, stat } from 'node:fs/promises';
import { InputError, invalidArgument, NotFoundError } from '../core/errors.js';

/** Turns a Node fs error into a NotFoundError that names the file and says what was wrong with it. */
export function fileError(stage: string, file: string, err: unknown): InputError {
  if (err instanceof InputError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const reason =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'a directory, not a file'
        : code === 'ENOTREG'
          ? `not a regular file (${(err as Error).message})`
          : code === 'EACCES' || code === 'EPERM'
            ? 'not readable (permission denied)'
            : `unreadable (${code ?? (err as Error)?.message ?? String(err)})`;
  return new NotFoundError(
    `${stage}: Expected a readable file for filename but received ${JSON.stringify(file)}: ${reason}`,
    {
      file,
      stage,
      parameter: 'filename',
      cause: err,
    },
  );
}

/**
 * A file name from a reader's input must be a string: anything else (a Buffer path, a number from a
 * bad listing) is a bad argument, raised under every policy rather than counted as a missing file.
 */
export function checkFileName(name: unknown, stage: string): string {
  if (typeof name !== 'string' || name.length === 0)
    throw invalidArgument('filenames', 'file names (non-empty strings)', name, stage);
  return name;
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * Opens `file` for reading and takes its size, refusing anything but a regular file: a directory, a
 * FIFO (whose plain open would wait for a writer, holding a libuv thread for ever) or a device such
 * as /dev/zero (whose reads never end). O_NONBLOCK makes the open of a FIFO return at once; it
 * changes nothing for regular files.
 */
export async function openRegularFile(
  file: string,
  stage: string,
): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fileError(stage, file, err);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (!st.isFile()) throw Object.assign(new Error(kindOf(st)), { code: 'ENOTREG' });
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw fileError(stage, file, err);
  }
}

/** True when `path` names an existing regular file (following links). */
export async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
