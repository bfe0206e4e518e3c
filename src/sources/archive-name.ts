import { invalidArgument } from '../core/errors.js';
import { isRegularFile } from '../readers/file-errors.js';
import { globMatcher } from './glob.js';
import { listTar } from './tar-entries.js';

/** An archive entry named as `<archive>#<entry path>`. */
export interface ArchiveEntryName {
  archive: string;
  entry: string;
}

/** Archive names the readers recognise before a `#` (the compression is still sniffed from the bytes). */
const ARCHIVE = /\.(?:tar|tgz|tar\.gz)$/i;

/**
 * Splits `<archive>#<entry>` where `<archive>` ends in `.tar`, `.tgz` or `.tar.gz` (the first such
 * `#`); null for any other name, which stays a plain file name (a `#` elsewhere is just a character).
 */
export function splitArchiveName(name: string): ArchiveEntryName | null {
  for (let i = name.indexOf('#'); i > 0; i = name.indexOf('#', i + 1)) {
    const archive = name.slice(0, i);
    if (ARCHIVE.test(archive) && i + 1 < name.length) return { archive, entry: name.slice(i + 1) };
  }
  return null;
}

/**
 * splitArchiveName for a name a reader is about to open: a file that exists under the whole name
 * (`backup.tar#2`) is that file, not entry `2` of `backup.tar`.
 */
export async function archiveEntryOf(name: string): Promise<ArchiveEntryName | null> {
  const split = splitArchiveName(name);
  if (!split) return null;
  return (await isRegularFile(name)) ? null : split;
}

const STAGE = 'archiveEntryNames';

/**
 * The `<archive>#<entry>` names of the archive's regular files matching `pattern` (a glob or several;
 * unset: all), sorted, ready for `stringInputProducer` and the readers. Reads the archive once.
 */
export async function archiveEntryNames(archive: string, pattern?: string | string[]): Promise<string[]> {
  if (typeof archive !== 'string' || !ARCHIVE.test(archive)) {
    throw invalidArgument('archive', 'a path ending in .tar, .tgz or .tar.gz', archive, STAGE);
  }
  const match = globMatcher(pattern, STAGE);
  const entries = await listTar(archive, { stage: STAGE, match });
  return entries.map((e) => `${archive}#${e.name}`).sort();
}
