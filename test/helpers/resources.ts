import { readdirSync } from 'node:fs';

/** Counts of live libuv/Node resources by type, to prove that cancellation leaves nothing behind. */
export function resourceCounts(): Record<string, number> {
  // Open file descriptors too: a FileHandle that was never closed is not an "active resource".
  const counts: Record<string, number> = { openFileDescriptors: readdirSync('/proc/self/fd').length };
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** Lets pending closes and timers settle. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Resource types whose count grew between two snapshots (ignoring the test runner's own churn). */
export function leaked(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    if (k === 'TTYWrap' || k === 'PipeWrap' || k === 'ProcessWrap') continue;
    const grew = v - (before[k] ?? 0);
    if (grew > 0) out[k] = grew;
  }
  return out;
}
