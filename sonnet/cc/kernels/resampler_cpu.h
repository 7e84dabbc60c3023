// CPU loops of the Resampler and ResamplerGrad kernels.
//
// Like resampler_math.h, this header needs no TensorFlow header: the kernel
// (resampler_op.cc) calls ForwardPoints / GradBatches on ranges of the work,
// and the standalone harness (sonnet/cc/tests/resampler_cpu_check.cc) checks
// and times exactly the same code.
//
// Determinism: every path computes an output element with the same
// operations in the same order. No multiply-add may be fused: every build
// passes -ffp-contract=off (the AVX-512 target includes FMA; the AVX2 target
// here does not), and the tests compare all instruction sets bit for bit,
// which a fused build would fail. Forward results are therefore identical
// to ReferenceForward whatever the instruction set or the split of points
// between threads. The gradient splits each point's warp-gradient sum over
// channels into kLanes interleaved partial sums (so that the channel loop
// vectorizes), the same way on every path.
#ifndef SONNET_CC_KERNELS_RESAMPLER_CPU_H_
#define SONNET_CC_KERNELS_RESAMPLER_CPU_H_

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

#include "sonnet/cc/kernels/resampler_math.h"

#if defined(__GNUC__)
#define SONNET_RS_PREFETCH(p) __builtin_prefetch(p)
#else
#define SONNET_RS_PREFETCH(p) ((void)(p))
#endif

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define SONNET_RS_X86 1
#define SONNET_RS_INLINE inline __attribute__((always_inline))
#define SONNET_RS_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define SONNET_RS_X86 0
#define SONNET_RS_INLINE inline
#define SONNET_RS_LIKELY(x) (x)
#endif

namespace sonnet {
namespace resampler {

// Sizes of one call: data [batch, height, width, channels], warp
// [batch, points, 2], output [batch, points, channels].
struct Dims {
  int64_t batch = 0, height = 0, width = 0, channels = 0, points = 0;
};

// Instruction set of the loops: the baseline x86-64 (or other CPU) build,
// or AVX2 / AVX-512 chosen at run time (the library itself targets the
// baseline that TensorFlow requires). AVX-512 only changes the gather
// forward pass; everything else runs its AVX2 code.
enum class Isa { kBaseline, kAvx2, kAvx512 };

// The widest the CPU has, unless SONNET_RESAMPLER_DISABLE_AVX512 or
// SONNET_RESAMPLER_DISABLE_AVX2 (any value; the latter disables both) is
// set, which lets tests check that all paths agree.
inline Isa BestIsa() {
#if SONNET_RS_X86
  static const Isa isa = [] {
    if (!__builtin_cpu_supports("avx2") ||
        std::getenv("SONNET_RESAMPLER_DISABLE_AVX2") != nullptr) {
      return Isa::kBaseline;
    }
    if (!__builtin_cpu_supports("avx512f") ||
        std::getenv("SONNET_RESAMPLER_DISABLE_AVX512") != nullptr) {
      return Isa::kAvx2;
    }
    return Isa::kAvx512;
  }();
  return isa;
#else
  return Isa::kBaseline;
#endif
}

// ------------------------------------------------------------- forward ----

// One point through the general path (any position, NaN included): writes
// the C channels of `o`. Same sums as the interior path, in the same order.
template <typename T, typename A>
SONNET_RS_INLINE void ForwardPointGeneral(const T* image, A x, A y,
                                          int64_t height, int64_t width,
                                          int64_t channels, T* o) {
  Sample<A> s;
  if (MakeSample<A>(x, y, height, width, channels, &s)) {
    for (int64_t c = 0; c < channels; ++c) {
      o[c] = static_cast<T>(SampleChannel<A>(image, s, c));
    }
  } else {
    for (int64_t c = 0; c < channels; ++c) o[c] = T(0);
  }
}

// Corner reads follow a rotated, scaled grid, which the hardware prefetchers
// do not predict: the loops prefetch the 2x2 patch of a point some way
// ahead. kWholePairs: every cache line of its two pixel pairs (wide
// pixels); otherwise the first line of each (narrow pixels, where the next
// step's prefetch covers the rest). The point is clamped into the image (NaN
// to 0) and the lines to the image's end, so every address is inside it.
template <bool kWholePairs, typename T, typename A>
SONNET_RS_INLINE void PrefetchPatch(const T* image, A x, A y, int64_t height,
                                    int64_t width, int64_t channels) {
  if (height <= 0 || width <= 0 || channels <= 0) return;
  const A x_max = static_cast<A>(width - 1);
  const A y_max = static_cast<A>(height - 1);
  x = x > A(0) ? (x < x_max ? x : x_max) : A(0);  // NaN -> 0.
  y = y > A(0) ? (y < y_max ? y : y_max) : A(0);
  const int64_t fx = std::min(static_cast<int64_t>(x), width - 1);
  const int64_t fy = std::min(static_cast<int64_t>(y), height - 1);
  const int64_t row = width * channels;
  const T* patch = image + (fy * width + fx) * channels;
  const T* below = fy + 1 < height ? patch + row : patch;
  if (!kWholePairs) {
    SONNET_RS_PREFETCH(patch);
    SONNET_RS_PREFETCH(below);
    return;
  }
  const T* image_end = image + height * row;
  for (const T* pair : {patch, below}) {
    const char* begin = reinterpret_cast<const char*>(pair);
    const char* last =
        reinterpret_cast<const char*>(std::min(pair + 2 * channels,
                                               image_end)) - 1;
    for (const char* p = begin; p < last; p += 64) SONNET_RS_PREFETCH(p);
    SONNET_RS_PREFETCH(last);
  }
}

// Forward pass for flat points [start, limit), one point at a time. Interior
// points (all four corners inside, the common case) read the 2x2 patch
// directly; others go through ForwardPointGeneral.
//
// `NC` > 0 fixes the channel count at compile time (fully unrolled loops for
// the small counts where a runtime loop costs more than the arithmetic);
// NC == 0 reads it from `d`. Points are walked one batch item at a time so
// the image pointer and bounds are loop invariants.
// `Blocks::Run` may compute the first channels of an interior point with
// vector code (returning how many); the scalar loop does the rest.
struct NoForwardBlocks {
  template <typename T, typename A>
  static SONNET_RS_INLINE int64_t Run(T*, const T*, const T*, const T*,
                                      const T*, const A*, int64_t) {
    return 0;
  }
};

template <typename T, typename A, int NC, typename Blocks = NoForwardBlocks>
SONNET_RS_INLINE void ForwardScalar(const T* data, const T* warp, T* out,
                                    const Dims& d, int64_t start,
                                    int64_t limit) {
  const int64_t C = NC > 0 ? NC : d.channels;
  const int64_t H = d.height, W = d.width;
  const int64_t row = W * C;
  const int64_t image_size = H * row;
  // Same bounds as InteriorSample, hoisted.
  const A x_max = static_cast<A>(W - 1);
  const A y_max = static_cast<A>(H - 1);
  constexpr int64_t kAhead = 8;
  const bool prefetch = NC == 0 && C >= 32;
  int64_t b = start / d.points;
  int64_t i = start;
  while (i < limit) {
    const int64_t segment_end = std::min(limit, (b + 1) * d.points);
    const T* __restrict__ image = data + b * image_size;
    const T* __restrict__ w_in = warp + 2 * i;
    T* __restrict__ o = out + i * C;
    for (; i < segment_end; ++i, w_in += 2, o += C) {
      // Measured no gain from prefetching below 32 channels.
      if (prefetch && i + kAhead < segment_end) {
        PrefetchPatch<true>(image, static_cast<A>(w_in[2 * kAhead]),
                      static_cast<A>(w_in[2 * kAhead + 1]), H, W, C);
      }
      const A x = static_cast<A>(w_in[0]);
      const A y = static_cast<A>(w_in[1]);
      if (x >= A(0) && y >= A(0) && x < x_max && y < y_max) {
        const int64_t fx = static_cast<int64_t>(x);  // x >= 0: floor.
        const int64_t fy = static_cast<int64_t>(y);
        if (SONNET_RS_LIKELY(fx < W - 1 && fy < H - 1)) {  // Float rounding.
          A w[4];
          Weights(x - static_cast<A>(fx), y - static_cast<A>(fy), w);
          const T* __restrict__ pff = image + (fy * W + fx) * C;
          const T* __restrict__ pcf = pff + C;
          const T* __restrict__ pfc = pff + row;
          const T* __restrict__ pcc = pfc + C;
          for (int64_t c = Blocks::Run(o, pff, pcf, pfc, pcc, w, C); c < C;
               ++c) {
            o[c] = static_cast<T>(w[0] * static_cast<A>(pff[c]) +
                                  w[1] * static_cast<A>(pcc[c]) +
                                  w[2] * static_cast<A>(pfc[c]) +
                                  w[3] * static_cast<A>(pcf[c]));
          }
          continue;
        }
      }
      ForwardPointGeneral<T, A>(image, x, y, H, W, C, o);
    }
    ++b;
  }
}

template <typename T, typename A>
SONNET_RS_INLINE void ForwardScalarDispatch(const T* data, const T* warp,
                                            T* out, const Dims& d,
                                            int64_t start, int64_t limit) {
  switch (d.channels) {
    case 1:
      return ForwardScalar<T, A, 1>(data, warp, out, d, start, limit);
    case 2:
      return ForwardScalar<T, A, 2>(data, warp, out, d, start, limit);
    case 3:
      return ForwardScalar<T, A, 3>(data, warp, out, d, start, limit);
    case 4:
      return ForwardScalar<T, A, 4>(data, warp, out, d, start, limit);
    default:
      return ForwardScalar<T, A, 0>(data, warp, out, d, start, limit);
  }
}

#if SONNET_RS_X86
#define SONNET_RS_AVX2_FN __attribute__((target("avx2"))) inline

// Whether ForwardGatherAvx2 handles these sizes: 1-4 channels (wider pixels
// vectorize over channels instead), int32 gather indices, and coordinates
// below 2**24 so that float(W - 1) is exact and x < W - 1 implies
// floor(x) <= W - 2 (the check ForwardScalar makes for larger images).
inline bool GatherPathApplies(const Dims& d) {
  constexpr int64_t kExact = int64_t{1} << 24;
  return d.channels >= 1 && d.channels <= 4 && d.height <= kExact &&
         d.width <= kExact &&
         d.height * d.width * d.channels < (int64_t{1} << 31);
}

// Points ahead whose patch the gather loops prefetch, one per step (see
// PrefetchPatch): the next step's prefetch covers the cache lines this one's
// points reach beyond the first one's patch.
constexpr int64_t kPrefetchAhead = 192;

#ifdef SONNET_RESAMPLER_CHECK_GATHERS
// Debug builds (the harness under ASan, which does not see inside gathers):
// every element an unmasked lane reads, 2 * NC floats from `offset` in this
// row and the next, lies in the image.
inline void CheckGatherOffsets(const int32_t* offset, unsigned mask, int lanes,
                               int64_t row, int64_t nc, int64_t image_size) {
  for (int lane = 0; lane < lanes; ++lane) {
    if (((mask >> lane) & 1) &&
        (offset[lane] < 0 || offset[lane] + row + 2 * nc > image_size)) {
      std::fprintf(stderr, "gather out of the image: offset %d\n",
                   offset[lane]);
      std::abort();
    }
  }
}
#endif

// The gather loop keeps 8 points in "pair order": lanes 0-7 hold points
// 0 1 4 5 2 3 6 7 (what _mm256_shuffle_ps makes of two vectors of pairs).
// kPairOrder[lane] is the point in that lane (and, being its own inverse,
// the lane of that point).
constexpr int kPairOrder[8] = {0, 1, 4, 5, 2, 3, 6, 7};

// Writes NC channel vectors (8 points in pair order) as 8 interleaved
// pixels: o[p * NC + c] = v[c][lane of point p].
template <int NC>
SONNET_RS_AVX2_FN void StorePixels8(const __m256* v, float* o) {
  if (NC == 1) {
    _mm256_storeu_ps(o, _mm256_castpd_ps(_mm256_permute4x64_pd(
                            _mm256_castps_pd(v[0]), 0xD8)));
  } else if (NC == 2) {
    // Lanes 0 1 | 4 5 are points 0 1 | 2 3; lanes 2 3 | 6 7 points 4 5 | 6 7.
    _mm256_storeu_ps(o, _mm256_unpacklo_ps(v[0], v[1]));
    _mm256_storeu_ps(o + 8, _mm256_unpackhi_ps(v[0], v[1]));
  } else if (NC == 3) {
    // Channel a (b, c) of points 0 3 6 1 4 7 2 5 (5 0 3 ..., 2 5 0 ...):
    // then each output vector blends the three with a fixed pattern, e.g.
    // the first is a0 b0 c0 a1 b1 c1 a2 b2. Indices are lanes of points.
    const __m256 a = _mm256_permutevar8x32_ps(
        v[0], _mm256_setr_epi32(0, 5, 6, 1, 2, 7, 4, 3));
    const __m256 b = _mm256_permutevar8x32_ps(
        v[1], _mm256_setr_epi32(3, 0, 5, 6, 1, 2, 7, 4));
    const __m256 c = _mm256_permutevar8x32_ps(
        v[2], _mm256_setr_epi32(4, 3, 0, 5, 6, 1, 2, 7));
    // Blend masks: bit k set takes lane k from the second operand.
    _mm256_storeu_ps(o, _mm256_blend_ps(_mm256_blend_ps(a, b, 0x92), c, 0x24));
    _mm256_storeu_ps(o + 8,
                     _mm256_blend_ps(_mm256_blend_ps(a, b, 0x24), c, 0x49));
    _mm256_storeu_ps(o + 16,
                     _mm256_blend_ps(_mm256_blend_ps(a, b, 0x49), c, 0x92));
  } else {  // NC == 4: 4 x 8 transpose.
    const __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]);  // Points 0 0 1 1 | 2..
    const __m256 t1 = _mm256_unpackhi_ps(v[0], v[1]);  // Points 4 4 5 5 | 6..
    const __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]);
    const __m256 t3 = _mm256_unpackhi_ps(v[2], v[3]);
    const __m256 p02 = _mm256_shuffle_ps(t0, t2, 0x44);  // Pixel 0 | 2.
    const __m256 p13 = _mm256_shuffle_ps(t0, t2, 0xEE);  // Pixel 1 | 3.
    const __m256 p46 = _mm256_shuffle_ps(t1, t3, 0x44);  // Pixel 4 | 6.
    const __m256 p57 = _mm256_shuffle_ps(t1, t3, 0xEE);  // Pixel 5 | 7.
    _mm256_storeu_ps(o, _mm256_permute2f128_ps(p02, p13, 0x20));
    _mm256_storeu_ps(o + 8, _mm256_permute2f128_ps(p02, p13, 0x31));
    _mm256_storeu_ps(o + 16, _mm256_permute2f128_ps(p46, p57, 0x20));
    _mm256_storeu_ps(o + 24, _mm256_permute2f128_ps(p46, p57, 0x31));
  }
}

// Reads one image row of the 2x2 patches of 8 points: the 2 * NC floats of
// pixels (fx, row) and (fx + 1, row), contiguous, as NC 64-bit gathers per
// 4 points (half the loads of gathering single floats). out[f] is float f of
// the pair (f < NC: channel f of the left pixel, else channel f - NC of the
// right one), in pair order. `lo` / `hi` are the element offsets of points
// 0-3 / 4-7 and `mask_lo` / `mask_hi` their 64-bit masks: masked-off points
// read nothing and give 0.
template <int NC>
SONNET_RS_AVX2_FN void GatherRowPairs(const float* row, __m128i lo,
                                      __m128i hi, __m256i mask_lo,
                                      __m256i mask_hi, __m256* out) {
  const __m256i zero = _mm256_setzero_si256();
  for (int j = 0; j < NC; ++j) {
    const long long* base = reinterpret_cast<const long long*>(row + 2 * j);
    const __m256 a = _mm256_castsi256_ps(
        _mm256_mask_i32gather_epi64(zero, base, lo, mask_lo, 4));
    const __m256 b = _mm256_castsi256_ps(
        _mm256_mask_i32gather_epi64(zero, base, hi, mask_hi, 4));
    out[2 * j] = _mm256_shuffle_ps(a, b, 0x88);
    out[2 * j + 1] = _mm256_shuffle_ps(a, b, 0xDD);
  }
}

// Geometry and corner values of 8 points in pair order, for the gather
// loops; everything but `interior` is only meaningful in interior lanes.
template <int NC>
struct Patches8 {
  int interior = 0;  // Bit l set: lane l is an interior point.
  __m256 ax, ay, dx, dy;
  __m256 w[4];  // As Weights(): ff, cc, fc, cf.
  // top / bottom[f]: float f of the pixel pair of row fy / fy + 1 (see
  // GatherRowPairs): ff = top[c], cf = top[NC + c], fc = bottom[c],
  // cc = bottom[NC + c].
  __m256 top[2 * NC], bottom[2 * NC];
  alignas(32) int32_t offset[8];  // Element offset of pixel (fx, fy).
};

// Fills `p` for the 8 points whose (x, y) pairs start at w_in, in an image
// of H x W pixels of NC channels. Returns false, leaving the rest unset,
// when no lane is an interior point.
template <int NC>
SONNET_RS_AVX2_FN bool LoadPatches8(const float* image, const float* w_in,
                                    int64_t H, int64_t W, Patches8<NC>* p) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 v0 = _mm256_loadu_ps(w_in);      // x0 y0 x1 y1 | x2 ..
  const __m256 v1 = _mm256_loadu_ps(w_in + 8);  // x4 y4 ..
  const __m256 x = _mm256_shuffle_ps(v0, v1, 0x88);  // Pair order.
  const __m256 y = _mm256_shuffle_ps(v0, v1, 0xDD);
  // Ordered comparisons: NaN lanes are not interior.
  const __m256 inside = _mm256_and_ps(
      _mm256_and_ps(_mm256_cmp_ps(x, zero, _CMP_GE_OQ),
                    _mm256_cmp_ps(y, zero, _CMP_GE_OQ)),
      _mm256_and_ps(
          _mm256_cmp_ps(x, _mm256_set1_ps(static_cast<float>(W - 1)),
                        _CMP_LT_OQ),
          _mm256_cmp_ps(y, _mm256_set1_ps(static_cast<float>(H - 1)),
                        _CMP_LT_OQ)));
  p->interior = _mm256_movemask_ps(inside);
  if (p->interior == 0) return false;
  // Interior lanes: 0 <= x < 2**24, so truncation is floor and exact.
  const __m256i fx = _mm256_cvttps_epi32(x);
  const __m256i fy = _mm256_cvttps_epi32(y);
  p->ax = _mm256_sub_ps(x, _mm256_cvtepi32_ps(fx));
  p->ay = _mm256_sub_ps(y, _mm256_cvtepi32_ps(fy));
  p->dx = _mm256_sub_ps(one, p->ax);
  p->dy = _mm256_sub_ps(one, p->ay);
  p->w[0] = _mm256_mul_ps(p->dx, p->dy);
  p->w[1] = _mm256_mul_ps(p->ax, p->ay);
  p->w[2] = _mm256_mul_ps(p->dx, p->ay);
  p->w[3] = _mm256_mul_ps(p->ax, p->dy);
  __m256i offset = _mm256_add_epi32(
      _mm256_mullo_epi32(fy, _mm256_set1_epi32(static_cast<int>(W))), fx);
  if (NC == 2) offset = _mm256_slli_epi32(offset, 1);
  if (NC == 3) offset = _mm256_add_epi32(offset, _mm256_slli_epi32(offset, 1));
  if (NC == 4) offset = _mm256_slli_epi32(offset, 2);
  _mm256_store_si256(reinterpret_cast<__m256i*>(p->offset), offset);
#ifdef SONNET_RESAMPLER_CHECK_GATHERS
  CheckGatherOffsets(p->offset, p->interior, 8, W * NC, NC, H * W * NC);
#endif
  // Points 0-3 and 4-7 in order, with 64-bit masks, for the gathers.
  const __m256i offset_seq = _mm256_permute4x64_epi64(offset, 0xD8);
  const __m256i mask_seq =
      _mm256_permute4x64_epi64(_mm256_castps_si256(inside), 0xD8);
  const __m128i lo = _mm256_castsi256_si128(offset_seq);
  const __m128i hi = _mm256_extracti128_si256(offset_seq, 1);
  const __m256i mask_lo =
      _mm256_cvtepi32_epi64(_mm256_castsi256_si128(mask_seq));
  const __m256i mask_hi =
      _mm256_cvtepi32_epi64(_mm256_extracti128_si256(mask_seq, 1));
  GatherRowPairs<NC>(image, lo, hi, mask_lo, mask_hi, p->top);
  GatherRowPairs<NC>(image + W * NC, lo, hi, mask_lo, mask_hi, p->bottom);
  return true;
}

// float forward for 1-4 channels, 8 points at a time: the coordinates,
// bounds test and weights in vectors, the 2x2 patches read with masked
// gathers (lanes outside the interior read nothing), the result transposed
// back to pixels. Lanes that are not interior points are then redone one by
// one through ForwardPointGeneral. Requires GatherPathApplies(d).
template <int NC>
SONNET_RS_AVX2_FN void ForwardGatherAvx2(const float* data, const float* warp,
                                         float* out, const Dims& d,
                                         int64_t start, int64_t limit) {
  const int64_t H = d.height, W = d.width;
  const int64_t image_size = H * W * NC;
  int64_t b = start / d.points;
  int64_t i = start;
  while (i < limit) {
    const int64_t segment_end = std::min(limit, (b + 1) * d.points);
    const float* image = data + b * image_size;
    for (; i + 8 <= segment_end; i += 8) {
      const float* w_in = warp + 2 * i;
      float* o = out + i * NC;
      if (i + kPrefetchAhead < segment_end) {
        PrefetchPatch<false>(image, w_in[2 * kPrefetchAhead],
                             w_in[2 * kPrefetchAhead + 1], H, W, NC);
      }
      Patches8<NC> p;
      if (LoadPatches8<NC>(image, w_in, H, W, &p)) {
        __m256 result[NC];
        for (int c = 0; c < NC; ++c) {
          // ((w0 * ff + w1 * cc) + w2 * fc) + w3 * cf, as SampleChannel.
          result[c] = _mm256_add_ps(
              _mm256_add_ps(
                  _mm256_add_ps(_mm256_mul_ps(p.w[0], p.top[c]),
                                _mm256_mul_ps(p.w[1], p.bottom[NC + c])),
                  _mm256_mul_ps(p.w[2], p.bottom[c])),
              _mm256_mul_ps(p.w[3], p.top[NC + c]));
        }
        StorePixels8<NC>(result, o);
      }
      for (int lanes = ~p.interior & 0xFF; lanes != 0; lanes &= lanes - 1) {
        const int q = kPairOrder[__builtin_ctz(lanes)];
        ForwardPointGeneral<float, float>(image, w_in[2 * q], w_in[2 * q + 1],
                                          H, W, NC, o + q * NC);
      }
    }
    if (i < segment_end) {  // Fewer than 8 points left in this item.
      ForwardScalar<float, float, NC>(data, warp, out, d, i, segment_end);
      i = segment_end;
    }
    ++b;
  }
}

// float forward for 5 or more channels: ForwardScalar with 8 channels per
// vector, the same sums per channel.
struct Avx2ForwardBlocks {
  static SONNET_RS_AVX2_FN int64_t Run(float* o, const float* pff,
                                       const float* pcf, const float* pfc,
                                       const float* pcc, const float* w,
                                       int64_t channels) {
    const __m256 w0 = _mm256_set1_ps(w[0]), w1 = _mm256_set1_ps(w[1]);
    const __m256 w2 = _mm256_set1_ps(w[2]), w3 = _mm256_set1_ps(w[3]);
    int64_t c = 0;
    for (; c + 8 <= channels; c += 8) {
      _mm256_storeu_ps(
          o + c,
          _mm256_add_ps(
              _mm256_add_ps(
                  _mm256_add_ps(_mm256_mul_ps(w0, _mm256_loadu_ps(pff + c)),
                                _mm256_mul_ps(w1, _mm256_loadu_ps(pcc + c))),
                  _mm256_mul_ps(w2, _mm256_loadu_ps(pfc + c))),
              _mm256_mul_ps(w3, _mm256_loadu_ps(pcf + c))));
    }
    return c;
  }
};

template <typename T, typename A>
SONNET_RS_AVX2_FN void ForwardPointsAvx2(const T* data, const T* warp,
                                         T* out, const Dims& d, int64_t start,
                                         int64_t limit) {
  ForwardScalarDispatch<T, A>(data, warp, out, d, start, limit);
}

template <>
SONNET_RS_AVX2_FN void ForwardPointsAvx2<float, float>(
    const float* data, const float* warp, float* out, const Dims& d,
    int64_t start, int64_t limit) {
  if (d.channels > 4) {
    return ForwardScalar<float, float, 0, Avx2ForwardBlocks>(data, warp, out,
                                                             d, start, limit);
  }
  if (!GatherPathApplies(d)) {
    return ForwardScalarDispatch<float, float>(data, warp, out, d, start,
                                               limit);
  }
  switch (d.channels) {
    case 1:
      return ForwardGatherAvx2<1>(data, warp, out, d, start, limit);
    case 2:
      return ForwardGatherAvx2<2>(data, warp, out, d, start, limit);
    case 3:
      return ForwardGatherAvx2<3>(data, warp, out, d, start, limit);
    default:
      return ForwardGatherAvx2<4>(data, warp, out, d, start, limit);
  }
}

#define SONNET_RS_AVX512_FN __attribute__((target("avx512f"))) inline

// GCC 12's _mm512_cvttps_epi32 starts from _mm512_undefined_epi32(), which
// -Wmaybe-uninitialized reports once inlined here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// Where each output float of 16 points x NC channels comes from: output
// vector k, lane l is float 16k + l of the interleaved pixels, i.e. channel
// c = (16k + l) % NC of point (16k + l) / NC, taken from the channel
// vectors by a two-source permute of channels 0-1 or (lanes in high[k])
// of channels 2-3.
template <int NC>
struct PixelPlan512 {
  __m512i from01[NC], from23[NC];
  __mmask16 high[NC];
};

template <int NC>
SONNET_RS_AVX512_FN PixelPlan512<NC> MakePixelPlan512() {
  PixelPlan512<NC> plan;
  for (int k = 0; k < NC; ++k) {
    alignas(64) int32_t from01[16], from23[16];
    unsigned high = 0;
    for (int l = 0; l < 16; ++l) {
      const int p = (16 * k + l) / NC, c = (16 * k + l) % NC;
      from01[l] = c < 2 ? p + 16 * c : 0;
      from23[l] = c < 2 ? 0 : p + 16 * (c - 2);
      if (c >= 2) high |= 1u << l;
    }
    plan.from01[k] = _mm512_load_si512(from01);
    plan.from23[k] = _mm512_load_si512(from23);
    plan.high[k] = static_cast<__mmask16>(high);
  }
  return plan;
}

// As ForwardGatherAvx2, 16 points at a time in natural order (AVX-512 has
// two-source permutes across the whole vector). The last < 16 points of a
// batch item go to ForwardGatherAvx2. Requires GatherPathApplies(d).
template <int NC>
SONNET_RS_AVX512_FN void ForwardGatherAvx512(const float* data,
                                             const float* warp, float* out,
                                             const Dims& d, int64_t start,
                                             int64_t limit) {
  const int64_t H = d.height, W = d.width;
  const int64_t row = W * NC;
  const int64_t image_size = H * row;
  const __m512 x_max = _mm512_set1_ps(static_cast<float>(W - 1));
  const __m512 y_max = _mm512_set1_ps(static_cast<float>(H - 1));
  const __m512 zero = _mm512_setzero_ps();
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512i width = _mm512_set1_epi32(static_cast<int>(W));
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                         20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const PixelPlan512<NC> plan = MakePixelPlan512<NC>();
  int64_t b = start / d.points;
  int64_t i = start;
  while (i < limit) {
    const int64_t segment_end = std::min(limit, (b + 1) * d.points);
    const float* image = data + b * image_size;
    for (; i + 16 <= segment_end; i += 16) {
      const float* w_in = warp + 2 * i;
      float* o = out + i * NC;
      if (i + kPrefetchAhead + 8 < segment_end) {
        PrefetchPatch<false>(image, w_in[2 * kPrefetchAhead],
                      w_in[2 * kPrefetchAhead + 1], H, W, NC);
        PrefetchPatch<false>(image, w_in[2 * kPrefetchAhead + 16],
                      w_in[2 * kPrefetchAhead + 17], H, W, NC);
      }
      const __m512 v0 = _mm512_loadu_ps(w_in);
      const __m512 v1 = _mm512_loadu_ps(w_in + 16);
      const __m512 x = _mm512_permutex2var_ps(v0, even, v1);
      const __m512 y = _mm512_permutex2var_ps(v0, odd, v1);
      // Ordered comparisons: NaN lanes are not interior.
      __mmask16 inside = _mm512_cmp_ps_mask(x, zero, _CMP_GE_OQ);
      inside = _mm512_mask_cmp_ps_mask(inside, y, zero, _CMP_GE_OQ);
      inside = _mm512_mask_cmp_ps_mask(inside, x, x_max, _CMP_LT_OQ);
      inside = _mm512_mask_cmp_ps_mask(inside, y, y_max, _CMP_LT_OQ);
      const unsigned interior = inside;
      if (interior != 0) {
        const __m512i fx = _mm512_cvttps_epi32(x);
        const __m512i fy = _mm512_cvttps_epi32(y);
        const __m512 ax = _mm512_sub_ps(x, _mm512_cvtepi32_ps(fx));
        const __m512 ay = _mm512_sub_ps(y, _mm512_cvtepi32_ps(fy));
        const __m512 dx = _mm512_sub_ps(one, ax);
        const __m512 dy = _mm512_sub_ps(one, ay);
        const __m512 w0 = _mm512_mul_ps(dx, dy);
        const __m512 w1 = _mm512_mul_ps(ax, ay);
        const __m512 w2 = _mm512_mul_ps(dx, ay);
        const __m512 w3 = _mm512_mul_ps(ax, dy);
        __m512i offset = _mm512_add_epi32(_mm512_mullo_epi32(fy, width), fx);
        if (NC == 2) offset = _mm512_slli_epi32(offset, 1);
        if (NC == 3) {
          offset = _mm512_add_epi32(offset, _mm512_slli_epi32(offset, 1));
        }
        if (NC == 4) offset = _mm512_slli_epi32(offset, 2);
#ifdef SONNET_RESAMPLER_CHECK_GATHERS
        alignas(64) int32_t lane_offset[16];
        _mm512_store_si512(lane_offset, offset);
        CheckGatherOffsets(lane_offset, interior, 16, row, NC, image_size);
#endif
        const __m256i lo = _mm512_castsi512_si256(offset);
        const __m256i hi = _mm512_extracti64x4_epi64(offset, 1);
        const __mmask8 mask_lo = static_cast<__mmask8>(interior);
        const __mmask8 mask_hi = static_cast<__mmask8>(interior >> 8);
        // top / bottom[f]: float f of the row's pixel pair (as in
        // GatherRowPairs), points in order.
        __m512 top[2 * NC], bottom[2 * NC];
        for (int r = 0; r < 2; ++r) {
          const float* row_start = image + r * row;
          __m512* pairs = r == 0 ? top : bottom;
          for (int j = 0; j < NC; ++j) {
            const void* base = row_start + 2 * j;
            const __m512 a = _mm512_castsi512_ps(_mm512_mask_i32gather_epi64(
                _mm512_setzero_si512(), mask_lo, lo, base, 4));
            const __m512 c = _mm512_castsi512_ps(_mm512_mask_i32gather_epi64(
                _mm512_setzero_si512(), mask_hi, hi, base, 4));
            pairs[2 * j] = _mm512_permutex2var_ps(a, even, c);
            pairs[2 * j + 1] = _mm512_permutex2var_ps(a, odd, c);
          }
        }
        __m512 result[NC];
        for (int c = 0; c < NC; ++c) {
          result[c] = _mm512_add_ps(
              _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(w0, top[c]),
                                          _mm512_mul_ps(w1, bottom[NC + c])),
                            _mm512_mul_ps(w2, bottom[c])),
              _mm512_mul_ps(w3, top[NC + c]));
        }
        for (int k = 0; k < NC; ++k) {
          __m512 v = result[0];
          if (NC > 1) {
            v = _mm512_permutex2var_ps(result[0], plan.from01[k], result[1]);
          }
          if (NC > 2) {
            v = _mm512_mask_blend_ps(
                plan.high[k], v,
                _mm512_permutex2var_ps(result[2], plan.from23[k],
                                       result[NC > 3 ? 3 : 2]));
          }
          _mm512_storeu_ps(o + 16 * k, v);
        }
      }
      for (unsigned lanes = ~interior & 0xFFFFu; lanes != 0;
           lanes &= lanes - 1) {
        const int p = __builtin_ctz(lanes);
        ForwardPointGeneral<float, float>(image, w_in[2 * p], w_in[2 * p + 1],
                                          H, W, NC, o + p * NC);
      }
    }
    if (i < segment_end) {  // Fewer than 16 points left in this item.
      ForwardGatherAvx2<NC>(data, warp, out, d, i, segment_end);
      i = segment_end;
    }
    ++b;
  }
}

template <typename T, typename A>
SONNET_RS_AVX512_FN void ForwardPointsAvx512(const T* data, const T* warp,
                                             T* out, const Dims& d,
                                             int64_t start, int64_t limit) {
  ForwardPointsAvx2<T, A>(data, warp, out, d, start, limit);
}

template <>
SONNET_RS_AVX512_FN void ForwardPointsAvx512<float, float>(
    const float* data, const float* warp, float* out, const Dims& d,
    int64_t start, int64_t limit) {
  if (d.channels > 4 || !GatherPathApplies(d)) {
    return ForwardPointsAvx2<float, float>(data, warp, out, d, start, limit);
  }
  switch (d.channels) {
    case 1:
      return ForwardGatherAvx512<1>(data, warp, out, d, start, limit);
    case 2:
      return ForwardGatherAvx512<2>(data, warp, out, d, start, limit);
    case 3:
      return ForwardGatherAvx512<3>(data, warp, out, d, start, limit);
    default:
      return ForwardGatherAvx512<4>(data, warp, out, d, start, limit);
  }
}
#pragma GCC diagnostic pop
#endif  // SONNET_RS_X86

// Forward pass for flat points [start, limit) of `d`: out[i] for each point
// i. T is the tensor type, A the arithmetic type (float for half/bfloat16).
template <typename T, typename A>
void ForwardPoints(Isa isa, const T* data, const T* warp, T* out,
                   const Dims& d, int64_t start, int64_t limit) {
#if SONNET_RS_X86
  if (isa == Isa::kAvx512) {
    return ForwardPointsAvx512<T, A>(data, warp, out, d, start, limit);
  }
  if (isa == Isa::kAvx2) {
    return ForwardPointsAvx2<T, A>(data, warp, out, d, start, limit);
  }
#endif
  (void)isa;
  ForwardScalarDispatch<T, A>(data, warp, out, d, start, limit);
}

// ------------------------------------------------------------ gradient ----

// Width of the interleaved partial sums of a warp gradient (see top).
constexpr int kLanes = 8;

template <typename A>
SONNET_RS_INLINE A SumLanes(const A* p) {
  return ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]));
}

// Interior-point channels handled a block of kLanes at a time by vector code
// (`Blocks::Run` returns how many, a multiple of kLanes); the scalar loop
// then does the rest, adding channel c to partial sum c % kLanes. The
// baseline leaves every channel to the scalar loop.
struct NoBlocks {
  template <typename T, typename A, typename G>
  static SONNET_RS_INLINE int64_t Run(const T*, const T*, const T*, const T*,
                                      const T*, G*, G*, G*, G*, const A*, A,
                                      A, int64_t, A*, A*) {
    return 0;
  }
};

#if SONNET_RS_X86
// float channels 8 at a time, one lane per partial sum: the same operations
// per element as the scalar loop.
struct Avx2Blocks {
  static SONNET_RS_AVX2_FN int64_t Run(
      const float* pff, const float* pcf, const float* pfc, const float* pcc,
      const float* g_in, float* qff, float* qcf, float* qfc, float* qcc,
      const float* w, float ax, float ay, int64_t channels, float* sum_x,
      float* sum_y) {
    static_assert(kLanes == 8, "one AVX2 float vector per block");
    const __m256 vax = _mm256_set1_ps(ax), vay = _mm256_set1_ps(ay);
    const __m256 vdx = _mm256_set1_ps(1.0f - ax);
    const __m256 vdy = _mm256_set1_ps(1.0f - ay);
    const __m256 w0 = _mm256_set1_ps(w[0]), w1 = _mm256_set1_ps(w[1]);
    const __m256 w2 = _mm256_set1_ps(w[2]), w3 = _mm256_set1_ps(w[3]);
    __m256 sx = _mm256_setzero_ps(), sy = _mm256_setzero_ps();
    int64_t c = 0;
    for (; c + kLanes <= channels; c += kLanes) {
      const __m256 g = _mm256_loadu_ps(g_in + c);
      const __m256 dff = _mm256_loadu_ps(pff + c);
      const __m256 dcc = _mm256_loadu_ps(pcc + c);
      const __m256 dfc = _mm256_loadu_ps(pfc + c);
      const __m256 dcf = _mm256_loadu_ps(pcf + c);
      sx = _mm256_add_ps(
          sx, _mm256_mul_ps(
                  g, _mm256_add_ps(
                         _mm256_mul_ps(vay, _mm256_sub_ps(dcc, dfc)),
                         _mm256_mul_ps(vdy, _mm256_sub_ps(dcf, dff)))));
      sy = _mm256_add_ps(
          sy, _mm256_mul_ps(
                  g, _mm256_add_ps(
                         _mm256_mul_ps(vax, _mm256_sub_ps(dcc, dcf)),
                         _mm256_mul_ps(vdx, _mm256_sub_ps(dfc, dff)))));
      _mm256_storeu_ps(qff + c, _mm256_add_ps(_mm256_loadu_ps(qff + c),
                                              _mm256_mul_ps(w0, g)));
      _mm256_storeu_ps(qcc + c, _mm256_add_ps(_mm256_loadu_ps(qcc + c),
                                              _mm256_mul_ps(w1, g)));
      _mm256_storeu_ps(qfc + c, _mm256_add_ps(_mm256_loadu_ps(qfc + c),
                                              _mm256_mul_ps(w2, g)));
      _mm256_storeu_ps(qcf + c, _mm256_add_ps(_mm256_loadu_ps(qcf + c),
                                              _mm256_mul_ps(w3, g)));
    }
    _mm256_storeu_ps(sum_x, sx);
    _mm256_storeu_ps(sum_y, sy);
    return c;
  }
};
#endif  // SONNET_RS_X86

// Gradient of one point (x, y) with incoming gradient g_in[0..C): adds its
// contributions to grad_image (the point's batch item) and writes its warp
// gradient to gw[0..1].
template <typename T, typename A, typename G, typename Blocks>
SONNET_RS_INLINE void GradPoint(const T* image, G* grad_image, A x, A y,
                                const T* __restrict__ g_in, int64_t height,
                                int64_t width, int64_t C, T* gw) {
  const int64_t row = width * C;
  A sum_x[kLanes] = {}, sum_y[kLanes] = {};
  int64_t offset;
  A ax, ay;
  Sample<A> s;
  if (InteriorSample<A>(x, y, height, width, C, &offset, &ax, &ay)) {
    A w[4];
    Weights(ax, ay, w);
    const A dx = A(1) - ax, dy = A(1) - ay;
    const T* __restrict__ pff = image + offset;
    const T* __restrict__ pcf = pff + C;
    const T* __restrict__ pfc = pff + row;
    const T* __restrict__ pcc = pfc + C;
    // Four distinct pixels: the channel ranges never overlap.
    G* __restrict__ qff = grad_image + offset;
    G* __restrict__ qcf = qff + C;
    G* __restrict__ qfc = qff + row;
    G* __restrict__ qcc = qfc + C;
    const int64_t blocked = Blocks::Run(pff, pcf, pfc, pcc, g_in, qff, qcf,
                                        qfc, qcc, w, ax, ay, C, sum_x, sum_y);
    for (int64_t c = blocked; c < C; ++c) {
      const int j = static_cast<int>(c % kLanes);
      const A g = static_cast<A>(g_in[c]);
      const A dff = static_cast<A>(pff[c]);
      const A dcc = static_cast<A>(pcc[c]);
      const A dfc = static_cast<A>(pfc[c]);
      const A dcf = static_cast<A>(pcf[c]);
      sum_x[j] += g * (ay * (dcc - dfc) + dy * (dcf - dff));
      sum_y[j] += g * (ax * (dcc - dcf) + dx * (dfc - dff));
      qff[c] += w[0] * g;
      qcc[c] += w[1] * g;
      qfc[c] += w[2] * g;
      qcf[c] += w[3] * g;
    }
  } else if (MakeSample<A>(x, y, height, width, C, &s)) {
    for (int64_t c = 0; c < C; ++c) {
      const A g = static_cast<A>(g_in[c]);
      A gx, gy;
      WarpGradChannel<A>(image, s, c, g, &gx, &gy);
      sum_x[c % kLanes] += gx;
      sum_y[c % kLanes] += gy;
      for (int k = 0; k < 4; ++k) {
        if (s.valid[k]) grad_image[s.offset[k] + c] += s.weight[k] * g;
      }
    }
  }  // Else outside the sampling region: zero gradient.
  gw[0] = static_cast<T>(SumLanes(sum_x));
  gw[1] = static_cast<T>(SumLanes(sum_y));
}

// Gradient for batch items [start, limit): grad_data of those items is
// overwritten, as is grad_warp of their points. `G` is the type grad_data is
// accumulated in (T itself, or float for half / bfloat16). Points add to
// grad_data in their order, on every path.
template <typename T, typename A, typename G, typename Blocks>
SONNET_RS_INLINE void GradBatchesBody(const T* data, const T* warp,
                                      const T* grad_out, G* grad_data,
                                      T* grad_warp, const Dims& d,
                                      int64_t start, int64_t limit) {
  const int64_t C = d.channels;
  const int64_t image_size = d.height * d.width * C;
  for (int64_t b = start; b < limit; ++b) {
    G* grad_image = grad_data + b * image_size;
    std::fill(grad_image, grad_image + image_size, G(0));
    for (int64_t i = b * d.points; i < (b + 1) * d.points; ++i) {
      GradPoint<T, A, G, Blocks>(
          data + b * image_size, grad_image, static_cast<A>(warp[2 * i]),
          static_cast<A>(warp[2 * i + 1]), grad_out + i * C, d.height,
          d.width, C, grad_warp + 2 * i);
    }
  }
}

#if SONNET_RS_X86
// SumLanes of partial sums p[0..3] (vectors over points) and p[4..7] = 0:
// ((p0 + p4) + (p2 + p6)) + ((p1 + p5) + (p3 + p7)), zeros included, so
// that a -0 partial sum becomes +0 exactly as in the scalar code.
SONNET_RS_AVX2_FN __m256 SumLanes4(const __m256* p) {
  const __m256 zero = _mm256_setzero_ps();
  return _mm256_add_ps(
      _mm256_add_ps(_mm256_add_ps(p[0], zero), _mm256_add_ps(p[2], zero)),
      _mm256_add_ps(_mm256_add_ps(p[1], zero), _mm256_add_ps(p[3], zero)));
}

// float gradient for 1-4 channels, 8 points at a time: the warp gradient
// and the products w_k * g in vectors (patches gathered as in
// ForwardGatherAvx2, in pair order), then grad_data updated point by point
// in order. Lanes that are not interior points go through GradPoint instead,
// in their turn. Requires GatherPathApplies(d).
template <int NC>
SONNET_RS_AVX2_FN void GradGatherAvx2(const float* data, const float* warp,
                                      const float* grad_out, float* grad_data,
                                      float* grad_warp, const Dims& d,
                                      int64_t start, int64_t limit) {
  const int64_t H = d.height, W = d.width;
  const int64_t row = W * NC;
  const int64_t image_size = H * row;
  const __m256 zero = _mm256_setzero_ps();
  // grad_out element of (lane, channel 0) for 8 points in pair order.
  const __m256i g_index = _mm256_mullo_epi32(
      _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7), _mm256_set1_epi32(NC));
  for (int64_t b = start; b < limit; ++b) {
    const float* image = data + b * image_size;
    float* grad_image = grad_data + b * image_size;
    std::fill(grad_image, grad_image + image_size, 0.0f);
    const int64_t end = (b + 1) * d.points;
    int64_t i = b * d.points;
    for (; i + 8 <= end; i += 8) {
      const float* w_in = warp + 2 * i;
      const float* g_in = grad_out + i * NC;
      Patches8<NC> p;
      // products[k][c][lane] = w_k * g_c, corners ff, cc, fc, cf.
      alignas(32) float products[4][NC][8];
      if (LoadPatches8<NC>(image, w_in, H, W, &p)) {
        // Partial sums as GradPoint's: channel c < kLanes alone in sum[c]
        // (0 + term), then SumLanes with zeros for the missing channels.
        __m256 sx[4] = {zero, zero, zero, zero};
        __m256 sy[4] = {zero, zero, zero, zero};
        for (int c = 0; c < NC; ++c) {
          const __m256 g = _mm256_i32gather_ps(
              g_in, _mm256_add_epi32(g_index, _mm256_set1_epi32(c)), 4);
          const __m256 dff = p.top[c], dcf = p.top[NC + c];
          const __m256 dfc = p.bottom[c], dcc = p.bottom[NC + c];
          sx[c] = _mm256_add_ps(
              zero, _mm256_mul_ps(
                        g, _mm256_add_ps(
                               _mm256_mul_ps(p.ay, _mm256_sub_ps(dcc, dfc)),
                               _mm256_mul_ps(p.dy, _mm256_sub_ps(dcf, dff)))));
          sy[c] = _mm256_add_ps(
              zero, _mm256_mul_ps(
                        g, _mm256_add_ps(
                               _mm256_mul_ps(p.ax, _mm256_sub_ps(dcc, dcf)),
                               _mm256_mul_ps(p.dx, _mm256_sub_ps(dfc, dff)))));
          for (int k = 0; k < 4; ++k) {
            _mm256_store_ps(products[k][c], _mm256_mul_ps(p.w[k], g));
          }
        }
        const __m256 gx = SumLanes4(sx), gy = SumLanes4(sy);
        // Pair order: lanes 0 1 | 4 5 are points 0 1 | 2 3.
        _mm256_storeu_ps(grad_warp + 2 * i, _mm256_unpacklo_ps(gx, gy));
        _mm256_storeu_ps(grad_warp + 2 * i + 8, _mm256_unpackhi_ps(gx, gy));
      }
      for (int q = 0; q < 8; ++q) {
        const int lane = kPairOrder[q];
        if ((p.interior >> lane) & 1) {
          float* qff = grad_image + p.offset[lane];
          float* qcf = qff + NC;
          float* qfc = qff + row;
          float* qcc = qfc + NC;
          for (int c = 0; c < NC; ++c) {
            qff[c] += products[0][c][lane];
            qcc[c] += products[1][c][lane];
            qfc[c] += products[2][c][lane];
            qcf[c] += products[3][c][lane];
          }
        } else {
          GradPoint<float, float, float, NoBlocks>(
              image, grad_image, w_in[2 * q], w_in[2 * q + 1], g_in + q * NC,
              H, W, NC, grad_warp + 2 * (i + q));
        }
      }
    }
    for (; i < end; ++i) {  // Fewer than 8 points left in this item.
      GradPoint<float, float, float, NoBlocks>(
          image, grad_image, warp[2 * i], warp[2 * i + 1], grad_out + i * NC,
          H, W, NC, grad_warp + 2 * i);
    }
  }
}

template <typename T, typename A, typename G>
SONNET_RS_AVX2_FN void GradBatchesAvx2(const T* data, const T* warp,
                                       const T* grad_out, G* grad_data,
                                       T* grad_warp, const Dims& d,
                                       int64_t start, int64_t limit) {
  GradBatchesBody<T, A, G, NoBlocks>(data, warp, grad_out, grad_data,
                                     grad_warp, d, start, limit);
}

template <>
SONNET_RS_AVX2_FN void GradBatchesAvx2<float, float, float>(
    const float* data, const float* warp, const float* grad_out,
    float* grad_data, float* grad_warp, const Dims& d, int64_t start,
    int64_t limit) {
  if (GatherPathApplies(d)) {
    switch (d.channels) {
      case 1:
        return GradGatherAvx2<1>(data, warp, grad_out, grad_data, grad_warp,
                                 d, start, limit);
      case 2:
        return GradGatherAvx2<2>(data, warp, grad_out, grad_data, grad_warp,
                                 d, start, limit);
      case 3:
        return GradGatherAvx2<3>(data, warp, grad_out, grad_data, grad_warp,
                                 d, start, limit);
      default:
        return GradGatherAvx2<4>(data, warp, grad_out, grad_data, grad_warp,
                                 d, start, limit);
    }
  }
  GradBatchesBody<float, float, float, Avx2Blocks>(
      data, warp, grad_out, grad_data, grad_warp, d, start, limit);
}
#endif  // SONNET_RS_X86

// Gradient for batch items [start, limit) (see GradBatchesBody).
template <typename T, typename A, typename G>
void GradBatches(Isa isa, const T* data, const T* warp, const T* grad_out,
                 G* grad_data, T* grad_warp, const Dims& d, int64_t start,
                 int64_t limit) {
#if SONNET_RS_X86
  if (isa != Isa::kBaseline) {
    return GradBatchesAvx2<T, A, G>(data, warp, grad_out, grad_data,
                                    grad_warp, d, start, limit);
  }
#endif
  (void)isa;
  GradBatchesBody<T, A, G, NoBlocks>(data, warp, grad_out, grad_data,
                                     grad_warp, d, start, limit);
}

}  // namespace resampler
}  // namespace sonnet

#endif  // SONNET_CC_KERNELS_RESAMPLER_CPU_H_
