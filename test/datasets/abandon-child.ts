/**
 * Child of cifar-slab-batches.test.ts: takes two batches from distortedInputs on 2 threads (a
 * worker running) and drops the iterator without return(). The process must still exit on its own.
 */
import { distortedInputs } from '../../src/datasets/cifar.js';

const [path, cache] = process.argv.slice(2);
const s = await distortedInputs({ path, batchSize: 8, seed: 1, numThreads: 2, cache: cache === 'cache' });
const it = s[Symbol.asyncIterator]();
await it.next();
await it.next();
console.log('dropped');
