// The hot loop of distortCifar for raw CIFAR records, compiled to WebAssembly (SIMD128) by
// scripts/build-wasm.sh. Same closed form and the same double-precision arithmetic as the
// JavaScript path in src/image/distort-cifar.ts, so both give identical float32 outputs.
#include <stdint.h>

#define PLANE 1024
#define SIDE 32

extern unsigned char __heap_base;

// A bump region the JavaScript side manages: it asks for its buffers once.
__attribute__((export_name("heap_base"))) uintptr_t heap_base(void) { return (uintptr_t)&__heap_base; }

// One record (planes start at `planes`), crop (oy, ox) of size x size, flip, brightness delta,
// contrast factor; writes size*size*3 floats (HWC) to out.
static void distort_one(const uint8_t *planes, int size, int oy, int ox, int flip, double delta, double factor,
                        float *out) {
  const uint8_t *r0 = planes + oy * SIDE + ox;
  int32_t s[3] = {0, 0, 0}, q[3] = {0, 0, 0};
  for (int c = 0; c < 3; c++) {
    const uint8_t *p = r0 + c * PLANE;
    int32_t sc = 0, qc = 0;
    for (int y = 0; y < size; y++, p += SIDE)
      for (int x = 0; x < size; x++) {
        int32_t v = p[x];
        sc += v;
        qc += v * v;
      }
    s[c] = sc;
    q[c] = qc;
  }
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
  const double a = factor / adj;
  for (int c = 0; c < 3; c++) b[c] = ((1 - factor) * (s[c] / n) + delta - mean) / adj;
  for (int y = 0; y < size; y++) {
    const uint8_t *rr = r0 + y * SIDE, *gg = rr + PLANE, *bb = gg + PLANE;
    float *o = out + y * size * 3;
    if (flip) {
      for (int x = 0; x < size; x++) {
        int sx = size - 1 - x;
        o[3 * x] = (float)(a * rr[sx] + b[0]);
        o[3 * x + 1] = (float)(a * gg[sx] + b[1]);
        o[3 * x + 2] = (float)(a * bb[sx] + b[2]);
      }
    } else {
      for (int x = 0; x < size; x++) {
        o[3 * x] = (float)(a * rr[x] + b[0]);
        o[3 * x + 1] = (float)(a * gg[x] + b[1]);
        o[3 * x + 2] = (float)(a * bb[x] + b[2]);
      }
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
