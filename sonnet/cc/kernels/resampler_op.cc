// CPU (and, under GOOGLE_CUDA, GPU) kernels of Resampler and ResamplerGrad.
//
// The per-point arithmetic lives in resampler_math.h, shared with the CUDA
// kernels. CPU work is split over TensorFlow's intra-op thread pool: the
// forward pass over sampling points (any split gives identical results), the
// gradient over batch items (each item owns its slice of grad_data, so the
// accumulation order, and hence the result, is deterministic).
#define EIGEN_USE_THREADS
#if GOOGLE_CUDA
#define EIGEN_USE_GPU
#endif  // GOOGLE_CUDA

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "sonnet/cc/kernels/resampler_math.h"
#include "sonnet/cc/kernels/resampler_op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/register_types.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor_shape.h"
#include "tensorflow/core/framework/types.h"
#include "tensorflow/core/util/work_sharder.h"

#ifndef SONNET_TF_VERSION
#error "Define SONNET_TF_VERSION to the TensorFlow version compiled against."
#endif

// Read (without loading the library) by sonnet/python/ops/resampler.py to
// refuse a library built against another TensorFlow version.
extern "C" __attribute__((used, visibility("default")))
const char sonnet_resampler_build_tag[] =
    "SONNET_RESAMPLER_BUILT_AGAINST_TF=" SONNET_TF_VERSION;

namespace sonnet {
namespace {

using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
namespace errors = ::tensorflow::errors;
using CPUDevice = Eigen::ThreadPoolDevice;
using resampler::MakeSample;
using resampler::Sample;

// Arithmetic type: half and bfloat16 are computed and accumulated in float.
template <typename T>
struct AccType {
  using type = T;
};
template <>
struct AccType<Eigen::half> {
  using type = float;
};
template <>
struct AccType<Eigen::bfloat16> {
  using type = float;
};

// Sizes of one call, after validation.
struct Dims {
  int64_t batch = 0, height = 0, width = 0, channels = 0, points = 0;
};

// Checks shared by both ops (resampler.md §3) and the output shape.
absl::Status CheckDataAndWarp(const Tensor& data, const Tensor& warp,
                              bool for_grad, Dims* dims,
                              TensorShape* output_shape) {
  if (data.dims() != 4) {
    return errors::Unimplemented(
        for_grad ? "Only bilinear interpolation is supported, the input data "
                   "tensor must be a batch of 2d data; data shape should have "
                   "4 entries corresponding to [batch_size, data_height, "
                   "data_width, data_channels], but is: "
                 : "Only bilinear interpolation is currently supported. The "
                   "input data shape must be [batch_size, data_height, "
                   "data_width, data_channels], but is: ",
        data.shape().DebugString());
  }
  if (warp.dims() < 2) {
    return errors::InvalidArgument(
        "warp should be at least a matrix, got shape ",
        warp.shape().DebugString());
  }
  if (warp.dim_size(warp.dims() - 1) != 2) {
    return errors::Unimplemented(
        "Only bilinear interpolation is supported, warping coordinates must "
        "be 2D; warp shape last entry should be 2, but shape vector is: ",
        warp.shape().DebugString());
  }
  // Upstream's gradient kernel skipped this check and read out of bounds;
  // here both ops require it.
  if (data.dim_size(0) != warp.dim_size(0)) {
    return errors::InvalidArgument(
        "Batch size of data and warp tensor must be the same, but input "
        "shapes are: ",
        data.shape().DebugString(), ", ", warp.shape().DebugString());
  }
  dims->batch = data.dim_size(0);
  dims->height = data.dim_size(1);
  dims->width = data.dim_size(2);
  dims->channels = data.dim_size(3);
  dims->points = 1;
  TensorShape shape;
  TF_RETURN_IF_ERROR(shape.AddDimWithStatus(warp.dim_size(0)));
  for (int d = 1; d < warp.dims() - 1; ++d) {
    dims->points *= warp.dim_size(d);
    TF_RETURN_IF_ERROR(shape.AddDimWithStatus(warp.dim_size(d)));
  }
  TF_RETURN_IF_ERROR(shape.AddDimWithStatus(dims->channels));
  *output_shape = shape;
  return absl::OkStatus();
}

// ---------------------------------------------------------------- CPU ----

#if defined(__GNUC__) && defined(__x86_64__)
#define SONNET_RS_INLINE inline __attribute__((always_inline))
#define SONNET_RS_LIKELY(x) __builtin_expect(!!(x), 1)
#define SONNET_RS_AVX2 1
#else
#define SONNET_RS_INLINE inline
#define SONNET_RS_LIKELY(x) (x)
#define SONNET_RS_AVX2 0
#endif

// Forward pass for flat points [start, limit). Interior points (all four
// corners inside, the common case) take a short path reading the 2x2 patch
// directly; others go through MakeSample. Both compute the same weights and
// sum in the same order, so the result does not depend on the path.
//
// `NC` > 0 fixes the channel count at compile time (fully unrolled loops for
// the small counts where a runtime loop costs more than the arithmetic);
// NC == 0 reads it from `d`. Points are walked one batch item at a time so
// the image pointer and bounds are loop invariants.
template <typename T, int NC>
SONNET_RS_INLINE void ForwardPointsBody(const T* data, const T* warp, T* out,
                                        const Dims& d, int64_t start,
                                        int64_t limit) {
  using A = typename AccType<T>::type;
  const int64_t C = NC > 0 ? NC : d.channels;
  const int64_t H = d.height, W = d.width;
  const int64_t row = W * C;
  const int64_t image_size = H * row;
  // Same bounds as resampler::InteriorSample, hoisted.
  const A x_max = static_cast<A>(W - 1);
  const A y_max = static_cast<A>(H - 1);
  constexpr int64_t kPrefetch = 16;
  const bool prefetch = NC == 0 && H > 0 && W > 0;
  int64_t b = start / d.points;
  int64_t i = start;
  while (i < limit) {
    const int64_t segment_end = std::min(limit, (b + 1) * d.points);
    const T* __restrict__ image = data + b * image_size;
    const T* __restrict__ w_in = warp + 2 * i;
    T* __restrict__ o = out + i * C;
    for (; i < segment_end; ++i, w_in += 2, o += C) {
      // Gathers from a rotated / scaled grid defeat the hardware prefetcher:
      // fetch the 2x2 patch of a point kPrefetch ahead (coordinates clamped
      // into the image, NaN to 0, so the address is always inside it). Only
      // pays off for wide pixels; for 1-4 channels it measured slower.
      if (prefetch && i + kPrefetch < segment_end) {
        A px = static_cast<A>(w_in[2 * kPrefetch]);
        A py = static_cast<A>(w_in[2 * kPrefetch + 1]);
        px = px > A(0) ? px : A(0);
        py = py > A(0) ? py : A(0);
        px = px < x_max ? px : x_max;
        py = py < y_max ? py : y_max;
        const int64_t fx = std::min(static_cast<int64_t>(px), W - 1);
        const int64_t fy = std::min(static_cast<int64_t>(py), H - 1);
        const T* patch = image + (fy * W + fx) * C;
        __builtin_prefetch(patch);
        __builtin_prefetch(fy + 1 < H ? patch + row : patch);
      }
      const A x = static_cast<A>(w_in[0]);
      const A y = static_cast<A>(w_in[1]);
      if (x >= A(0) && y >= A(0) && x < x_max && y < y_max) {
        const int64_t fx = static_cast<int64_t>(x);  // x >= 0: floor.
        const int64_t fy = static_cast<int64_t>(y);
        if (SONNET_RS_LIKELY(fx < W - 1 && fy < H - 1)) {  // Float rounding.
          A w[4];
          resampler::Weights(x - static_cast<A>(fx), y - static_cast<A>(fy),
                             w);
          const T* __restrict__ pff = image + (fy * W + fx) * C;
          const T* __restrict__ pcf = pff + C;
          const T* __restrict__ pfc = pff + row;
          const T* __restrict__ pcc = pfc + C;
          for (int64_t c = 0; c < C; ++c) {
            o[c] = static_cast<T>(w[0] * static_cast<A>(pff[c]) +
                                  w[1] * static_cast<A>(pcc[c]) +
                                  w[2] * static_cast<A>(pfc[c]) +
                                  w[3] * static_cast<A>(pcf[c]));
          }
          continue;
        }
      }
      Sample<A> s;
      if (MakeSample<A>(x, y, H, W, C, &s)) {
        for (int64_t c = 0; c < C; ++c) {
          o[c] = static_cast<T>(resampler::SampleChannel<A>(image, s, c));
        }
      } else {
        for (int64_t c = 0; c < C; ++c) o[c] = T(0);
      }
    }
    ++b;
  }
}

// Dispatches to the unrolled bodies for 1-4 channels.
template <typename T>
SONNET_RS_INLINE void ForwardPointsDispatch(const T* data, const T* warp,
                                            T* out, const Dims& d,
                                            int64_t start, int64_t limit) {
  switch (d.channels) {
    case 1:
      return ForwardPointsBody<T, 1>(data, warp, out, d, start, limit);
    case 2:
      return ForwardPointsBody<T, 2>(data, warp, out, d, start, limit);
    case 3:
      return ForwardPointsBody<T, 3>(data, warp, out, d, start, limit);
    case 4:
      return ForwardPointsBody<T, 4>(data, warp, out, d, start, limit);
    default:
      return ForwardPointsBody<T, 0>(data, warp, out, d, start, limit);
  }
}

// Gradient for batch items [start, limit). `G` is the type grad_data is
// accumulated in (T itself, or float for half / bfloat16).
template <typename T, typename G>
SONNET_RS_INLINE void GradBatchesBody(const T* data, const T* warp,
                                      const T* grad_out, G* grad_data,
                                      T* grad_warp, const Dims& d,
                                      int64_t start, int64_t limit) {
  using A = typename AccType<T>::type;
  const int64_t C = d.channels;
  const int64_t row = d.width * C;
  const int64_t image_size = d.height * row;
  for (int64_t b = start; b < limit; ++b) {
    const T* image = data + b * image_size;
    G* grad_image = grad_data + b * image_size;
    std::fill(grad_image, grad_image + image_size, G(0));
    for (int64_t p = 0; p < d.points; ++p) {
      const int64_t i = b * d.points + p;
      const T* __restrict__ g_in = grad_out + i * C;
      const A x = static_cast<A>(warp[2 * i]);
      const A y = static_cast<A>(warp[2 * i + 1]);
      A sum_x = A(0), sum_y = A(0);
      int64_t offset;
      A ax, ay;
      Sample<A> s;
      if (resampler::InteriorSample<A>(x, y, d.height, d.width, C, &offset,
                                       &ax, &ay)) {
        A w[4];
        resampler::Weights(ax, ay, w);
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
        for (int64_t c = 0; c < C; ++c) {
          const A g = static_cast<A>(g_in[c]);
          const A dff = static_cast<A>(pff[c]);
          const A dcc = static_cast<A>(pcc[c]);
          const A dfc = static_cast<A>(pfc[c]);
          const A dcf = static_cast<A>(pcf[c]);
          sum_x += g * (ay * (dcc - dfc) + dy * (dcf - dff));
          sum_y += g * (ax * (dcc - dcf) + dx * (dfc - dff));
          qff[c] += w[0] * g;
          qcc[c] += w[1] * g;
          qfc[c] += w[2] * g;
          qcf[c] += w[3] * g;
        }
      } else if (MakeSample<A>(x, y, d.height, d.width, C, &s)) {
        for (int64_t c = 0; c < C; ++c) {
          const A g = static_cast<A>(g_in[c]);
          A gx, gy;
          resampler::WarpGradChannel<A>(image, s, c, g, &gx, &gy);
          sum_x += gx;
          sum_y += gy;
          for (int k = 0; k < 4; ++k) {
            if (s.valid[k]) grad_image[s.offset[k] + c] += s.weight[k] * g;
          }
        }
      }  // Else outside the sampling region: zero gradient.
      grad_warp[2 * i] = static_cast<T>(sum_x);
      grad_warp[2 * i + 1] = static_cast<T>(sum_y);
    }
  }
}

#if SONNET_RS_AVX2
// AVX2 builds of the float / double loops, chosen at run time (the library
// itself targets the baseline x86-64 TensorFlow requires). No FMA: the
// arithmetic, hence the result, is the same on every path.
// SONNET_RESAMPLER_DISABLE_AVX2 (any value) forces the baseline loops, so
// tests can check that both paths agree.
bool HasAvx2() {
  static const bool has_avx2 =
      __builtin_cpu_supports("avx2") &&
      std::getenv("SONNET_RESAMPLER_DISABLE_AVX2") == nullptr;
  return has_avx2;
}

#define SONNET_RS_AVX2_VARIANTS(T)                                          \
  __attribute__((target("avx2"))) void ForwardPointsAvx2(                   \
      const T* data, const T* warp, T* out, const Dims& d, int64_t start,   \
      int64_t limit) {                                                      \
    ForwardPointsDispatch<T>(data, warp, out, d, start, limit);             \
  }                                                                         \
  __attribute__((target("avx2"))) void GradBatchesAvx2(                     \
      const T* data, const T* warp, const T* grad_out, T* grad_data,        \
      T* grad_warp, const Dims& d, int64_t start, int64_t limit) {          \
    GradBatchesBody<T, T>(data, warp, grad_out, grad_data, grad_warp, d,    \
                          start, limit);                                    \
  }
SONNET_RS_AVX2_VARIANTS(float)
SONNET_RS_AVX2_VARIANTS(double)
#undef SONNET_RS_AVX2_VARIANTS
#endif  // SONNET_RS_AVX2

template <typename T>
void ForwardPointsCpu(const T* data, const T* warp, T* out, const Dims& d,
                      int64_t start, int64_t limit) {
#if SONNET_RS_AVX2
  if constexpr (std::is_same<T, float>::value ||
                std::is_same<T, double>::value) {
    if (HasAvx2()) return ForwardPointsAvx2(data, warp, out, d, start, limit);
  }
#endif
  ForwardPointsDispatch<T>(data, warp, out, d, start, limit);
}

template <typename T, typename G>
void GradBatchesCpu(const T* data, const T* warp, const T* grad_out,
                    G* grad_data, T* grad_warp, const Dims& d, int64_t start,
                    int64_t limit) {
#if SONNET_RS_AVX2
  if constexpr (std::is_same<T, G>::value &&
                (std::is_same<T, float>::value ||
                 std::is_same<T, double>::value)) {
    if (HasAvx2()) {
      return GradBatchesAvx2(data, warp, grad_out, grad_data, grad_warp, d,
                             start, limit);
    }
  }
#endif
  GradBatchesBody<T, G>(data, warp, grad_out, grad_data, grad_warp, d, start,
                        limit);
}

template <typename T>
void ForwardCpu(OpKernelContext* ctx, const T* data, const T* warp, T* out,
                const Dims& d) {
  auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
  const int64_t cost_per_point = 12 * d.channels + 60;
  ::tensorflow::Shard(workers->num_threads, workers->workers,
                      d.batch * d.points, cost_per_point,
                      [&](int64_t start, int64_t limit) {
                        ForwardPointsCpu(data, warp, out, d, start, limit);
                      });
}

template <typename T>
absl::Status GradCpu(OpKernelContext* ctx, const T* data, const T* warp,
                     const T* grad_out, Tensor* grad_data, T* grad_warp,
                     const Dims& d) {
  using A = typename AccType<T>::type;
  auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
  const int64_t cost_per_item =
      d.points * (30 * d.channels + 80) + d.height * d.width * d.channels;
  if constexpr (std::is_same<T, A>::value) {
    T* out = grad_data->flat<T>().data();
    ::tensorflow::Shard(
        workers->num_threads, workers->workers, d.batch, cost_per_item,
        [&](int64_t start, int64_t limit) {
          GradBatchesCpu<T, T>(data, warp, grad_out, out, grad_warp, d, start,
                               limit);
        });
    return absl::OkStatus();
  } else {
    // Reduced precision: accumulate in a float buffer, then round once.
    Tensor acc;
    TF_RETURN_IF_ERROR(
        ctx->allocate_temp(::tensorflow::DataTypeToEnum<A>::value,
                           grad_data->shape(), &acc));
    A* acc_data = acc.flat<A>().data();
    T* out = grad_data->flat<T>().data();
    const int64_t image_size = d.height * d.width * d.channels;
    ::tensorflow::Shard(
        workers->num_threads, workers->workers, d.batch, cost_per_item,
        [&](int64_t start, int64_t limit) {
          GradBatchesCpu<T, A>(data, warp, grad_out, acc_data, grad_warp, d,
                               start, limit);
          for (int64_t j = start * image_size; j < limit * image_size; ++j) {
            out[j] = static_cast<T>(acc_data[j]);
          }
        });
    return absl::OkStatus();
  }
}

template <typename Device, typename T>
struct Launcher;

template <typename T>
struct Launcher<CPUDevice, T> {
  static absl::Status Forward(OpKernelContext* ctx, const T* data,
                              const T* warp, T* out, const Dims& d) {
    ForwardCpu(ctx, data, warp, out, d);
    return absl::OkStatus();
  }
  static absl::Status Grad(OpKernelContext* ctx, const T* data, const T* warp,
                           const T* grad_out, Tensor* grad_data, T* grad_warp,
                           const Dims& d) {
    return GradCpu(ctx, data, warp, grad_out, grad_data, grad_warp, d);
  }
};

// ---------------------------------------------------------------- GPU ----

#if GOOGLE_CUDA
using GPUDevice = Eigen::GpuDevice;

template <typename T>
struct Launcher<GPUDevice, T> {
  static absl::Status Forward(OpKernelContext* ctx, const T* data,
                              const T* warp, T* out, const Dims& d) {
    void* stream = ctx->eigen_device<GPUDevice>().stream();
    const int err = resampler::LaunchResamplerForwardGpu<T>(
        stream, data, warp, out, d.batch, d.height, d.width, d.channels,
        d.points);
    if (err != 0) {
      return errors::Internal("Resampler CUDA launch failed, cudaError ", err);
    }
    return absl::OkStatus();
  }
  static absl::Status Grad(OpKernelContext* ctx, const T* data, const T* warp,
                           const T* grad_out, Tensor* grad_data, T* grad_warp,
                           const Dims& d) {
    void* stream = ctx->eigen_device<GPUDevice>().stream();
    const int err = resampler::LaunchResamplerGradGpu<T>(
        stream, data, warp, grad_out, grad_data->flat<T>().data(), grad_warp,
        d.batch, d.height, d.width, d.channels, d.points);
    if (err != 0) {
      return errors::Internal("ResamplerGrad CUDA launch failed, cudaError ",
                              err);
    }
    return absl::OkStatus();
  }
};
#endif  // GOOGLE_CUDA

// ------------------------------------------------------------- kernels ----

template <typename Device, typename T>
class ResamplerOp : public OpKernel {
 public:
  explicit ResamplerOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& data = ctx->input(0);
    const Tensor& warp = ctx->input(1);
    Dims d;
    TensorShape output_shape;
    OP_REQUIRES_OK(ctx,
                   CheckDataAndWarp(data, warp, false, &d, &output_shape));
    Tensor* output = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, output_shape, &output));
    if (output->NumElements() == 0) return;
    OP_REQUIRES_OK(ctx, (Launcher<Device, T>::Forward(
                            ctx, data.flat<T>().data(), warp.flat<T>().data(),
                            output->flat<T>().data(), d)));
  }
};

template <typename Device, typename T>
class ResamplerGradOp : public OpKernel {
 public:
  explicit ResamplerGradOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& data = ctx->input(0);
    const Tensor& warp = ctx->input(1);
    const Tensor& grad_output = ctx->input(2);
    Dims d;
    TensorShape output_shape;
    OP_REQUIRES_OK(ctx, CheckDataAndWarp(data, warp, true, &d, &output_shape));
    OP_REQUIRES(
        ctx, grad_output.shape() == output_shape,
        errors::InvalidArgument(
            "grad_output shape is not consistent with data and warp shapes; "
            "it should be ",
            output_shape.DebugString(), " but is ",
            grad_output.shape().DebugString()));
    Tensor* grad_data = nullptr;
    Tensor* grad_warp = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, data.shape(), &grad_data));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, warp.shape(), &grad_warp));
    if (grad_data->NumElements() == 0 && grad_warp->NumElements() == 0) return;
    OP_REQUIRES_OK(ctx, (Launcher<Device, T>::Grad(
                            ctx, data.flat<T>().data(), warp.flat<T>().data(),
                            grad_output.flat<T>().data(), grad_data,
                            grad_warp->flat<T>().data(), d)));
  }
};

#define SONNET_REGISTER_CPU(T)                                            \
  REGISTER_KERNEL_BUILDER(                                                \
      Name("Resampler").Device(::tensorflow::DEVICE_CPU).TypeConstraint<T>( \
          "T"),                                                           \
      ResamplerOp<CPUDevice, T>);                                         \
  REGISTER_KERNEL_BUILDER(Name("ResamplerGrad")                           \
                              .Device(::tensorflow::DEVICE_CPU)           \
                              .TypeConstraint<T>("T"),                    \
                          ResamplerGradOp<CPUDevice, T>);

SONNET_REGISTER_CPU(Eigen::half);
SONNET_REGISTER_CPU(Eigen::bfloat16);
SONNET_REGISTER_CPU(float);
SONNET_REGISTER_CPU(double);
#undef SONNET_REGISTER_CPU

#if GOOGLE_CUDA
REGISTER_KERNEL_BUILDER(
    Name("Resampler").Device(::tensorflow::DEVICE_GPU).TypeConstraint<float>(
        "T"),
    ResamplerOp<GPUDevice, float>);
REGISTER_KERNEL_BUILDER(
    Name("Resampler").Device(::tensorflow::DEVICE_GPU).TypeConstraint<double>(
        "T"),
    ResamplerOp<GPUDevice, double>);
REGISTER_KERNEL_BUILDER(Name("ResamplerGrad")
                            .Device(::tensorflow::DEVICE_GPU)
                            .TypeConstraint<float>("T"),
                        ResamplerGradOp<GPUDevice, float>);
#endif  // GOOGLE_CUDA

}  // namespace
}  // namespace sonnet
