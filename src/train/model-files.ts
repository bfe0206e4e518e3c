/**
 * Model and tensor files without tfjs-node. tfjs's `file://` handler lives in tfjs-node, which is not
 * installable offline, so models are saved through `tf.io.withSaveHandler` and loaded through
 * `tf.io.fromMemory`, in the folder layout the `file://` handler uses (model.json with a
 * weightsManifest, then the weight files it names): a folder written here loads with tfjs-node's
 * `tf.loadLayersModel('file://dir/model.json')`, and converter / tfjs-node folders (several weight
 * shards included) load here.
 *
 * Every file is written under a temporary name and renamed into place, so a crash never leaves a
 * half-written file under the final name; the weights are renamed before model.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { DecodeError, InputError, invalidArgument, NotFoundError } from '../core/errors.js';
import { currentTf } from './load-tf.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Writes `data` to `file` through a temporary file in the same folder and a rename. */
export async function writeFileAtomically(file: string, data: string | Uint8Array): Promise<void> {
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, data);
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}

/**
 * Saves `model`'s topology and weights into `dir` (created if needed) as `model.json` + `weights.bin`.
 * Weights are written in `model.weights` order (trainable and non-trainable).
 */
export async function saveModel(model: tfjs.LayersModel, dir: string): Promise<void> {
  const stage = 'saveModel';
  if (!isLayersModel(model)) throw invalidArgument('model', 'a tf.LayersModel', model, stage);
  if (typeof dir !== 'string' || dir === '') throw invalidArgument('dir', 'a folder path', dir, stage);
  const tf = currentTf();
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? []));
      const json: tfjs.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata;
      await writeFileAtomically(join(dir, WEIGHTS_BIN), weights);
      await writeFileAtomically(join(dir, MODEL_JSON), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/** Loads a model saved by `saveModel` (or by tfjs-node / tfjs-converter) from `dir` or its model.json. */
export async function loadModel(dir: string): Promise<tfjs.LayersModel> {
  const stage = 'loadModel';
  const { file, json, specs, weights } = await readModelFolder(dir, stage);
  const tf = currentTf();
  try {
    return await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: weights.buffer as ArrayBuffer,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        trainingConfig: json.trainingConfig,
        userDefinedMetadata: json.userDefinedMetadata,
      }),
    );
  } catch (err) {
    throw new DecodeError(
      `${stage}: ${file} does not describe a loadable tfjs LayersModel: ${message(err)}`,
      {
        stage,
        file,
        cause: err,
      },
    );
  }
}

/**
 * Reads the weights saved in `dir` into an existing `model` of the same architecture, by position in
 * `model.weights` (layer names differ between two instances of the same architecture built in one
 * process, so names cannot be matched). Every count and shape is checked before any weight changes.
 */
export async function loadWeightsInto(model: tfjs.LayersModel, dir: string): Promise<void> {
  const stage = 'loadWeightsInto';
  if (!isLayersModel(model)) throw invalidArgument('model', 'a tf.LayersModel', model, stage);
  const { file, specs, weights } = await readModelFolder(dir, stage);
  const tf = currentTf();
  const targets = model.weights;
  if (specs.length !== targets.length) {
    throw new DecodeError(
      `${stage}: ${file} lists ${specs.length} weights but the model has ${targets.length}: the saved model has another architecture`,
      { stage, file },
    );
  }
  specs.forEach((spec, i) => {
    const want = targets[i].shape;
    if (spec.shape.length !== want.length || spec.shape.some((d, j) => d !== want[j])) {
      throw new DecodeError(
        `${stage}: weight ${i} (${spec.name}) in ${file} has shape [${spec.shape.join(', ')}] but the model's weight ${i} ` +
          `(${targets[i].originalName}) has shape [${want.join(', ')}]`,
        { stage, file },
      );
    }
  });
  const decoded = tf.io.decodeWeights(weights.buffer as ArrayBuffer, specs);
  try {
    // decodeWeights keys by name; the manifest's names are unique within one model. Assigning the
    // variable directly (not LayerVariable.write) skips weight constraints: a restore is bit-exact.
    targets.forEach((target, i) => {
      (target.read() as tfjs.Variable).assign(decoded[specs[i].name]);
    });
  } finally {
    tf.dispose(Object.values(decoded));
  }
}

interface ModelFolder {
  file: string;
  json: tfjs.io.ModelJSON;
  specs: tfjs.io.WeightsManifestEntry[];
  weights: Uint8Array;
}

async function readModelFolder(path: string, stage: string): Promise<ModelFolder> {
  if (typeof path !== 'string' || path === '') throw invalidArgument('dir', 'a folder path', path, stage);
  const isJson = path.endsWith('.json') && (await isFile(path));
  const file = isJson ? path : join(path, MODEL_JSON);
  const dir = isJson ? join(path, '..') : path;
  const text = await readOrThrow(file, stage, `a model folder with ${MODEL_JSON}`);
  let json: tfjs.io.ModelJSON;
  try {
    json = JSON.parse(text.toString('utf8'));
  } catch (err) {
    throw new DecodeError(`${stage}: ${file} is not valid JSON: ${message(err)}`, {
      stage,
      file,
      cause: err,
    });
  }
  if (typeof json !== 'object' || json === null || typeof json.modelTopology !== 'object') {
    throw new DecodeError(`${stage}: Expected a modelTopology object in ${file} but it has none`, {
      stage,
      file,
    });
  }
  const manifest = json.weightsManifest;
  if (
    !Array.isArray(manifest) ||
    manifest.some((g) => !Array.isArray(g?.paths) || !Array.isArray(g?.weights))
  ) {
    throw new DecodeError(
      `${stage}: Expected a weightsManifest (a list of { paths, weights }) in ${file} but received ${JSON.stringify(manifest)?.slice(0, 80)}`,
      { stage, file },
    );
  }
  const specs = manifest.flatMap((g) => g.weights);
  const parts: Uint8Array[] = [];
  for (const group of manifest) {
    for (const p of group.paths) {
      if (typeof p !== 'string' || isAbsolute(p) || normalize(p).split(sep).includes('..')) {
        throw new DecodeError(
          `${stage}: ${file} names a weights file outside its folder: ${JSON.stringify(p)}`,
          {
            stage,
            file,
          },
        );
      }
      parts.push(await readOrThrow(join(dir, p), stage, `the weights file that ${file} names`));
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const expected = expectedWeightBytes(specs);
  if (expected !== undefined && expected !== total) {
    const names = manifest.flatMap((g) => g.paths).join(', ');
    throw new DecodeError(
      `${stage}: ${names} in ${dir} hold ${total} bytes but the weightsManifest of ${file} describes ${expected}`,
      { stage, file: join(dir, manifest[0]?.paths[0] ?? WEIGHTS_BIN) },
    );
  }
  const weights = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    weights.set(p, at);
    at += p.length;
  }
  return { file, json, specs, weights };
}

const SPEC_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Bytes the manifest's weights occupy; undefined when a string weight makes it unknowable up front. */
function expectedWeightBytes(specs: tfjs.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const s of specs) {
    const dtype = s.quantization?.dtype ?? s.dtype;
    const bytes = SPEC_BYTES[dtype];
    if (bytes === undefined) return undefined;
    total += s.shape.reduce((n, d) => n * d, 1) * bytes;
  }
  return total;
}

// --- Named tensors: optimizer state, moving averages ---------------------------------------------

/**
 * File layout: a 4-byte little-endian header length, the UTF-8 JSON header
 * `{ format, version, tensors: [{ name, dtype, shape, offset, byteLength }] }` padded with spaces to a
 * multiple of 4, then each tensor's raw bytes (float32 or int32, host order, little-endian on every
 * platform Node supports) at its offset from the end of the header.
 */
/** A tensor with a name, as `tf.Optimizer.getWeights()` returns them. */
export interface NamedTensor {
  name: string;
  tensor: tfjs.Tensor;
}

const NAMED_TENSORS_FORMAT = 'inqueue-named-tensors';

interface NamedTensorHeader {
  format: string;
  version: number;
  tensors: {
    name: string;
    dtype: 'float32' | 'int32';
    shape: number[];
    offset: number;
    byteLength: number;
  }[];
}

/** Writes tensors (float32 or int32) with their names into one file. */
export async function saveNamedTensors(tensors: readonly NamedTensor[], file: string): Promise<void> {
  const stage = 'saveNamedTensors';
  if (!Array.isArray(tensors))
    throw invalidArgument('tensors', 'an array of { name, tensor }', tensors, stage);
  if (typeof file !== 'string' || file === '') throw invalidArgument('file', 'a file path', file, stage);
  const header: NamedTensorHeader = { format: NAMED_TENSORS_FORMAT, version: 1, tensors: [] };
  const datas: Uint8Array[] = [];
  let offset = 0;
  for (const [i, entry] of tensors.entries()) {
    const t = entry?.tensor;
    if (typeof entry?.name !== 'string' || t === undefined || typeof t.dataSync !== 'function') {
      throw invalidArgument(`tensors[${i}]`, 'a { name: string, tensor: tf.Tensor }', entry, stage);
    }
    if (t.dtype !== 'float32' && t.dtype !== 'int32') {
      throw invalidArgument(`tensors[${i}] (${entry.name})`, 'a float32 or int32 tensor', t.dtype, stage);
    }
    const values = (await t.data()) as Float32Array | Int32Array;
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    header.tensors.push({
      name: entry.name,
      dtype: t.dtype,
      shape: t.shape.slice(),
      offset,
      byteLength: bytes.length,
    });
    datas.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((4 - (Buffer.byteLength(json) % 4)) % 4);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.allocUnsafe(4 + head.length + offset);
  out.writeUInt32LE(head.length, 0);
  head.copy(out, 4);
  let at = 4 + head.length;
  for (const d of datas) {
    out.set(d, at);
    at += d.length;
  }
  await writeFileAtomically(file, out);
}

/** Reads what `saveNamedTensors` wrote; the caller owns (and disposes) the returned tensors. */
export async function loadNamedTensors(file: string): Promise<NamedTensor[]> {
  const stage = 'loadNamedTensors';
  if (typeof file !== 'string' || file === '') throw invalidArgument('file', 'a file path', file, stage);
  const buf = await readOrThrow(file, stage, 'a named-tensors file');
  const corrupt = (why: string) =>
    new DecodeError(`${stage}: ${file} is not a named-tensors file written by saveNamedTensors: ${why}`, {
      stage,
      file,
    });
  if (buf.length < 4) throw corrupt(`it holds only ${buf.length} bytes`);
  const headLength = buf.readUInt32LE(0);
  if (headLength > buf.length - 4)
    throw corrupt(`its header claims ${headLength} bytes of ${buf.length - 4}`);
  let header: NamedTensorHeader;
  try {
    header = JSON.parse(buf.subarray(4, 4 + headLength).toString('utf8'));
  } catch (err) {
    throw corrupt(`its header is not JSON (${message(err)})`);
  }
  if (header?.format !== NAMED_TENSORS_FORMAT || header.version !== 1 || !Array.isArray(header.tensors)) {
    throw corrupt(`its header names format ${JSON.stringify(header?.format)} version ${header?.version}`);
  }
  const body = buf.subarray(4 + headLength);
  const described = header.tensors.reduce((n, t) => n + (t?.byteLength ?? 0), 0);
  if (described !== body.length) {
    throw new DecodeError(
      `${stage}: ${file} holds ${body.length} bytes of tensor data but its header describes ${described}`,
      { stage, file },
    );
  }
  const tf = currentTf();
  const out: NamedTensor[] = [];
  for (const t of header.tensors) {
    const size = Array.isArray(t.shape) ? t.shape.reduce((n, d) => n * d, 1) : Number.NaN;
    if (
      (t.dtype !== 'float32' && t.dtype !== 'int32') ||
      size * 4 !== t.byteLength ||
      t.offset + t.byteLength > body.length
    ) {
      tf.dispose(out.map((o) => o.tensor));
      throw corrupt(
        `its entry ${JSON.stringify(t.name)} is inconsistent (dtype ${t.dtype}, shape ${JSON.stringify(t.shape)}, ${t.byteLength} bytes)`,
      );
    }
    // Copy: the file buffer's offset need not be 4-byte aligned.
    const bytes = body.slice(t.offset, t.offset + t.byteLength);
    const values =
      t.dtype === 'float32'
        ? new Float32Array(bytes.buffer, bytes.byteOffset, size)
        : new Int32Array(bytes.buffer, bytes.byteOffset, size);
    out.push({ name: t.name, tensor: tf.tensor(values, t.shape, t.dtype) });
  }
  return out;
}

// --- helpers ---------------------------------------------------------------------------------------

export function isLayersModel(value: unknown): value is tfjs.LayersModel {
  const m = value as Partial<tfjs.LayersModel> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.predict === 'function' &&
    typeof m.save === 'function' &&
    Array.isArray(m.weights)
  );
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function readOrThrow(file: string, stage: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new NotFoundError(
        `${stage}: Expected ${what} at ${file} but ${code === 'EISDIR' ? 'it is a folder' : 'it does not exist'}`,
        {
          stage,
          file,
          cause: err,
        },
      );
    }
    throw new InputError(`${stage}: cannot read ${file}: ${message(err)}`, { stage, file, cause: err });
  }
}

function message(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
