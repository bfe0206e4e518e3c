// The hot loop of distortCifar for raw CIFAR records, compiled to WebAssembly (SIMD128) by
// scripts/build-wasm.sh. Same closed form and the same double-precision arithmetic as the
// JavaScript path in src/image/distort-cifar.ts, so both give identical float32 outputs. Needs
// -ffp-contract=off: a fused multiply-add would round once where JavaScript rounds twice.
#include <stdint.h>
#include <wasm_simd128.h>

#define PLANE 1024
#define SIDE 32

extern unsigned char __heap_base;

// A bump region the JavaScript side manages: it asks for its buffers once.
__attribute__((export_name("heap_base"))) uintptr_t heap_base(void) { return (uintptr_t)&__heap_base; }

// Sum and sum of squares of a size x size window of one plane (rows SIDE apart), 8 pixels a step.
static void window_sums(const uint8_t *p, int size, int32_t *sum, int32_t *squares) {
  v128_t s = wasm_i32x4_splat(0), q = wasm_i32x4_splat(0);
  int32_t ss = 0, qq = 0;
  for (int y = 0; y < size; y++, p += SIDE) {
    int x = 0;
    for (; x + 8 <= size; x += 8) {
      v128_t v = wasm_u16x8_extend_low_u8x16(wasm_v128_load64_zero(p + x));
      s = wasm_i32x4_add(s, wasm_u32x4_extadd_pairwise_u16x8(v));
      q = wasm_i32x4_add(q, wasm_i32x4_dot_i16x8(v, v));
    }
    for (; x < size; x++) {
      int32_t v = p[x];
      ss += v;
      qq += v * v;
    }
  }
  *sum = ss + wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 1) + wasm_i32x4_extract_lane(s, 2) +
         wasm_i32x4_extract_lane(s, 3);
  *squares = qq + wasm_i32x4_extract_lane(q, 0) + wasm_i32x4_extract_lane(q, 1) + wasm_i32x4_extract_lane(q, 2) +
             wasm_i32x4_extract_lane(q, 3);
}

// Four bytes as float32 lanes, exactly: the bits of 2^23 + v as a float, minus 2^23. (clang turns
// the widening convert into four scalar conversions; this stays in the vector unit.)
static inline v128_t four(const uint8_t *p) {
  v128_t v = wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(p)));
  return wasm_f32x4_sub(wasm_v128_or(v, wasm_i32x4_splat(0x4B000000)), wasm_f32x4_splat(8388608.0f));
}

// One record (planes start at `planes`), crop (oy, ox) of size x size, flip, brightness delta,
// contrast factor; writes size*size*3 floats (HWC) to out. The closed form (a, b) is computed in
// double precision; the per-pixel a*x + b_c in float32 (multiply, round, add, round: what the
// JavaScript path computes with Math.fround, so both give identical outputs), four pixels a step.
static void distort_one(const uint8_t *planes, int size, int oy, int ox, int flip, double delta, double factor,
                        float *out) {
  const uint8_t *r0 = planes + oy * SIDE + ox;
  int32_t s[3], q[3];
  for (int c = 0; c < 3; c++) window_sums(r0 + c * PLANE, size, &s[c], &q[c]);
  const double n = (double)size * size;
  double mean = 0, mean_sq = 0, b[3];
  for (int c = 0; c < 3; c++) {
    double m = s[c] / n, var = q[c] / n - m * m, shifted = m + delta;
    mean += shifted / 3;
    mean_sq += (factor * factor * var + shifted * shifted) / 3;
  }
  double var_all = mean_sq - mean * mean;
  if (var_all < 0) var_all = 0;
  double sd = __builtin_sqrt(var_all);
  const double min_sd = (double)(float)(1.0 / __builtin_sqrt(n * 3));
  double adj = sd > min_sd ? sd : min_sd;
  const float a = (float)(factor / adj);
  for (int c = 0; c < 3; c++) b[c] = ((1 - factor) * (s[c] / n) + delta - mean) / adj;
  const float b0 = (float)b[0], b1 = (float)b[1], b2 = (float)b[2];
  const v128_t va = wasm_f32x4_splat(a), vb0 = wasm_f32x4_splat(b0), vb1 = wasm_f32x4_splat(b1),
               vb2 = wasm_f32x4_splat(b2);
  for (int y = 0; y < size; y++) {
    const uint8_t *rr = r0 + y * SIDE, *gg = rr + PLANE, *bb = gg + PLANE;
    float *o = out + y * size * 3;
    int x = 0;
    for (; x + 4 <= size; x += 4, o += 12) {
      v128_t r, g, bl;
      if (flip) {
        // Output columns x..x+3 come from source columns size-1-x down to size-4-x.
        const int sx = size - 4 - x;
        r = wasm_i32x4_shuffle(four(rr + sx), four(rr + sx), 3, 2, 1, 0);
        g = wasm_i32x4_shuffle(four(gg + sx), four(gg + sx), 3, 2, 1, 0);
        bl = wasm_i32x4_shuffle(four(bb + sx), four(bb + sx), 3, 2, 1, 0);
      } else {
        r = four(rr + x);
        g = four(gg + x);
        bl = four(bb + x);
      }
      r = wasm_f32x4_add(wasm_f32x4_mul(va, r), vb0);
      g = wasm_f32x4_add(wasm_f32x4_mul(va, g), vb1);
      bl = wasm_f32x4_add(wasm_f32x4_mul(va, bl), vb2);
      // Planar to interleaved: [r0 g0 b0 r1] [g1 b1 r2 g2] [b2 r3 g3 b3].
      v128_t rg = wasm_i32x4_shuffle(r, g, 0, 4, 1, 5);
      v128_t gb = wasm_i32x4_shuffle(g, bl, 1, 5, 2, 6);
      v128_t rg3 = wasm_i32x4_shuffle(r, g, 3, 7, 3, 7);
      wasm_v128_store(o, wasm_i32x4_shuffle(rg, bl, 0, 1, 4, 2));
      wasm_v128_store(o + 4, wasm_i32x4_shuffle(gb, r, 0, 1, 6, 2));
      wasm_v128_store(o + 8, wasm_i32x4_shuffle(bl, rg3, 2, 4, 5, 3));
    }
    for (; x < size; x++, o += 3) {
      const int sx = flip ? size - 1 - x : x;
      o[0] = a * (float)rr[sx] + b0;
      o[1] = a * (float)gg[sx] + b1;
      o[2] = a * (float)bb[sx] + b2;
    }
  }
}

// `count` records, `stride` bytes apart, planes at `planes_offset` in each; per-record parameters in
// arrays; outputs back to back.
__attribute__((export_name("distort_records"))) void distort_records(const uint8_t *records, int count, int stride,
                                                                      int planes_offset, int size, const int32_t *oy,
                                                                      const int32_t *ox, const uint8_t *flip,
                                                                      const double *delta, const double *factor,
                                                                      float *out) {
  const int per = size * size * 3;
  for (int i = 0; i < count; i++)
    distort_one(records + i * stride + planes_offset, size, oy[i], ox[i], flip[i], delta[i], factor[i], out + i * per);
}

// `count` records anywhere in memory (record i at records + offsets[i], e.g. slots of a shuffle pool
// held in this memory), planes at `planes_offset` in each; otherwise as distort_records.
__attribute__((export_name("distort_gather"))) void distort_gather(const uint8_t *records, const int32_t *offsets,
                                                                    int count, int planes_offset, int size,
                                                                    const int32_t *oy, const int32_t *ox,
                                                                    const uint8_t *flip, const double *delta,
                                                                    const double *factor, float *out) {
  const int per = size * size * 3;
  for (int i = 0; i < count; i++)
    distort_one(records + offsets[i] + planes_offset, size, oy[i], ox[i], flip[i], delta[i], factor[i],
                out + i * per);
}
