// Standalone check of the CUDA Resampler kernels against the CPU per-sample
// math (resampler_math.h), without TensorFlow.
//
//   nvcc -std=c++17 -x cu -I. sonnet/cc/tests/resampler_cuda_check.cu.cc \
//       sonnet/cc/kernels/resampler_op_gpu.cu.cc -o resampler_cuda_check
//   ./resampler_cuda_check [cases]
//
// Runs random shapes (including empty ones) with coordinates inside, on
// pixel centres, on the border, outside, NaN and infinite, through the
// forward kernel (float, double) and the gradient kernel (float), and
// compares with ReferenceForward / ReferenceGrad. Exits 0 when all agree,
// 1 on a mismatch or CUDA error, 2 when no CUDA device is present (nothing
// was checked).
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "sonnet/cc/kernels/resampler_math.h"
#include "sonnet/cc/kernels/resampler_op.h"

namespace {

using sonnet::resampler::LaunchResamplerForwardGpu;
using sonnet::resampler::LaunchResamplerGradGpu;
using sonnet::resampler::ReferenceForward;
using sonnet::resampler::ReferenceGrad;

#define CHECK_CUDA(expr)                                                   \
  do {                                                                     \
    cudaError_t e_ = (expr);                                               \
    if (e_ != cudaSuccess) {                                               \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr,   \
                   cudaGetErrorString(e_));                                \
      std::exit(1);                                                        \
    }                                                                      \
  } while (0)

template <typename T>
T* ToDevice(const std::vector<T>& host) {
  T* ptr = nullptr;
  CHECK_CUDA(cudaMalloc(&ptr, sizeof(T) * (host.size() + 1)));
  if (!host.empty()) {
    CHECK_CUDA(cudaMemcpy(ptr, host.data(), sizeof(T) * host.size(),
                          cudaMemcpyHostToDevice));
  }
  return ptr;
}

template <typename T>
std::vector<T> ToHost(const T* ptr, size_t n) {
  std::vector<T> host(n);
  if (n) {
    CHECK_CUDA(cudaMemcpy(host.data(), ptr, sizeof(T) * n,
                          cudaMemcpyDeviceToHost));
  }
  return host;
}

template <typename T>
bool Close(const std::vector<T>& got, const std::vector<T>& want, double tol,
           const char* what, int case_id) {
  for (size_t i = 0; i < want.size(); ++i) {
    const double g = got[i], w = want[i];
    if (std::isnan(w) ? !std::isnan(g)
                      : std::fabs(g - w) > tol * (1.0 + std::fabs(w))) {
      std::fprintf(stderr, "case %d: %s[%zu] = %.9g, CPU math gives %.9g\n",
                   case_id, what, i, g, w);
      return false;
    }
  }
  return true;
}

template <typename T>
T Coordinate(std::mt19937_64& rng, int64_t size) {
  std::uniform_real_distribution<double> u(-2.5, size + 1.5);
  std::uniform_int_distribution<int> pick(0, 19);
  switch (pick(rng)) {
    case 0: return T(-1);
    case 1: return T(0);
    case 2: return T(size - 1);
    case 3: return T(size);
    case 4: return std::numeric_limits<T>::quiet_NaN();
    case 5: return std::numeric_limits<T>::infinity();
    case 6: return T(1e30);
    case 7: return std::floor(static_cast<T>(u(rng)));
    default: return static_cast<T>(u(rng));
  }
}

template <typename T, bool kWithGrad>
bool CheckCase(std::mt19937_64& rng, int case_id) {
  std::uniform_int_distribution<int> small(0, 6), dim(0, 12), chan(0, 9);
  const int64_t batch = small(rng), height = dim(rng), width = dim(rng),
                channels = chan(rng), points = dim(rng) * small(rng);
  std::normal_distribution<double> normal;
  std::vector<T> data(batch * height * width * channels);
  for (auto& v : data) v = static_cast<T>(normal(rng));
  std::vector<T> warp(batch * points * 2);
  for (int64_t i = 0; i < batch * points; ++i) {
    warp[2 * i] = Coordinate<T>(rng, width);
    warp[2 * i + 1] = Coordinate<T>(rng, height);
  }
  std::vector<T> grad_out(batch * points * channels);
  for (auto& v : grad_out) v = static_cast<T>(normal(rng));

  std::vector<T> want(grad_out.size());
  ReferenceForward<T>(data.data(), warp.data(), want.data(), batch, height,
                      width, channels, points);
  T* d_data = ToDevice(data);
  T* d_warp = ToDevice(warp);
  T* d_out = ToDevice(std::vector<T>(want.size()));
  CHECK_CUDA(static_cast<cudaError_t>(LaunchResamplerForwardGpu<T>(
      nullptr, d_data, d_warp, d_out, batch, height, width, channels,
      points)));
  CHECK_CUDA(cudaDeviceSynchronize());
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  bool ok = Close(ToHost(d_out, want.size()), want, tol, "output", case_id);

  if constexpr (kWithGrad) {
    std::vector<T> want_data(data.size()), want_warp(warp.size());
    ReferenceGrad<T>(data.data(), warp.data(), grad_out.data(),
                     want_data.data(), want_warp.data(), batch, height, width,
                     channels, points);
    T* d_grad_out = ToDevice(grad_out);
    // Filled with garbage: the launcher must zero them.
    T* d_grad_data = ToDevice(std::vector<T>(data.size(), T(123)));
    T* d_grad_warp = ToDevice(std::vector<T>(warp.size(), T(123)));
    CHECK_CUDA(static_cast<cudaError_t>(LaunchResamplerGradGpu<T>(
        nullptr, d_data, d_warp, d_grad_out, d_grad_data, d_grad_warp, batch,
        height, width, channels, points)));
    CHECK_CUDA(cudaDeviceSynchronize());
    // atomicAdd reorders sums: allow float reassociation error.
    ok = Close(ToHost(d_grad_data, data.size()), want_data, 1e-4,
               "grad_data", case_id) && ok;
    ok = Close(ToHost(d_grad_warp, warp.size()), want_warp, 1e-4,
               "grad_warp", case_id) && ok;
    CHECK_CUDA(cudaFree(d_grad_out));
    CHECK_CUDA(cudaFree(d_grad_data));
    CHECK_CUDA(cudaFree(d_grad_warp));
  }
  CHECK_CUDA(cudaFree(d_data));
  CHECK_CUDA(cudaFree(d_warp));
  CHECK_CUDA(cudaFree(d_out));
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("resampler_cuda_check: no CUDA device, nothing checked\n");
    return 2;
  }
  const int cases = argc > 1 ? std::atoi(argv[1]) : 500;
  std::mt19937_64 rng(1234);
  int failures = 0;
  for (int i = 0; i < cases; ++i) {
    if (!CheckCase<float, /*kWithGrad=*/true>(rng, i)) ++failures;
    if (!CheckCase<double, /*kWithGrad=*/false>(rng, i)) ++failures;
  }
  std::printf("resampler_cuda_check: %d cases (float fwd+grad, double fwd), "
              "%d mismatching\n", cases, failures);
  return failures == 0 ? 0 : 1;
}
