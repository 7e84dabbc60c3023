// CUDA kernels of Resampler and ResamplerGrad (resampler.md §6).
//
// One thread per output element (batch, point, channel) in a grid-stride
// loop, using the per-sample arithmetic of resampler_math.h (the same code
// the CPU kernel runs). The gradient zeroes both outputs, then accumulates
// with atomicAdd, so its summation order is not deterministic. Needs only
// the CUDA runtime, no TensorFlow header: resampler_op.cc calls the
// launchers with TensorFlow's stream, and sonnet/cc/tests/
// resampler_cuda_check.cu.cc checks them against the CPU math.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "sonnet/cc/kernels/resampler_math.h"
#include "sonnet/cc/kernels/resampler_op.h"

namespace sonnet {
namespace resampler {
namespace {

constexpr int kThreadsPerBlock = 256;
constexpr int64_t kMaxBlocks = 1 << 20;

int NumBlocks(int64_t total) {
  return static_cast<int>(std::min<int64_t>(
      (total + kThreadsPerBlock - 1) / kThreadsPerBlock, kMaxBlocks));
}

template <typename T>
__global__ void ResamplerForwardKernel(const T* __restrict__ data,
                                       const T* __restrict__ warp,
                                       T* __restrict__ output, int64_t height,
                                       int64_t width, int64_t channels,
                                       int64_t points, int64_t total) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x +
                     threadIdx.x;
       idx < total; idx += stride) {
    const int64_t c = idx % channels;
    const int64_t i = idx / channels;  // Flat (batch, point) index.
    const int64_t b = i / points;
    Sample<T> s;
    T value = T(0);
    if (MakeSample<T>(warp[2 * i], warp[2 * i + 1], height, width, channels,
                      &s)) {
      value = SampleChannel<T>(data + b * height * width * channels, s, c);
    }
    output[idx] = value;
  }
}

template <typename T>
__global__ void ResamplerGradKernel(const T* __restrict__ data,
                                    const T* __restrict__ warp,
                                    const T* __restrict__ grad_output,
                                    T* __restrict__ grad_data,
                                    T* __restrict__ grad_warp, int64_t height,
                                    int64_t width, int64_t channels,
                                    int64_t points, int64_t total) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x +
                     threadIdx.x;
       idx < total; idx += stride) {
    const int64_t c = idx % channels;
    const int64_t i = idx / channels;
    const int64_t b = i / points;
    Sample<T> s;
    if (!MakeSample<T>(warp[2 * i], warp[2 * i + 1], height, width, channels,
                       &s)) {
      continue;
    }
    const int64_t image_offset = b * height * width * channels;
    const T g = grad_output[idx];
    T gx, gy;
    WarpGradChannel<T>(data + image_offset, s, c, g, &gx, &gy);
    atomicAdd(grad_warp + 2 * i, gx);
    atomicAdd(grad_warp + 2 * i + 1, gy);
    T* grad_image = grad_data + image_offset;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      if (s.valid[k]) atomicAdd(grad_image + s.offset[k] + c, s.weight[k] * g);
    }
  }
}

}  // namespace

template <typename T>
int LaunchResamplerForwardGpu(void* stream, const T* data, const T* warp,
                              T* output, int64_t batch, int64_t height,
                              int64_t width, int64_t channels,
                              int64_t points) {
  const int64_t total = batch * points * channels;
  if (total == 0) return 0;
  ResamplerForwardKernel<T>
      <<<NumBlocks(total), kThreadsPerBlock, 0,
         static_cast<cudaStream_t>(stream)>>>(data, warp, output, height,
                                              width, channels, points, total);
  return static_cast<int>(cudaGetLastError());
}

template <typename T>
int LaunchResamplerGradGpu(void* stream, const T* data, const T* warp,
                           const T* grad_output, T* grad_data, T* grad_warp,
                           int64_t batch, int64_t height, int64_t width,
                           int64_t channels, int64_t points) {
  cudaStream_t cuda_stream = static_cast<cudaStream_t>(stream);
  cudaError_t err = cudaMemsetAsync(
      grad_data, 0, sizeof(T) * batch * height * width * channels,
      cuda_stream);
  if (err != cudaSuccess) return static_cast<int>(err);
  err = cudaMemsetAsync(grad_warp, 0, sizeof(T) * batch * points * 2,
                        cuda_stream);
  if (err != cudaSuccess) return static_cast<int>(err);
  const int64_t total = batch * points * channels;
  if (total == 0) return 0;
  ResamplerGradKernel<T><<<NumBlocks(total), kThreadsPerBlock, 0,
                           cuda_stream>>>(data, warp, grad_output, grad_data,
                                          grad_warp, height, width, channels,
                                          points, total);
  return static_cast<int>(cudaGetLastError());
}

template int LaunchResamplerForwardGpu<float>(void*, const float*,
                                              const float*, float*, int64_t,
                                              int64_t, int64_t, int64_t,
                                              int64_t);
template int LaunchResamplerForwardGpu<double>(void*, const double*,
                                               const double*, double*,
                                               int64_t, int64_t, int64_t,
                                               int64_t, int64_t);
template int LaunchResamplerGradGpu<float>(void*, const float*, const float*,
                                           const float*, float*, float*,
                                           int64_t, int64_t, int64_t, int64_t,
                                           int64_t);

}  // namespace resampler
}  // namespace sonnet
