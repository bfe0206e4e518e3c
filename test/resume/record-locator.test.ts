import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { stringInputProducer } from '../../src/producers/string-input-producer.js';
import { RecordLocator } from '../../src/resume/record-locator.js';

describe('RecordLocator', () => {
  it('agrees with the producer’s order, record by record, over several epochs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 5 }).filter((c) => c.some((n) => n > 0)),
        fc.nat(),
        fc.boolean(),
        async (counts, seed, shuffle) => {
          const files = counts.map((_, i) => `f${i}`);
          const produced = await stringInputProducer(files, { numEpochs: 3, seed, shuffle }).toArray();
          const expected = produced.flatMap((f) =>
            Array.from({ length: counts[files.indexOf(f)] }, (_, r) => `${f}:${r}`),
          );
          const locator = new RecordLocator({ files, counts, seed, shuffle });
          const located = expected.map((_, i) => {
            const at = locator.locate(i);
            expect(at.epoch).toBe(Math.floor(i / locator.perEpoch));
            expect(files[locator.order(at.epoch)[at.position]]).toBe(at.file);
            return `${at.file}:${at.record}`;
          });
          expect(located).toEqual(expected);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('rejects mismatched counts, empty data and bad indices', () => {
    expect(() => new RecordLocator({ files: ['a'], counts: [1, 2], seed: 1, shuffle: true })).toThrow(
      /counts/,
    );
    expect(() => new RecordLocator({ files: ['a', 'b'], counts: [0, 0], seed: 1, shuffle: true })).toThrow(
      /at least one record/,
    );
    const l = new RecordLocator({ files: ['a'], counts: [2], seed: 1, shuffle: true });
    for (const bad of [-1, 1.5]) expect(() => l.locate(bad)).toThrow(InvalidArgumentError);
  });
});
