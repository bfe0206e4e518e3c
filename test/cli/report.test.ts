import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { policyFromArgs, reportLines } from '../../src/cli/report.js';

describe('reportLines', () => {
  it('one line per stage: read, yielded, skipped by reason with the first keys', () => {
    const lines = reportLines({
      stages: [
        {
          stage: 'fixed_length_record_reader',
          read: 5003,
          yielded: 5000,
          skipped: 3,
          skippedByReason: {
            TruncatedRecordError: { count: 1, firstKeys: ['a.bin:9'] },
            NotFoundError: { count: 5, firstKeys: ['b', 'c', 'd', 'e', 'f'] },
          },
        },
        { stage: 'map_parallel', read: 10, yielded: 10, skipped: 0, skippedByReason: {} },
      ],
      skipped: 3,
    });
    expect(lines).toEqual([
      'report: fixed_length_record_reader read 5003, yielded 5000, skipped 3 (TruncatedRecordError 1: a.bin:9; NotFoundError 5: b, c, d, ...)',
      'report: map_parallel read 10, yielded 10, skipped 0',
    ]);
  });

  it('says so when no stage reads under a policy', () => {
    expect(reportLines({ stages: [], skipped: 0 })).toEqual([
      'report: no stage reads under an error policy here',
    ]);
  });
});

describe('policyFromArgs', () => {
  it('maps --on-error and --max-errors, and refuses bad values as usage errors', () => {
    expect(policyFromArgs({})).toEqual({ onError: 'raise' });
    expect(policyFromArgs({ 'on-error': 'warn', 'max-errors': 3 })).toEqual({
      onError: 'warn',
      maxErrors: 3,
    });
    expect(() => policyFromArgs({ 'on-error': 'ignore' })).toThrow(UsageError);
    expect(() => policyFromArgs({ 'max-errors': -1 })).toThrow(UsageError);
    expect(() => policyFromArgs({ 'max-errors': 1.5 })).toThrow(/--max-errors/);
  });
});
