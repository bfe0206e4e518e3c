import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { archiveEntryNames } from '../sources/archive-name.js';

/** The dataset layouts the CLI recognises. */
export type DatasetFormat = 'cifar10' | 'cifar100' | 'mnist' | 'image-folder' | 'tar-shards';

export interface Detected {
  format: DatasetFormat;
  /** Where the data files are: a folder, or `<archive>#<folder inside>` for a published archive. */
  dir: string;
  /** Shard paths, for 'tar-shards'. */
  shards?: string[];
  /** For an archive: the `<archive>#<entry>` names it holds. */
  entries?: Set<string>;
}

const ARCHIVE = /\.(?:tar|tgz|tar\.gz)$/i;

/** The path of a dataset file in a detected location (a folder or inside an archive). */
export function fileIn(d: Detected, name: string): string {
  return d.dir.includes('#') || ARCHIVE.test(d.dir)
    ? `${d.dir}/${name}`.replace('#/', '#')
    : join(d.dir, name);
}

const exists = (dir: string, names: string[]) => names.some((n) => existsSync(join(dir, n)));

/** Whether a detected location holds `name` (a file in the folder, or an entry of the archive). */
export function hasFile(d: Detected, name: string): boolean {
  return d.entries ? d.entries.has(fileIn(d, name)) : existsSync(fileIn(d, name));
}

/** Looks at a folder's (or an archive's) files and says what dataset it holds. */
export async function detectFormat(path: string): Promise<Detected | null> {
  if (!existsSync(path)) return null;
  if (statSync(path).isFile()) return ARCHIVE.test(path) ? detectArchive(path) : null;
  for (const dir of [path, join(path, 'cifar-10-batches-bin')]) {
    if (exists(dir, ['data_batch_1.bin', 'test_batch.bin'])) return { format: 'cifar10', dir };
  }
  for (const dir of [path, join(path, 'cifar-100-binary')]) {
    if (exists(dir, ['train.bin', 'test.bin']) && exists(dir, ['fine_label_names.txt']))
      return { format: 'cifar100', dir };
  }
  if (
    exists(path, [
      'train-images-idx3-ubyte',
      'train-images-idx3-ubyte.gz',
      't10k-images-idx3-ubyte',
      't10k-images-idx3-ubyte.gz',
    ])
  ) {
    return { format: 'mnist', dir: path };
  }
  const entries = readdirSync(path, { withFileTypes: true });
  const shards = entries.filter((e) => e.isFile() && ARCHIVE.test(e.name)).map((e) => join(path, e.name));
  if (shards.length > 0) return { format: 'tar-shards', dir: path, shards: shards.sort() };
  if (entries.some((e) => e.isDirectory() && !e.name.startsWith('.')))
    return { format: 'image-folder', dir: path };
  return null;
}

/** A published CIFAR archive, or a WebDataset shard. */
async function detectArchive(archive: string): Promise<Detected | null> {
  const full = await archiveEntryNames(archive);
  const entries = new Set(full);
  const names = full.map((n) => n.slice(archive.length + 1));
  const folderOf = (file: string) => {
    const hit = names.find((n) => n === file || n.endsWith(`/${file}`));
    return hit === undefined ? null : hit.slice(0, hit.length - file.length - 1);
  };
  const c10 = folderOf('data_batch_1.bin') ?? folderOf('test_batch.bin');
  if (c10 !== null) return { format: 'cifar10', dir: c10 ? `${archive}#${c10}` : `${archive}#`, entries };
  const c100 = folderOf('fine_label_names.txt');
  if (c100 !== null) return { format: 'cifar100', dir: c100 ? `${archive}#${c100}` : `${archive}#`, entries };
  return { format: 'tar-shards', dir: archive, shards: [archive], entries };
}
