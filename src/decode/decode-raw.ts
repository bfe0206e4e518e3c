import { DecodeError, invalidArgument } from '../core/errors.js';
import { allocate, bytesPerElement, DTYPES, type DType, type Tensor } from '../core/tensor.js';
import { booleanOption, objectOption } from '../core/validate.js';

const STAGE = 'decodeRaw';
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * TF's `decode_raw`: reinterprets bytes as a 1-D tensor of `dtype`, `[bytes.length / size]`. The
 * result always owns its data (a copy), so it never pins the reader's chunk; bytes are swapped when
 * `littleEndian` differs from the host.
 */
export function decodeRaw<D extends DType>(
  bytes: Uint8Array,
  dtype: D,
  options: { littleEndian?: boolean } = {},
): Tensor<D> {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('bytes', 'a Uint8Array', bytes, STAGE);
  if (!DTYPES.includes(dtype)) throw invalidArgument('dtype', `one of ${DTYPES.join(', ')}`, dtype, STAGE);
  const littleEndian = booleanOption(
    STAGE,
    'littleEndian',
    objectOption(STAGE, 'options', options).littleEndian,
    true,
  );
  const size = bytesPerElement(dtype);
  if (bytes.length % size !== 0) {
    throw new DecodeError(
      `${STAGE}: Expected a length that is a multiple of ${size} (the size of ${dtype}) for bytes but received ${bytes.length} bytes`,
      { parameter: 'bytes', stage: STAGE },
    );
  }
  const out = allocate(dtype, bytes.length / size);
  const outBytes = new Uint8Array(out.buffer);
  outBytes.set(bytes);
  if (size > 1 && littleEndian !== HOST_LITTLE_ENDIAN) {
    for (let i = 0; i < outBytes.length; i += size) outBytes.subarray(i, i + size).reverse();
  }
  return { dtype, shape: [out.length], data: out };
}
