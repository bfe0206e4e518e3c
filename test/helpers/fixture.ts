import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The generated CIFAR-10 fixture (made by test/global-setup.ts): 1000 records per file. */
export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/cifar-10-batches-bin', import.meta.url));
export const TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => join(FIXTURE_DIR, `data_batch_${i}.bin`));
export const TEST_FILE = join(FIXTURE_DIR, 'test_batch.bin');
export const RECORDS_PER_FILE = 1000;
export const RECORD_BYTES = 3073;
