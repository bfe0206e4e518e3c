import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InputError, InvalidArgumentError } from '../../src/core/errors.js';
import {
  BACKEND_ORDER,
  currentRuntime,
  currentTf,
  loadTf,
  resetTfForTests,
} from '../../src/train/load-tf.js';
import { LRN_CLASS_NAME } from '../../src/train/models.js';

const GPU = '@tensorflow/tfjs-node-gpu';
const NODE = '@tensorflow/tfjs-node';

/** An importer where the named packages are missing and everything else loads for real. */
function importerWithout(...missing: string[]) {
  const asked: string[] = [];
  const importer = async (name: string) => {
    asked.push(name);
    if (missing.includes(name)) {
      throw Object.assign(new Error(`Cannot find package '${name}' imported from x.js`), {
        code: 'ERR_MODULE_NOT_FOUND',
      });
    }
    return import(name);
  };
  return { importer, asked };
}

const envBefore = process.env.INQUEUE_TF_BACKEND;

beforeEach(() => {
  resetTfForTests();
  delete process.env.INQUEUE_TF_BACKEND;
});

afterEach(() => {
  if (envBefore === undefined) delete process.env.INQUEUE_TF_BACKEND;
  else process.env.INQUEUE_TF_BACKEND = envBefore;
});

describe('loadTf', () => {
  // First: no other test of this file may have loaded tfjs (and registered the classes) before it.
  it('registers inqueue’s layer classes, so a saved cifar10Cnn loads in a process that built none', async () => {
    const registered = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(registered[LRN_CLASS_NAME]).toBeUndefined();
    await loadTf({ backends: ['cpu'], log: false });
    expect(registered[LRN_CLASS_NAME]).toBeDefined();
  });

  it('tries gpu, node, wasm, cpu in order and keeps the first that loads, with fast kernels on wasm', async () => {
    expect(BACKEND_ORDER).toEqual(['gpu', 'node', 'wasm', 'cpu']);
    const { importer, asked } = importerWithout(GPU, NODE);
    const lines: string[] = [];
    const rt = await loadTf({ importer, log: (l) => lines.push(l) });
    expect(asked).toEqual([GPU, NODE, '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']);
    expect(rt.choice).toBe('wasm');
    expect(rt.backendName).toBe('wasm');
    expect(rt.packageName).toBe('@tensorflow/tfjs-backend-wasm');
    expect(rt.tf.getBackend()).toBe('wasm');
    expect(rt.skipped).toEqual([
      { choice: 'gpu', packageName: GPU, reason: 'not installed' },
      { choice: 'node', packageName: NODE, reason: 'not installed' },
    ]);
    expect(rt.fastKernels).toEqual(expect.arrayContaining(['Conv2DBackpropFilter', 'Conv2DBackpropInput']));
    for (const k of rt.fastKernels) expect(rt.tf.getKernel(k, 'wasm')).toBeDefined();
    expect(lines).toEqual([rt.summary]);
    expect(rt.summary).toMatch(/^inqueue: TensorFlow\.js backend 'wasm' from @tensorflow\/tfjs-backend-wasm/);
    expect(rt.summary).toContain(`skipped ${GPU}: not installed; ${NODE}: not installed`);
    expect(rt.summary).toContain(`fast ${rt.fastKernels.join(', ')} kernels`);
  });

  it('reports the first line of why a package that is installed failed to load', async () => {
    const importer = async (name: string) => {
      if (name === GPU) throw new Error('libcudart.so.11.0: cannot open shared object file\n    at dlopen');
      if (name === NODE) return { setBackend: async () => false, ready: async () => {} };
      return import(name);
    };
    const rt = await loadTf({ importer, log: false });
    expect(rt.choice).toBe('wasm');
    expect(rt.skipped.map((s) => s.reason)).toEqual([
      'libcudart.so.11.0: cannot open shared object file',
      "backend 'tensorflow' failed to initialize",
    ]);
    expect(rt.summary).toContain(`${GPU}: libcudart.so.11.0: cannot open shared object file;`);
  });

  it('a single choice that fails is an InputError naming the package, and a later call may succeed', async () => {
    const { importer } = importerWithout(GPU);
    const attempt = loadTf({ backends: ['gpu'], importer, log: false });
    await expect(attempt).rejects.toThrow(InputError);
    await expect(attempt).rejects.toThrow(
      `loadTf: Expected one of ${GPU} to load but none did: ${GPU}: not installed`,
    );
    expect(() => currentTf()).toThrow(/call `await loadTf\(\)` first/);
    const rt = await loadTf({ backends: ['cpu'], importer, log: false });
    expect(rt.choice).toBe('cpu');
  });

  it('INQUEUE_TF_BACKEND picks the candidates when no list is given', async () => {
    process.env.INQUEUE_TF_BACKEND = 'gpu, cpu';
    const { importer, asked } = importerWithout(GPU);
    const rt = await loadTf({ importer, log: false });
    expect(asked).toEqual([GPU, '@tensorflow/tfjs']);
    expect(rt.choice).toBe('cpu');
    expect(rt.tf.getBackend()).toBe('cpu');
    expect(rt.skipped).toEqual([{ choice: 'gpu', packageName: GPU, reason: 'not installed' }]);
  });

  it('the cpu backend gets the kernels that make its training faster, and says so', async () => {
    const rt = await loadTf({ backends: ['cpu'], log: false });
    expect(rt.fastKernels).toEqual(['Conv2DBackpropFilter', 'MaxPoolGrad', 'LRNGrad', 'Sum']);
    expect(rt.summary).toBe(
      "inqueue: TensorFlow.js backend 'cpu' from @tensorflow/tfjs with inqueue's fast Conv2DBackpropFilter, MaxPoolGrad, LRNGrad, Sum kernels",
    );
  });

  it('rejects bad candidate lists, naming where they came from', async () => {
    await expect(loadTf({ backends: [], log: false })).rejects.toThrow(InvalidArgumentError);
    resetTfForTests();
    await expect(loadTf({ backends: ['tpu' as never], log: false })).rejects.toThrow(
      /Expected a list of gpu, node, wasm, cpu for backends but received \["tpu"\]/,
    );
    resetTfForTests();
    process.env.INQUEUE_TF_BACKEND = 'tpu';
    await expect(loadTf({ log: false })).rejects.toThrow(/for INQUEUE_TF_BACKEND/);
  });

  it('loads once: later calls return the same runtime, and the summary goes to console.error by default', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const first = await loadTf({ backends: ['cpu'] });
      const second = await loadTf({ log: false });
      expect(second).toBe(first);
      expect(await loadTf({ backends: ['wasm', 'cpu'] })).toBe(first);
      // tfjs keeps one backend per process: forcing another one later is an error, not a silent no.
      await expect(loadTf({ backends: ['wasm'], log: false })).rejects.toThrow(/already loaded with 'cpu'/);
      expect(currentRuntime()).toBe(first);
      expect(error).toHaveBeenCalledTimes(1);
      expect(error).toHaveBeenCalledWith(first.summary);
    } finally {
      error.mockRestore();
    }
    resetTfForTests();
    expect(() => currentRuntime()).toThrow(InputError);
  });
});
