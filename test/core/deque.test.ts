import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deque } from '../../src/core/deque.js';

type Op =
  | { t: 'push'; v: number }
  | { t: 'pushN'; n: number }
  | { t: 'shift' }
  | { t: 'shiftN'; n: number }
  | { t: 'unshiftAll'; vs: number[] }
  | { t: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('push' as const), v: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('pushN' as const), n: fc.nat(2500) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('shift' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('shiftN' as const), n: fc.nat(2500) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('unshiftAll' as const),
      vs: fc.array(fc.integer(), { maxLength: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('clear' as const) }) },
);

function expectSame(d: Deque<number>, model: number[]): void {
  expect(d.length).toBe(model.length);
  expect(d.peek()).toBe(model[0]);
  const probes = new Set([0, 1, model.length >> 1, model.length - 2, model.length - 1]);
  for (const i of probes) if (i >= 0 && i < model.length) expect(d.at(i)).toBe(model[i]);
  expect(d.at(model.length)).toBeUndefined();
}

function contents(d: Deque<number>): number[] {
  return Array.from({ length: d.length }, (_, i) => d.at(i));
}

describe('Deque', () => {
  it('starts empty', () => {
    const d = new Deque<string>();
    expect(d.length).toBe(0);
    expect(d.peek()).toBeUndefined();
    expect(d.shift()).toBeUndefined();
    expect(d.clear()).toEqual([]);
  });

  it('is FIFO', () => {
    const d = new Deque<string>();
    d.push('a');
    d.push('b');
    d.push('c');
    expect(d.shift()).toBe('a');
    d.push('d');
    expect([d.shift(), d.shift(), d.shift(), d.shift()]).toEqual(['b', 'c', 'd', undefined]);
    expect(d.length).toBe(0);
  });

  it('unshiftAll puts items back at the front in their order', () => {
    const d = new Deque<number>();
    for (const x of [1, 2, 3, 4]) d.push(x);
    expect(d.shift()).toBe(1);
    expect(d.shift()).toBe(2);
    d.unshiftAll([10, 11]);
    expect(contents(d)).toEqual([10, 11, 3, 4]);
    d.unshiftAll([]);
    expect(contents(d)).toEqual([10, 11, 3, 4]);
    expect(d.clear()).toEqual([10, 11, 3, 4]);
    expect(d.length).toBe(0);
    d.push(5);
    expect(contents(d)).toEqual([5]);
  });

  it('keeps contents across the compaction threshold (more than 1024 shifts)', () => {
    const d = new Deque<number>();
    for (let i = 0; i < 5000; i++) d.push(i);
    for (let i = 0; i < 3000; i++) expect(d.shift()).toBe(i);
    expect(d.length).toBe(2000);
    expect(d.peek()).toBe(3000);
    expect(d.at(0)).toBe(3000);
    expect(d.at(1999)).toBe(4999);
    expect(d.at(2000)).toBeUndefined();
    d.unshiftAll([-2, -1]);
    expect(d.at(0)).toBe(-2);
    expect(d.at(2)).toBe(3000);
    for (let i = 5000; i < 6000; i++) d.push(i);
    expect(d.length).toBe(3002);
    expect(d.shift()).toBe(-2);
    expect(d.shift()).toBe(-1);
    const rest = d.clear();
    expect(rest).toEqual(Array.from({ length: 3000 }, (_, i) => 3000 + i));
  });

  it('compacts exactly at the threshold without losing or duplicating items', () => {
    // Walk through every head position around the 1024 boundary with various tail lengths.
    for (const total of [1025, 1026, 2049, 2050, 3000]) {
      const d = new Deque<number>();
      for (let i = 0; i < total; i++) d.push(i);
      for (let i = 0; i < total; i++) {
        expect(d.shift()).toBe(i);
        expect(d.length).toBe(total - i - 1);
        if (d.length > 0) expect(d.peek()).toBe(i + 1);
      }
      expect(d.shift()).toBeUndefined();
    }
  });

  it('behaves like an array (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const d = new Deque<number>();
        const model: number[] = [];
        let next = 0;
        for (const op of ops) {
          switch (op.t) {
            case 'push':
              d.push(op.v);
              model.push(op.v);
              break;
            case 'pushN':
              for (let i = 0; i < op.n; i++) {
                d.push(next);
                model.push(next++);
              }
              break;
            case 'shift':
              expect(d.shift()).toBe(model.shift());
              break;
            case 'shiftN':
              for (let i = 0; i < op.n; i++) expect(d.shift()).toBe(model.shift());
              break;
            case 'unshiftAll':
              d.unshiftAll(op.vs);
              model.unshift(...op.vs);
              break;
            case 'clear':
              expect(d.clear()).toEqual(model.splice(0));
              break;
          }
          expectSame(d, model);
        }
        expect(contents(d)).toEqual(model);
      }),
      { numRuns: 150 },
    );
  });
});
