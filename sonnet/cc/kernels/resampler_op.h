// Launchers of the CUDA Resampler kernels (resampler_op_gpu.cu.cc).
//
// Declared without TensorFlow or CUDA headers so that both the TensorFlow
// kernel (resampler_op.cc, under GOOGLE_CUDA) and the standalone CUDA
// harness can call them. `stream` is a cudaStream_t; the return value is a
// cudaError_t (0 on success). Layouts: data [B, H, W, C], warp [B, P, 2],
// output / grad_output [B, P, C].
#ifndef SONNET_CC_KERNELS_RESAMPLER_OP_H_
#define SONNET_CC_KERNELS_RESAMPLER_OP_H_

#include <cstdint>

namespace sonnet {
namespace resampler {

// Forward pass; instantiated for float and double.
template <typename T>
int LaunchResamplerForwardGpu(void* stream, const T* data, const T* warp,
                              T* output, int64_t batch, int64_t height,
                              int64_t width, int64_t channels, int64_t points);

// Gradient; zeroes grad_data and grad_warp, then accumulates with atomicAdd
// (so the summation order, and hence the last bits, may vary from run to
// run). Instantiated for float only, as upstream.
template <typename T>
int LaunchResamplerGradGpu(void* stream, const T* data, const T* warp,
                           const T* grad_output, T* grad_data, T* grad_warp,
                           int64_t batch, int64_t height, int64_t width,
                           int64_t channels, int64_t points);

}  // namespace resampler
}  // namespace sonnet

#endif  // SONNET_CC_KERNELS_RESAMPLER_OP_H_
