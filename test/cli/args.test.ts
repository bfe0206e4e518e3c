import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../src/cli/args.js';

const spec = {
  count: { type: 'number' as const, default: 30 },
  out: { type: 'string' as const },
  sheet: { type: 'flag' as const },
};

describe('parseArgs', () => {
  it('reads positionals, flags and values in both spellings, with defaults', () => {
    expect(parseArgs(['a', '--out', 'x', '--sheet', 'b'], spec)).toEqual({
      positionals: ['a', 'b'],
      options: { count: 30, out: 'x', sheet: true },
    });
    expect(parseArgs(['--count=5'], spec).options.count).toBe(5);
  });

  it.each([
    [['--nope'], /unknown option --nope/],
    [['--out'], /--out needs a value/],
    [['--out', '--sheet'], /--out needs a value/],
    [['--count', 'many'], /--count expects a number, got "many"/],
    [['--sheet=yes'], /--sheet takes no value/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv, spec)).toThrow(UsageError);
    expect(() => parseArgs(argv, spec)).toThrow(message);
  });
});
