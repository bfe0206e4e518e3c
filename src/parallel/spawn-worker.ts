import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running the module `entry` (a `.js` file next to the caller in the built
 * package). Run from TypeScript sources (tests, tsx), `entry` is a `.ts` file: tsx's loader is
 * registered inside the worker first, since workers do not inherit it.
 */
export function spawnWorker(entry: URL, options: WorkerOptions): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  return new Worker(
    `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`,
    { ...options, eval: true },
  );
}

/** The URL of a sibling module of `importMetaUrl` named `name` (without extension), .ts or .js alike. */
export function siblingModule(importMetaUrl: string, name: string): URL {
  return new URL(`./${name}${importMetaUrl.endsWith('.ts') ? '.ts' : '.js'}`, importMetaUrl);
}
