// Per-sample arithmetic of the bilinear Resampler, shared by the CPU kernel,
// the CUDA kernel and the standalone harnesses.
//
// This header needs no TensorFlow header and compiles with both g++ and nvcc
// (functions are __host__ __device__ under nvcc), so the CUDA kernels can be
// checked against exactly the same math outside TensorFlow.
//
// Semantics (resampler.md §4-5): warp point (x, y) = (column, row); pixel
// centres at integer coordinates; the image is treated as zero-padded by one
// pixel, so a point samples non-zero only if -1 < x < W and -1 < y < H
// (strict; NaN fails every comparison and samples 0). Inside that region the
// four neighbours are (fx, fy), (cx, cy), (fx, cy), (cx, fy) with
// fx = floor(x), cx = fx + 1 (same for y), weighted by dx = cx - x,
// dy = cy - y; neighbours outside [0, W-1] x [0, H-1] contribute 0.
//
// Deliberate deviation: upstream floors after casting to float32 even for
// double inputs; here the floor is taken in the accumulation type (double for
// double), which only differs within 1 ulp(float) of an integer and is the
// more accurate choice.
#ifndef SONNET_CC_KERNELS_RESAMPLER_MATH_H_
#define SONNET_CC_KERNELS_RESAMPLER_MATH_H_

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define SONNET_RS_FN __host__ __device__ __forceinline__
#else
#define SONNET_RS_FN inline
#endif

namespace sonnet {
namespace resampler {

// Corner order used everywhere (and the summation order of upstream).
enum Corner { kFF = 0, kCC = 1, kFC = 2, kCF = 3 };

// Geometry of one sampling point. `offset[k]` is the element offset of corner
// k's channel 0 inside one image ((row * W + col) * C); it is only meaningful
// where `valid[k]`. dx = cx - x and ax = x - fx = 1 - dx (same for y).
template <typename A>
struct Sample {
  A dx, dy, ax, ay;
  A weight[4];
  int64_t offset[4];
  bool valid[4];
};

// floor of a coordinate known to lie in (-1, 2**63), by truncation: exact,
// and cheap (no libm call on CPUs without SSE4.1).
template <typename A>
SONNET_RS_FN int64_t FloorIndex(A v) {
  int64_t i = static_cast<int64_t>(v);
  if (static_cast<A>(i) > v) --i;
  return i;
}

// Bilinear weights from the fractional parts ax, ay (shared by every path so
// that all kernels round identically). x - fx is exact, whereas cx - x
// computed as (fx + 1) - x may round once coordinates pass 2**24 (float).
template <typename A>
SONNET_RS_FN void Weights(A ax, A ay, A weight[4]) {
  const A dx = A(1) - ax;
  const A dy = A(1) - ay;
  weight[kFF] = dx * dy;
  weight[kCC] = ax * ay;
  weight[kFC] = dx * ay;
  weight[kCF] = ax * dy;
}

// Fills `s` for point (x, y) of an image of `height` x `width` x `channels`.
// Returns false (and leaves `s` unspecified) when the point lies outside the
// strict sampling region, in which case it contributes nothing.
template <typename A>
SONNET_RS_FN bool MakeSample(A x, A y, int64_t height, int64_t width,
                             int64_t channels, Sample<A>* s) {
  if (!(x > A(-1) && y > A(-1) && x < static_cast<A>(width) &&
        y < static_cast<A>(height))) {
    return false;
  }
  // fx, fy >= -1 here, and below width / height up to the rounding of
  // static_cast<A>(width), which the integer checks below absorb.
  const int64_t fx = FloorIndex(x);
  const int64_t fy = FloorIndex(y);
  const int64_t cx = fx + 1;
  const int64_t cy = fy + 1;
  s->ax = x - static_cast<A>(fx);
  s->ay = y - static_cast<A>(fy);
  s->dx = A(1) - s->ax;
  s->dy = A(1) - s->ay;
  Weights(s->ax, s->ay, s->weight);
  const bool fx_ok = fx >= 0 && fx < width;
  const bool cx_ok = cx >= 0 && cx < width;
  const bool fy_ok = fy >= 0 && fy < height;
  const bool cy_ok = cy >= 0 && cy < height;
  s->valid[kFF] = fx_ok && fy_ok;
  s->valid[kCC] = cx_ok && cy_ok;
  s->valid[kFC] = fx_ok && cy_ok;
  s->valid[kCF] = cx_ok && fy_ok;
  s->offset[kFF] = (fy * width + fx) * channels;
  s->offset[kCC] = (cy * width + cx) * channels;
  s->offset[kFC] = (cy * width + fx) * channels;
  s->offset[kCF] = (fy * width + cx) * channels;
  return true;
}

// Fast path for the common case of a point whose four corners all lie in the
// image (0 <= x < W - 1, 0 <= y < H - 1): sets the (fx, fy) pixel's element
// offset and the weights (same values as MakeSample). Corner (cx, fy) is then
// at offset + C, (fx, cy) at offset + W * C, (cx, cy) at offset + (W + 1) * C.
// Returns false for any other point (NaN included).
template <typename A>
SONNET_RS_FN bool InteriorSample(A x, A y, int64_t height, int64_t width,
                                 int64_t channels, int64_t* offset, A* ax,
                                 A* ay) {
  if (!(x >= A(0) && y >= A(0) && x < static_cast<A>(width - 1) &&
        y < static_cast<A>(height - 1))) {
    return false;
  }
  const int64_t fx = static_cast<int64_t>(x);  // x >= 0: truncation = floor.
  const int64_t fy = static_cast<int64_t>(y);
  if (fx >= width - 1 || fy >= height - 1) return false;  // Float rounding.
  *offset = (fy * width + fx) * channels;
  *ax = x - static_cast<A>(fx);
  *ay = y - static_cast<A>(fy);
  return true;
}

// Value of corner k, channel c (0 outside the image). `image` points at
// channel 0 of pixel (0, 0) of the sample's batch item.
template <typename A, typename T>
SONNET_RS_FN A CornerValue(const T* image, const Sample<A>& s, int k,
                           int64_t c) {
  return s.valid[k] ? static_cast<A>(image[s.offset[k] + c]) : A(0);
}

// Bilinear sample of channel c.
template <typename A, typename T>
SONNET_RS_FN A SampleChannel(const T* image, const Sample<A>& s, int64_t c) {
  return s.weight[kFF] * CornerValue(image, s, kFF, c) +
         s.weight[kCC] * CornerValue(image, s, kCC, c) +
         s.weight[kFC] * CornerValue(image, s, kFC, c) +
         s.weight[kCF] * CornerValue(image, s, kCF, c);
}

// Contribution of channel c with incoming gradient g to the warp gradient of
// the point: d(out)/dx and d(out)/dy times g.
template <typename A, typename T>
SONNET_RS_FN void WarpGradChannel(const T* image, const Sample<A>& s,
                                  int64_t c, A g, A* gx, A* gy) {
  const A dff = CornerValue(image, s, kFF, c);
  const A dcc = CornerValue(image, s, kCC, c);
  const A dfc = CornerValue(image, s, kFC, c);
  const A dcf = CornerValue(image, s, kCF, c);
  *gx = g * (s.ay * (dcc - dfc) + s.dy * (dcf - dff));
  *gy = g * (s.ax * (dcc - dcf) + s.dx * (dfc - dff));
}

// Reference forward pass over a whole batch, plain loops (used by the
// harnesses as the CPU side of comparisons). Layouts: data [B, H, W, C],
// warp [B, P, 2], out [B, P, C].
template <typename A, typename T>
void ReferenceForward(const T* data, const T* warp, T* out, int64_t batch,
                      int64_t height, int64_t width, int64_t channels,
                      int64_t points) {
  for (int64_t b = 0; b < batch; ++b) {
    const T* image = data + b * height * width * channels;
    for (int64_t p = 0; p < points; ++p) {
      const int64_t i = b * points + p;
      Sample<A> s{};
      const bool inside =
          MakeSample<A>(static_cast<A>(warp[2 * i]),
                        static_cast<A>(warp[2 * i + 1]), height, width,
                        channels, &s);
      for (int64_t c = 0; c < channels; ++c) {
        out[i * channels + c] =
            static_cast<T>(inside ? SampleChannel<A>(image, s, c) : A(0));
      }
    }
  }
}

// Reference gradient: grad_data [B, H, W, C] and grad_warp [B, P, 2] are
// overwritten.
template <typename A, typename T>
void ReferenceGrad(const T* data, const T* warp, const T* grad_out,
                   T* grad_data, T* grad_warp, int64_t batch, int64_t height,
                   int64_t width, int64_t channels, int64_t points) {
  for (int64_t i = 0; i < batch * height * width * channels; ++i) {
    grad_data[i] = T(0);
  }
  for (int64_t i = 0; i < batch * points * 2; ++i) grad_warp[i] = T(0);
  for (int64_t b = 0; b < batch; ++b) {
    const T* image = data + b * height * width * channels;
    T* grad_image = grad_data + b * height * width * channels;
    for (int64_t p = 0; p < points; ++p) {
      const int64_t i = b * points + p;
      Sample<A> s{};
      if (!MakeSample<A>(static_cast<A>(warp[2 * i]),
                         static_cast<A>(warp[2 * i + 1]), height, width,
                         channels, &s)) {
        continue;
      }
      A sum_x = 0, sum_y = 0;
      for (int64_t c = 0; c < channels; ++c) {
        const A g = static_cast<A>(grad_out[i * channels + c]);
        A gx, gy;
        WarpGradChannel<A>(image, s, c, g, &gx, &gy);
        sum_x += gx;
        sum_y += gy;
        for (int k = 0; k < 4; ++k) {
          if (s.valid[k]) {
            grad_image[s.offset[k] + c] = static_cast<T>(
                static_cast<A>(grad_image[s.offset[k] + c]) + s.weight[k] * g);
          }
        }
      }
      grad_warp[2 * i] = static_cast<T>(sum_x);
      grad_warp[2 * i + 1] = static_cast<T>(sum_y);
    }
  }
}

}  // namespace resampler
}  // namespace sonnet

#endif  // SONNET_CC_KERNELS_RESAMPLER_MATH_H_
