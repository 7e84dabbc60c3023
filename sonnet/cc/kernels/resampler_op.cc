// CPU (and, under GOOGLE_CUDA, GPU) kernels of Resampler and ResamplerGrad.
//
// The per-point arithmetic lives in resampler_math.h, shared with the CUDA
// kernels, and the CPU loops in resampler_cpu.h (no TensorFlow headers, so a
// standalone harness checks and times them). CPU work is split over TensorFlow's intra-op thread pool: the
// forward pass over sampling points (any split gives identical results), the
// gradient over batch items (each item owns its slice of grad_data, so the
// accumulation order, and hence the result, is deterministic).
#define EIGEN_USE_THREADS
#if GOOGLE_CUDA
#define EIGEN_USE_GPU
#endif  // GOOGLE_CUDA

#include <algorithm>
#include <type_traits>

#include "sonnet/cc/kernels/resampler_cpu.h"
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
using resampler::Dims;

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

template <typename T>
void ForwardCpu(OpKernelContext* ctx, const T* data, const T* warp, T* out,
                const Dims& d) {
  using A = typename AccType<T>::type;
  const resampler::Isa isa = resampler::BestIsa();
  auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
  const int64_t cost_per_point = 12 * d.channels + 60;
  ::tensorflow::Shard(workers->num_threads, workers->workers,
                      d.batch * d.points, cost_per_point,
                      [&](int64_t start, int64_t limit) {
                        resampler::ForwardPoints<T, A>(isa, data, warp, out,
                                                       d, start, limit);
                      });
}

template <typename T>
absl::Status GradCpu(OpKernelContext* ctx, const T* data, const T* warp,
                     const T* grad_out, Tensor* grad_data, T* grad_warp,
                     const Dims& d) {
  using A = typename AccType<T>::type;
  const resampler::Isa isa = resampler::BestIsa();
  auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
  const int64_t cost_per_item =
      d.points * (30 * d.channels + 80) + d.height * d.width * d.channels;
  if constexpr (std::is_same<T, A>::value) {
    T* out = grad_data->flat<T>().data();
    ::tensorflow::Shard(
        workers->num_threads, workers->workers, d.batch, cost_per_item,
        [&](int64_t start, int64_t limit) {
          resampler::GradBatches<T, A, T>(isa, data, warp, grad_out, out,
                                          grad_warp, d, start, limit);
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
          resampler::GradBatches<T, A, A>(isa, data, warp, grad_out,
                                          acc_data, grad_warp, d, start,
                                          limit);
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
