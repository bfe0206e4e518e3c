import { describe, expect, it } from 'vitest';
import { errorPolicyOption, handleElementError } from '../../src/core/error-policy.js';
import {
  DecodeError,
  InvalidArgumentError,
  TooManyErrorsError,
  TruncatedRecordError,
} from '../../src/core/errors.js';
import { reportOf, StageCounters } from '../../src/core/stats.js';

const counters = () => new StageCounters('stage', Number.POSITIVE_INFINITY);

describe('errorPolicyOption', () => {
  it('defaults to raise with no bound', () => {
    const p = errorPolicyOption('s', undefined);
    expect(p.onError).toBe('raise');
    expect(p.maxErrors).toBe(Number.POSITIVE_INFINITY);
  });

  it.each([
    [{ onError: 'ignore' }, /onError/],
    [{ maxErrors: -1 }, /maxErrors/],
    [{ maxErrors: 1.5 }, /maxErrors/],
    [{ warn: 'x' }, /warn/],
  ])('rejects %j', (o, message) => {
    expect(() => errorPolicyOption('s', o as never)).toThrow(message);
    expect(() => errorPolicyOption('s', o as never)).toThrow(InvalidArgumentError);
  });
});

describe('handleElementError', () => {
  it('raise rethrows the error itself', () => {
    const err = new DecodeError('bad');
    const c = counters();
    expect(() => handleElementError(errorPolicyOption('s', {}), c, err, 'k', 's')).toThrow(err);
    expect(c.skipped).toBe(0);
  });

  it('skip counts by reason and keeps the first keys; errors that are not input errors still throw', () => {
    const c = counters();
    const p = errorPolicyOption('s', { onError: 'skip' });
    for (let i = 0; i < 15; i++) handleElementError(p, c, new DecodeError('bad'), `k${i}`, 's');
    handleElementError(p, c, new TruncatedRecordError('short'), 't', 's');
    const snap = c.snapshot();
    expect(snap.skipped).toBe(16);
    expect(snap.skippedByReason.DecodeError.count).toBe(15);
    expect(snap.skippedByReason.DecodeError.firstKeys).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
    expect(snap.skippedByReason.TruncatedRecordError).toEqual({ count: 1, firstKeys: ['t'] });
    const bug = new TypeError('x is undefined');
    expect(() => handleElementError(p, c, bug, 'k', 's')).toThrow(bug);
    const badOption = new InvalidArgumentError('decodeImage: Expected 0, 1 or 3 for channels but received 2');
    expect(() => handleElementError(p, c, badOption, 'k', 's')).toThrow(badOption);
    expect(c.skipped).toBe(16);
  });

  it('warn skips and emits one line per skip through the given function, synchronously counted', () => {
    const lines: string[] = [];
    const c = counters();
    const p = errorPolicyOption('s', { onError: 'warn', warn: (l) => lines.push(l) });
    handleElementError(p, c, new DecodeError('not a JPEG'), 'a.jpg', 'decode');
    expect(lines).toEqual(['decode: skipped a.jpg: not a JPEG']);
    expect(c.skipped).toBe(1);
  });

  it('a warn function that throws or rejects neither stops the stream nor goes unhandled', async () => {
    const c = counters();
    const throwing = errorPolicyOption('s', {
      onError: 'warn',
      warn: () => {
        throw new Error('log full');
      },
    });
    expect(() => handleElementError(throwing, c, new DecodeError('x'), 'a', 's')).not.toThrow();
    const rejecting = errorPolicyOption('s', {
      onError: 'warn',
      warn: (() => Promise.reject(new Error('disk full'))) as never,
    });
    handleElementError(rejecting, c, new DecodeError('y'), 'b', 's');
    await new Promise((r) => setTimeout(r, 10)); // an unhandled rejection would fail the run
    expect(c.skipped).toBe(2);
  });

  it('past maxErrors even skip raises TooManyErrorsError with the last error as cause', () => {
    const c = counters();
    const p = errorPolicyOption('s', { onError: 'skip', maxErrors: 2 });
    handleElementError(p, c, new DecodeError('1'), 'a', 's');
    handleElementError(p, c, new DecodeError('2'), 'b', 's');
    const last = new DecodeError('3');
    let thrown: unknown;
    try {
      handleElementError(p, c, last, 'c', 's');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(TooManyErrorsError);
    expect((thrown as Error).message).toMatch(/at most maxErrors = 2 .* but 3 failed; the last: 3/);
    expect((thrown as Error).cause).toBe(last);
  });
});

describe('reportOf', () => {
  it('lists stages that read or skipped, with read = yielded + skipped as counted', () => {
    const a = counters();
    a.read = 4; // what the stage yielded; the skip below counts itself as read
    a.elementsOut = 4;
    a.recordSkip('DecodeError', 'x');
    const quiet = new StageCounters('quiet', 1);
    const r = reportOf([a.snapshot(), quiet.snapshot()]);
    expect(r.stages).toEqual([
      {
        stage: 'stage',
        read: 5,
        yielded: 4,
        skipped: 1,
        skippedByReason: { DecodeError: { count: 1, firstKeys: ['x'] } },
      },
    ]);
    expect(r.skipped).toBe(1);
  });
});
