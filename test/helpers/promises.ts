/** Promise observation helpers shared by the queue tests. */

/** Lets every pending promise reaction run (a macrotask after all microtasks). */
export const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface Tracked<T> {
  readonly promise: Promise<T>;
  status: 'pending' | 'fulfilled' | 'rejected';
  value?: T;
  reason?: unknown;
  /** Global order in which tracked promises settled. */
  order?: number;
}

let settleCounter = 0;

/** Observes a promise's state without racing (handlers attached at once, so no unhandled rejections). */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { promise, status: 'pending' };
  promise.then(
    (value) => {
      t.status = 'fulfilled';
      t.value = value;
      t.order = settleCounter++;
    },
    (reason) => {
      t.status = 'rejected';
      t.reason = reason;
      t.order = settleCounter++;
    },
  );
  return t;
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}
