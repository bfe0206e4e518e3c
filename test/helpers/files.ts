import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';

/** A temp directory for one test file; `cleanup()` removes it (call it in afterAll). */
export interface TempDir {
  readonly dir: string;
  /** Writes `bytes` to `<dir>/<name>` and returns the path. */
  write(name: string, bytes: Uint8Array | string): Promise<string>;
  /** A fresh unique file name inside the directory (not created). */
  path(name: string): string;
  cleanup(): Promise<void>;
}

export async function makeTempDir(prefix: string): Promise<TempDir> {
  const dir = await mkdtemp(join(os.tmpdir(), `inqueue-${prefix}-`));
  return {
    dir,
    async write(name, bytes) {
      const file = join(dir, name);
      await writeFile(file, bytes);
      return file;
    },
    path(name) {
      return join(dir, name);
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Deterministic pseudo-random bytes (xorshift32), so property cases can be derived from a seed. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed >>> 0) | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Lets pending closes and other callbacks run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** How many `FileHandle` resources `process.getActiveResourcesInfo()` reports. */
export function fileHandleResources(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'FileHandle').length;
}

/** Whether the process's open descriptors can be inspected (Linux `/proc/self/fd`). */
export const canListOpenFds = existsSync('/proc/self/fd');

/** How many of this process's file descriptors point at `file` (Linux only; 0 elsewhere). */
export function openDescriptorsFor(file: string): number {
  if (!canListOpenFds) return 0;
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // The descriptor closed between readdir and readlink (e.g. the one readdir used).
    }
  }
  return n;
}

/** Catches the error an async action rejects with (fails the test if it resolves). */
export async function rejectionOf(action: () => Promise<unknown>): Promise<Error> {
  try {
    await action();
  } catch (err) {
    return err as Error;
  }
  throw new Error('Expected the action to reject, but it resolved');
}

/** Catches the error a synchronous action throws (fails the test if it returns). */
export function thrownBy(action: () => unknown): Error {
  try {
    action();
  } catch (err) {
    return err as Error;
  }
  throw new Error('Expected the action to throw, but it returned');
}

/** The bytes of `parts`, one after the other. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** What a stream gave before it ended, and the error it ended with (undefined when it completed). */
export interface Drained<T> {
  out: T[];
  error: unknown;
}

/** Pulls `stream` to its end or first error, keeping what came before the error. */
export async function drain<T>(stream: AsyncIterable<T>): Promise<Drained<T>> {
  const out: T[] = [];
  try {
    for await (const x of stream) out.push(x);
    return { out, error: undefined };
  } catch (error) {
    return { out, error };
  }
}
