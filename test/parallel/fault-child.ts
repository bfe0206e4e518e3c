/**
 * Spawned by map-parallel-faults.test.ts: a pipeline whose elements exit, hang and run out of memory,
 * under warn. It prints what it got and ends without process.exit: the test checks that no
 * worker, timer or handle keeps the process alive.
 */
import { mapParallel } from '../../src/parallel/map-parallel.js';
import type { Item } from './fault-fns.js';

const faults: Record<number, Item['fault']> = { 1: 'exit', 2: 'hang', 3: 'oom' };
const input: Item[] = Array.from({ length: 5 }, (_, v) => ({ key: `k${v}`, v, fault: faults[v] }));
const warnings: string[] = [];
const stream = mapParallel<Item, { v: number }>(
  input,
  { module: new URL('./fault-fns.ts', import.meta.url), export: 'faulty' },
  { numThreads: 2, timeoutMs: 1000, maxWorkerHeapMB: 32, onError: 'warn', warn: (l) => warnings.push(l) },
);
const values: number[] = [];
for await (const x of stream) values.push(x.v);
console.log(JSON.stringify({ values, warnings, skippedByReason: stream.report().stages[0].skippedByReason }));
