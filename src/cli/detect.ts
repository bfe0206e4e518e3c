import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The dataset layouts the CLI recognises. */
export type DatasetFormat = 'cifar10' | 'cifar100' | 'mnist' | 'image-folder';

export interface Detected {
  format: DatasetFormat;
  /** The folder holding the data files (for CIFAR, the batches folder). */
  dir: string;
}

const exists = (dir: string, names: string[]) => names.some((n) => existsSync(join(dir, n)));

/** Looks at a folder's files (not their names' extensions alone) and says what dataset it holds. */
export function detectFormat(path: string): Detected | null {
  if (!existsSync(path) || !statSync(path).isDirectory()) return null;
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
  const subfolders = readdirSync(path, { withFileTypes: true }).filter(
    (e) => e.isDirectory() && !e.name.startsWith('.'),
  );
  if (subfolders.length > 0) return { format: 'image-folder', dir: path };
  return null;
}
