/**
 * The soak's CI variant: scripts/soak.ts run short (2 epochs, frequent cancellations and restarts),
 * its verdict's fields checked, and the checks it relies on shown to fail on bad input.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  fdVerdict,
  main,
  parseSoakArgs,
  RecordLedger,
  rssVerdict,
  runSoak,
  type SoakSample,
} from '../../scripts/soak.js';
import { FIXTURE_DIR, RECORDS_PER_FILE, TRAIN_FILES } from '../helpers/fixture.js';

const execFileAsync = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/soak.ts', import.meta.url));
const PER_EPOCH = TRAIN_FILES.length * RECORDS_PER_FILE;

describe('soak, short', () => {
  it('2 epochs with cancellations, restarts and rollbacks: every record once per epoch, flat resources', async () => {
    const lines: string[] = [];
    const { samples, verdict } = await runSoak({
      data: FIXTURE_DIR,
      epochs: 2,
      seed: 3,
      cancelEvery: 6,
      rollbackRate: 0.5,
      sampleMs: 100,
      log: (l) => lines.push(l),
    });
    expect(verdict.failures).toEqual([]);
    expect(verdict.ok).toBe(true);
    expect(verdict.exitCode).toBe(0);
    expect(verdict.completed).toBe(true);
    // 125 divides 5,000: nothing is dropped, every record of both epochs is delivered.
    expect(verdict.recordsPerEpoch).toBe(PER_EPOCH);
    expect(verdict.recordsDelivered).toBe(2 * PER_EPOCH);
    expect(verdict.recordsExpected).toBe(2 * PER_EPOCH);
    expect(verdict.dropped).toBe(0);
    expect(verdict.accounted).toBe(true);
    expect([verdict.duplicates, verdict.missing, verdict.epochRecordErrors, verdict.unknownKeys]).toEqual([
      0, 0, 0, 0,
    ]);
    expect(verdict.mismatchedBatches).toBe(0);
    expect(verdict.positionMismatches).toBe(0);
    expect(verdict.teardownTimeouts).toBe(0);
    // 80 batches, a cancellation every ~6: restarts happened, some from an older checkpoint.
    expect(verdict.restarts).toBeGreaterThanOrEqual(3);
    const c = verdict.cancellations;
    expect(c.break + c.abort + c.take + c.unsubscribe).toBe(verdict.restarts);
    expect(verdict.rollbacks).toBeGreaterThanOrEqual(1);
    expect(verdict.replayedBatches).toBeGreaterThanOrEqual(1);
    expect(verdict.fds.measured).toBe(true);
    expect(verdict.fds.ok).toBe(true);
    expect(Math.abs(verdict.fds.end - verdict.fds.start)).toBeLessThanOrEqual(2);
    expect(verdict.rss.ok).toBe(true);
    expect(verdict.rss.growthMB).toBeLessThanOrEqual(verdict.rss.limitMB);
    // Samples: the start, one after the warm-up epoch, the end; the table has a row for each.
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect(samples[0].records).toBe(0);
    expect(samples.at(-1)?.records).toBe(2 * PER_EPOCH);
    expect(samples.at(-1)?.epoch).toBe(2);
    expect(lines.some((l) => /time s +epoch +RSS MB +heap MB +fds +records +restarts/.test(l))).toBe(true);
    expect(lines.filter((l) => /^ +\d+\.\d +\d+\.\d\d /.test(l))).toHaveLength(samples.length);
    expect(lines.at(-1)).toMatch(/^PASS after /);
  });

  it("2 epochs on two threads with the files cached: the plain engine's batches, every record once, flat resources", async () => {
    const { verdict } = await runSoak({
      data: FIXTURE_DIR,
      epochs: 2,
      seed: 4,
      cancelEvery: 6,
      rollbackRate: 0.5,
      sampleMs: 100,
      numThreads: 2,
      cache: true,
    });
    expect(verdict.failures).toEqual([]);
    expect(verdict.recordsDelivered).toBe(2 * PER_EPOCH);
    expect([
      verdict.duplicates,
      verdict.missing,
      verdict.mismatchedBatches,
      verdict.positionMismatches,
    ]).toEqual([0, 0, 0, 0]);
    expect(verdict.restarts).toBeGreaterThanOrEqual(3);
    expect(verdict.fds.ok).toBe(true);
    expect(Math.abs(verdict.fds.end - verdict.fds.start)).toBeLessThanOrEqual(2);
  });

  it('the CLI stops at --seconds, accounts for what it delivered, exits 0 and ends by itself', async () => {
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', SCRIPT, '--epochs', '20', '--seconds', '1', '--sample-ms', '250', '--no-reference'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(stdout).toMatch(/^soak: 20 epochs of 5000 records from .*, at most 1 s$/m);
    expect(stdout).toMatch(/stopped early/);
    expect(stdout).toMatch(/ 0 duplicated, 0 missing, 0 epoch errors/);
    expect(stdout).toMatch(/^PASS after /m);
  });
});

describe('the checks fail when they should', () => {
  // 2 files of 4 records, 2 epochs, batches of 2: 8 batches.
  const files = ['f0', 'f1'];
  const ledger = () => new RecordLedger(files, [4, 4], 2, 2);
  const keys = (...ids: number[]) => ids.map((i) => `f${i >> 2}:${i & 3}`);
  /** Batches covering indices 0..15: index i is record i % 8 of epoch ⌊i / 8⌋. */
  const commitAll = (l: RecordLedger, upTo = 16) => {
    for (let i = 0; i < upTo; i += 2) l.commit([i, i + 1], keys(i % 8, (i + 1) % 8));
  };

  it('a complete, exact run audits clean', () => {
    const l = ledger();
    commitAll(l);
    expect(l.audit(true)).toMatchObject({
      recordsDelivered: 16,
      recordsExpected: 16,
      duplicates: 0,
      missing: 0,
      epochRecordErrors: 0,
    });
  });

  it('a record delivered twice and one never delivered are counted', () => {
    const l = ledger();
    commitAll(l, 14);
    l.commit([13, 14], keys(5, 6)); // index 13 again; 15 (record 7 of epoch 1) never
    const a = l.audit(true);
    expect(a.duplicates).toBe(1);
    expect(a.missing).toBe(1);
    expect(a.epochRecordErrors).toBe(2); // (1, record 5) twice, (1, record 7) never
  });

  it('a key that names the wrong record within an epoch is an epoch error; an unknown key is counted', () => {
    const l = ledger();
    commitAll(l, 14);
    l.commit([14, 15], ['f1:2', 'nowhere:1']);
    const a = l.audit(true);
    expect(a.duplicates).toBe(0);
    expect(a.unknownKeys).toBe(1);
    expect(a.epochRecordErrors).toBe(1); // record 7 of epoch 1 never seen
  });

  it('a rollback uncommits what followed the checkpoint; replaying it restores the count', () => {
    const l = ledger();
    commitAll(l, 10);
    l.rollback(3);
    expect(l.committed).toBe(3);
    for (let i = 6; i < 16; i += 2) l.commit([i, i + 1], keys(i % 8, (i + 1) % 8));
    expect(l.audit(true)).toMatchObject({ recordsDelivered: 16, duplicates: 0, missing: 0 });
    expect(() => l.rollback(9)).toThrow(/cannot roll back to batch 9 with 8 committed/);
  });

  it('a batch of the wrong size, or past the run, is an error', () => {
    const l = ledger();
    expect(() => l.commit([0], keys(0))).toThrow(/batch 0 has 1 indices and 1 keys, expected 2/);
    commitAll(l);
    expect(() => l.commit([0, 1], keys(0, 1))).toThrow(/batch 8 delivered, but 8 batches make the run/);
  });

  it('a stopped run audits only what it delivered', () => {
    const l = ledger();
    commitAll(l, 6);
    expect(l.audit(false)).toMatchObject({ recordsDelivered: 6, recordsExpected: 6, missing: 0 });
  });

  const sample = (rssMB: number, fds = 30): SoakSample => ({
    t: 0,
    epoch: 0,
    rssMB,
    heapMB: 10,
    fds,
    records: 0,
    restarts: 0,
  });

  it('RSS growth past max(limit MB, fraction of the warm RSS) fails', () => {
    const limits = { rssLimitMB: 50, rssLimitFraction: 0.2 };
    expect(rssVerdict({ samples: [sample(100), sample(200), sample(249)], warmIndex: 1 }, limits)).toEqual({
      warmMB: 200,
      endMB: 249,
      growthMB: 49,
      limitMB: 50,
      ok: true,
    });
    expect(rssVerdict({ samples: [sample(200), sample(251)], warmIndex: 0 }, limits).ok).toBe(false);
    // 20 % of 400 MB is the larger bound.
    expect(rssVerdict({ samples: [sample(400), sample(479)], warmIndex: 0 }, limits).ok).toBe(true);
    expect(rssVerdict({ samples: [sample(400), sample(481)], warmIndex: 0 }, limits).ok).toBe(false);
    // One spike at the end is not a trend; a steady climb is.
    expect(
      rssVerdict({ samples: [200, 230, 300, 230].map((m) => sample(m)), warmIndex: 0 }, limits),
    ).toMatchObject({ endMB: 230, ok: true });
    expect(
      rssVerdict({ samples: [200, 260, 270, 280].map((m) => sample(m)), warmIndex: 0 }, limits),
    ).toMatchObject({ endMB: 270, ok: false });
  });

  it('descriptors not back to the start, or piling up during the run, fail', () => {
    expect(fdVerdict(30, 32, [sample(0, 31)], 2).ok).toBe(true);
    expect(fdVerdict(30, 33, [sample(0, 31)], 2).ok).toBe(false);
    expect(fdVerdict(30, 30, [sample(0, 37)], 2).ok).toBe(false);
    expect(fdVerdict(-1, -1, [], 2)).toEqual({ measured: false, start: -1, end: -1, max: -1, ok: true });
  });
});

describe('command line', () => {
  it('parses the options, and names a bad one', () => {
    expect(parseSoakArgs([])).toEqual({});
    expect(
      parseSoakArgs(['--epochs', '3', '--seconds', '2.5', '--data', '/d', '--seed', '9', '--no-reference']),
    ).toEqual({ epochs: 3, seconds: 2.5, data: '/d', seed: 9, reference: false });
    expect(() => parseSoakArgs(['--epochs', 'x'])).toThrow(
      /--epochs must be a non-negative integer, got "x"/,
    );
    expect(() => parseSoakArgs(['--seconds', '0'])).toThrow(/--seconds must be a positive number, got "0"/);
    expect(() => parseSoakArgs(['--bogus'])).toThrow(/--bogus/);
  });

  it('exits 2 on a bad option, a zero epoch count or missing data; 0 for --help', async () => {
    const out: string[] = [];
    const log = (l: string) => out.push(l);
    expect(await main(['--bogus'], log)).toBe(2);
    expect(await main(['--epochs', '0', '--data', FIXTURE_DIR], log)).toBe(2);
    expect(out.join('\n')).toMatch(/--epochs must be a positive integer, got 0/);
    expect(await main(['--data', '/nonexistent/cifar'], log)).toBe(2);
    expect(out.join('\n')).toMatch(/no CIFAR data at \/nonexistent\/cifar/);
    expect(await main(['--help'], log)).toBe(0);
    expect(out.at(-1)).toMatch(/^Usage: npx tsx scripts\/soak.ts/);
  });
});
