/**
 * Linear min..max → 0..255 over the finite values, rounded; +Infinity → 255, -Infinity and NaN → 0;
 * an image whose finite values are all equal gets `constantValue` (encodePng's 'minmax' uses 0,
 * inspection uses mid-grey).
 */
export function minMaxToUint8(data: ArrayLike<number>, constantValue: number): Uint8Array {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min && v > Number.NEGATIVE_INFINITY) min = v;
    if (v > max && v < Number.POSITIVE_INFINITY) max = v;
  }
  const out = new Uint8Array(data.length);
  const constant = !(max > min);
  const scale = constant ? 0 : 255 / (max - min);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v === Number.POSITIVE_INFINITY) out[i] = 255;
    else if (!(v > Number.NEGATIVE_INFINITY)) out[i] = 0;
    else out[i] = constant ? constantValue : Math.round((v - min) * scale);
  }
  return out;
}
