import type { ErrorPolicyOptions, OnError } from '../core/error-policy.js';
import type { PipelineReport } from '../core/stats.js';
import { UsageError } from './args.js';

/** `--on-error` and `--max-errors`, as the stages' policy options. */
export function policyFromArgs(o: Record<string, unknown>): ErrorPolicyOptions {
  const onError = String(o['on-error'] ?? 'raise');
  if (!['raise', 'skip', 'warn'].includes(onError))
    throw new UsageError(`--on-error must be raise, skip or warn, got ${JSON.stringify(onError)}`);
  const max = o['max-errors'];
  if (max !== undefined && !(typeof max === 'number' && Number.isInteger(max) && max >= 0))
    throw new UsageError(`--max-errors must be a non-negative integer, got ${max}`);
  return { onError: onError as OnError, ...(max === undefined ? {} : { maxErrors: max as number }) };
}

/**
 * The run's summary of what was read, yielded and skipped, one line per stage that reads or skips:
 *   report: fixed_length_record_reader read 5003, yielded 5000, skipped 3 (TruncatedRecordError 1: a.bin:9; NotFoundError 2: b.bin, c.bin)
 */
export function reportLines(report: PipelineReport, keys = 3): string[] {
  if (report.stages.length === 0) return ['report: no stage reads under an error policy here'];
  return report.stages.map((s) => {
    const reasons = Object.entries(s.skippedByReason)
      .map(([reason, r]) => {
        const shown = r.firstKeys.slice(0, keys).join(', ');
        const more = r.count > Math.min(keys, r.firstKeys.length) ? ', ...' : '';
        return `${reason} ${r.count}${shown ? `: ${shown}${more}` : ''}`;
      })
      .join('; ');
    return `report: ${s.stage} read ${s.read}, yielded ${s.yielded}, skipped ${s.skipped}${reasons ? ` (${reasons})` : ''}`;
  });
}
