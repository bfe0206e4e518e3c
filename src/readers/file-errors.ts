import { InputError, NotFoundError } from '../core/errors.js';

/** Turns a Node fs error into a NotFoundError that names the file and says what was wrong with it. */
export function fileError(stage: string, file: string, err: unknown): InputError {
  if (err instanceof InputError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const reason =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'a directory, not a file'
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
