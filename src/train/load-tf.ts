/**
 * Run-time choice of the TensorFlow.js backend. tfjs-node(-gpu) download libtensorflow when they are
 * installed, which fails offline, so they are optional: loadTf tries, in order, tfjs-node-gpu,
 * tfjs-node, @tensorflow/tfjs with the wasm backend, then @tensorflow/tfjs on its cpu backend, keeps
 * the first that loads, and says once which one runs and why the better ones did not. It then registers
 * inqueue's fast training kernels for that backend (conv-gradient-kernels.ts): the wasm backend cannot
 * train a CNN without them, and the cpu backend trains cifar10Cnn ~15x faster with them. It also
 * registers inqueue's layer classes, so saved models that use them load.
 */
import { InputError, invalidArgument } from '../core/errors.js';
import { registerConvGradientKernels } from './conv-gradient-kernels.js';
import { registerCustomLayers } from './models.js';

/** The tfjs namespace in use (tfjs-node re-exports the whole of @tensorflow/tfjs). */
export type TfNamespace = typeof import('@tensorflow/tfjs');

export type TfBackendChoice = 'gpu' | 'node' | 'wasm' | 'cpu';

export const BACKEND_ORDER: readonly TfBackendChoice[] = ['gpu', 'node', 'wasm', 'cpu'];

export interface TfRuntime {
  tf: TfNamespace;
  /** Which candidate loaded. */
  choice: TfBackendChoice;
  /** The package that provides it. */
  packageName: string;
  /** tfjs's backend name (`tensorflow`, `wasm` or `cpu`). */
  backendName: string;
  /** The better candidates that failed, with why. */
  skipped: { choice: TfBackendChoice; packageName: string; reason: string }[];
  /**
   * Kernels inqueue registered for this backend because it lacks them or its own are slow (on wasm:
   * `Conv2DBackpropFilter`, `Conv2DBackpropInput`; see conv-gradient-kernels.ts).
   */
  fastKernels: string[];
  /** One line: what runs and why the better ones did not. */
  summary: string;
}

export interface LoadTfOptions {
  /**
   * Candidates to try, best first (default: the environment variable `INQUEUE_TF_BACKEND` when set,
   * else gpu, node, wasm, cpu). A single choice means exactly that backend or an error.
   */
  backends?: readonly TfBackendChoice[];
  /** Where the summary line goes (default console.error); false for silence. */
  log?: ((line: string) => void) | false;
  /** Module loader, for tests (default dynamic `import`). */
  importer?: (packageName: string) => Promise<unknown>;
}

const PACKAGES: Record<TfBackendChoice, string> = {
  gpu: '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
};

const STAGE = 'loadTf';

let current: TfRuntime | undefined;
let loading: Promise<TfRuntime> | undefined;

/** Loads the best available backend once; later calls return the same runtime. */
export function loadTf(options: LoadTfOptions = {}): Promise<TfRuntime> {
  if (loading && options.backends) {
    // tfjs holds one backend per process: asking later for one that is not the loaded one is an error.
    const wanted = options.backends;
    return loading.then((rt) => {
      if (!wanted.includes(rt.choice)) {
        throw new InputError(
          `${STAGE}: Expected backends ${JSON.stringify(wanted)} but TensorFlow.js is already loaded with '${rt.choice}' in this process`,
          { stage: STAGE, parameter: 'backends' },
        );
      }
      return rt;
    });
  }
  loading ??= load(options).then(
    (rt) => {
      current = rt;
      return rt;
    },
    (err) => {
      loading = undefined;
      throw err;
    },
  );
  return loading;
}

/** The loaded runtime's tfjs namespace; throws when loadTf has not completed. */
export function currentTf(): TfNamespace {
  return currentRuntime().tf;
}

export function currentRuntime(): TfRuntime {
  if (current === undefined) {
    throw new InputError('inqueue: TensorFlow.js is not loaded yet: call `await loadTf()` first', {
      stage: STAGE,
    });
  }
  return current;
}

/** For tests: forget the loaded runtime (the tfjs engine itself stays as it is). */
export function resetTfForTests(): void {
  current = undefined;
  loading = undefined;
}

function candidates(options: LoadTfOptions): readonly TfBackendChoice[] {
  const fromEnv = process.env.INQUEUE_TF_BACKEND;
  const list = options.backends ?? (fromEnv ? fromEnv.split(',').map((s) => s.trim()) : BACKEND_ORDER);
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidArgument('backends', `a non-empty list of ${BACKEND_ORDER.join(', ')}`, list, STAGE);
  }
  for (const c of list) {
    if (!BACKEND_ORDER.includes(c as TfBackendChoice)) {
      const name = options.backends ? 'backends' : 'INQUEUE_TF_BACKEND';
      throw invalidArgument(name, `a list of ${BACKEND_ORDER.join(', ')}`, list, STAGE);
    }
  }
  return list as TfBackendChoice[];
}

async function load(options: LoadTfOptions): Promise<TfRuntime> {
  const importer = options.importer ?? ((name: string) => import(name));
  const skipped: TfRuntime['skipped'] = [];
  for (const choice of candidates(options)) {
    const packageName = PACKAGES[choice];
    try {
      const rt = await tryBackend(choice, importer);
      const fastKernels = registerConvGradientKernels(rt.tf, rt.backendName);
      registerCustomLayers(rt.tf);
      const why = skipped.map((s) => `${s.packageName}: ${s.reason}`).join('; ');
      const fast = fastKernels.length > 0 ? ` with inqueue's fast ${fastKernels.join(', ')} kernels` : '';
      const summary = `inqueue: TensorFlow.js backend '${rt.backendName}' from ${packageName}${fast}${why ? ` (skipped ${why})` : ''}`;
      const runtime: TfRuntime = { ...rt, choice, packageName, skipped, fastKernels, summary };
      if (options.log !== false) (options.log ?? console.error)(summary);
      return runtime;
    } catch (err) {
      skipped.push({ choice, packageName, reason: firstLine(err) });
    }
  }
  throw new InputError(
    `${STAGE}: Expected one of ${skipped.map((s) => s.packageName).join(', ')} to load but none did: ${skipped
      .map((s) => `${s.packageName}: ${s.reason}`)
      .join('; ')}`,
    { stage: STAGE },
  );
}

async function tryBackend(
  choice: TfBackendChoice,
  importer: (packageName: string) => Promise<unknown>,
): Promise<{ tf: TfNamespace; backendName: string }> {
  if (choice === 'gpu' || choice === 'node') {
    // tfjs-node(-gpu) registers and selects its 'tensorflow' backend when imported.
    const tf = (await importer(PACKAGES[choice])) as TfNamespace;
    await setBackend(tf, 'tensorflow');
    return { tf, backendName: 'tensorflow' };
  }
  const tf = (await importer('@tensorflow/tfjs')) as TfNamespace;
  if (choice === 'wasm') await importer(PACKAGES.wasm);
  await setBackend(tf, choice);
  return { tf, backendName: choice };
}

async function setBackend(tf: TfNamespace, name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend '${name}' failed to initialize`);
  await tf.ready();
}

function firstLine(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') return 'not installed';
  return String(e?.message ?? err).split('\n')[0];
}
