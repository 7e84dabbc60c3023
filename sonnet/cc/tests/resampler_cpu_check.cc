// Standalone check (and timing) of the Resampler CPU loops, resampler_cpu.h,
// without TensorFlow.
//
//   g++ -std=c++17 -O2 -ffp-contract=off -I. -pthread
//     sonnet/cc/tests/resampler_cpu_check.cc -o resampler_cpu_check
//   ./resampler_cpu_check [cases]     # check; exits 0 when all agree
//   ./resampler_cpu_check --bench     # single-core and 2-thread timings
//
// Check: random shapes (1-9, 16 and 33 channels, images down to 1x1, empty
// point sets) and coordinates (inside, on pixel centres and the border,
// outside, NaN, infinite, huge) through ForwardPoints and GradBatches, on
// every instruction set this CPU has, with the points split at random
// places as threads would split them. The forward must equal
// ReferenceForward bit for bit; the gradient must be bit-identical across
// instruction sets and splits and match ReferenceGrad to rounding.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sonnet/cc/kernels/resampler_cpu.h"

namespace {

using sonnet::resampler::Dims;
using sonnet::resampler::ForwardPoints;
using sonnet::resampler::GradBatches;
using sonnet::resampler::Isa;
using sonnet::resampler::ReferenceForward;
using sonnet::resampler::ReferenceGrad;

std::vector<Isa> AvailableIsas() {
  std::vector<Isa> isas = {Isa::kBaseline};
#if SONNET_RS_X86
  if (__builtin_cpu_supports("avx2")) isas.push_back(Isa::kAvx2);
  if (__builtin_cpu_supports("avx512f")) isas.push_back(Isa::kAvx512);
#endif
  return isas;
}

const char* IsaName(Isa isa) {
  return isa == Isa::kAvx512 ? "avx512" : isa == Isa::kAvx2 ? "avx2"
                                                            : "baseline";
}

template <typename T>
T Coordinate(std::mt19937* rng, int64_t size) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double u = unit(*rng);
  const double s = static_cast<double>(size);
  if (u < 0.55) return static_cast<T>(unit(*rng) * (s - 1));  // Interior.
  if (u < 0.65) return static_cast<T>(std::floor(unit(*rng) * s));  // Centre.
  if (u < 0.80) return static_cast<T>(-1.5 + unit(*rng) * (s + 2));  // Edge.
  if (u < 0.85) return static_cast<T>(s - 1);
  if (u < 0.88) return std::numeric_limits<T>::quiet_NaN();
  if (u < 0.90) return std::numeric_limits<T>::infinity();
  if (u < 0.92) return -std::numeric_limits<T>::infinity();
  if (u < 0.94) return static_cast<T>(1e30);
  if (u < 0.96) return static_cast<T>(-1.0);
  return static_cast<T>(-1.0 + 1e-3 * unit(*rng));
}

bool SameBits(const void* a, const void* b, size_t bytes) {
  return bytes == 0 || std::memcmp(a, b, bytes) == 0;
}

// Runs `fn(start, limit)` over [0, total) cut at random places.
template <typename F>
void RandomSplit(std::mt19937* rng, int64_t total, const F& fn) {
  int64_t start = 0;
  while (start < total) {
    const int64_t limit =
        std::min(total, start + 1 + static_cast<int64_t>((*rng)() % 40));
    fn(start, limit);
    start = limit;
  }
}

template <typename T>
bool CheckCase(std::mt19937* rng, int case_id) {
  static const int64_t kChannels[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 33};
  Dims d;
  d.batch = 1 + (*rng)() % 3;
  d.height = 1 + (*rng)() % 9;
  d.width = 1 + (*rng)() % 9;
  d.channels = kChannels[(*rng)() % 10];
  d.points = (*rng)() % 50;
  std::uniform_real_distribution<double> value(-2.0, 2.0);
  std::vector<T> data(d.batch * d.height * d.width * d.channels);
  for (T& v : data) v = static_cast<T>(value(*rng));
  std::vector<T> warp(d.batch * d.points * 2);
  for (size_t i = 0; i < warp.size(); i += 2) {
    warp[i] = Coordinate<T>(rng, d.width);
    warp[i + 1] = Coordinate<T>(rng, d.height);
  }
  std::vector<T> grad_out(d.batch * d.points * d.channels);
  for (T& v : grad_out) v = static_cast<T>(value(*rng));
  const int64_t total = d.batch * d.points;

  std::vector<T> want(grad_out.size());
  ReferenceForward<T, T>(data.data(), warp.data(), want.data(), d.batch,
                         d.height, d.width, d.channels, d.points);
  std::vector<T> want_gd(data.size()), want_gw(warp.size());
  ReferenceGrad<T, T>(data.data(), warp.data(), grad_out.data(),
                      want_gd.data(), want_gw.data(), d.batch, d.height,
                      d.width, d.channels, d.points);

  std::vector<T> first_gd, first_gw;
  bool ok = true;
  for (Isa isa : AvailableIsas()) {
    std::vector<T> got(want.size(), static_cast<T>(7));
    RandomSplit(rng, total, [&](int64_t start, int64_t limit) {
      ForwardPoints<T, T>(isa, data.data(), warp.data(), got.data(), d, start,
                          limit);
    });
    if (!SameBits(got.data(), want.data(), sizeof(T) * want.size())) {
      std::fprintf(stderr, "case %d (%s): forward differs from reference\n",
                   case_id, IsaName(isa));
      ok = false;
    }
    std::vector<T> gd(data.size(), static_cast<T>(7));
    std::vector<T> gw(warp.size(), static_cast<T>(7));
    RandomSplit(rng, d.batch, [&](int64_t start, int64_t limit) {
      GradBatches<T, T, T>(isa, data.data(), warp.data(), grad_out.data(),
                           gd.data(), gw.data(), d, start, limit);
    });
    if (first_gd.empty() && first_gw.empty()) {
      first_gd = gd;
      first_gw = gw;
    } else if (!SameBits(gd.data(), first_gd.data(), sizeof(T) * gd.size()) ||
               !SameBits(gw.data(), first_gw.data(), sizeof(T) * gw.size())) {
      std::fprintf(stderr, "case %d (%s): gradient differs from baseline\n",
                   case_id, IsaName(isa));
      ok = false;
    }
    // The reference sums channels in order; the loops in kLanes partial
    // sums: equal up to rounding of sums of C terms of size <= 16.
    const double tol = (sizeof(T) == 4 ? 1e-5 : 1e-13) * (1 + d.channels);
    for (size_t i = 0; i < gd.size() + gw.size(); ++i) {
      const T a = i < gd.size() ? gd[i] : gw[i - gd.size()];
      const T b = i < gd.size() ? want_gd[i] : want_gw[i - gd.size()];
      if (!(std::fabs(static_cast<double>(a) - static_cast<double>(b)) <=
            tol * (1 + std::fabs(static_cast<double>(b))))) {
        std::fprintf(stderr, "case %d (%s): gradient %zu is %g, want %g\n",
                     case_id, IsaName(isa), i, static_cast<double>(a),
                     static_cast<double>(b));
        ok = false;
        break;
      }
    }
  }
  return ok;
}

// ---------------------------------------------------------------- bench ----

// A rotated, scaled sampling grid plus jitter, as benchmarks/resampler.py.
std::vector<float> SmoothWarp(int64_t batch, int64_t rows, int64_t cols,
                              int64_t height, int64_t width) {
  std::mt19937 rng(0);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<float> warp(batch * rows * cols * 2);
  for (int64_t b = 0; b < batch; ++b) {
    const double angle = 0.3 * u(rng), scale = 0.9 + 0.1 * u(rng);
    const double cs = scale * std::cos(angle), sn = scale * std::sin(angle);
    const double sx = 0.05 * u(rng), sy = 0.05 * u(rng);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const double v = -1 + 2.0 * r / (rows - 1), h = -1 + 2.0 * c / (cols - 1);
        const double xs = cs * h - sn * v + sx, ys = sn * h + cs * v + sy;
        float* w = &warp[((b * rows + r) * cols + c) * 2];
        w[0] = static_cast<float>((xs + 1) / 2 * (width - 1) + 0.3 * u(rng));
        w[1] = static_cast<float>((ys + 1) / 2 * (height - 1) + 0.3 * u(rng));
      }
    }
  }
  return warp;
}

template <typename F>
double Seconds(const F& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

// Best time per call of each of `fns`, interleaved so that a slow spell of
// the machine hits them all alike.
template <typename F>
std::vector<double> BestTimes(const std::vector<F>& fns, int rounds) {
  std::vector<double> best(fns.size(), 1e30);
  for (const F& fn : fns) fn();
  for (int r = 0; r < rounds; ++r) {
    for (size_t k = 0; k < fns.size(); ++k) {
      best[k] = std::min(best[k], Seconds(fns[k]));
    }
  }
  return best;
}

void Bench() {
  const int64_t shapes[3][6] = {{32, 64, 64, 16, 64, 64},
                                {8, 256, 256, 3, 256, 256},
                                {64, 32, 32, 64, 16, 16}};
  std::vector<Isa> isas = AvailableIsas();
  for (const auto& s : shapes) {
    Dims d;
    d.batch = s[0];
    d.height = s[1];
    d.width = s[2];
    d.channels = s[3];
    d.points = s[4] * s[5];
    std::vector<float> data(d.batch * d.height * d.width * d.channels);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (float& v : data) v = unit(rng);
    std::vector<float> warp = SmoothWarp(d.batch, s[4], s[5], d.height,
                                         d.width);
    std::vector<float> out(d.batch * d.points * d.channels);
    std::vector<float> grad_data(data.size()), grad_warp(warp.size());
    const int64_t total = d.batch * d.points;
    const double bytes = 4.0 * (data.size() + warp.size() + out.size());
    std::printf("data [%lld,%lld,%lld,%lld] points %lld (%.1f MB counted)\n",
                (long long)d.batch, (long long)d.height, (long long)d.width,
                (long long)d.channels, (long long)d.points, bytes / 1e6);
    using Fn = std::function<void()>;
    std::vector<Fn> fns;
    for (Isa isa : isas) {
      fns.push_back([&, isa] {
        ForwardPoints<float, float>(isa, data.data(), warp.data(), out.data(),
                                    d, 0, total);
      });
      fns.push_back([&, isa] {
        std::thread other([&] {
          ForwardPoints<float, float>(isa, data.data(), warp.data(),
                                      out.data(), d, total / 2, total);
        });
        ForwardPoints<float, float>(isa, data.data(), warp.data(), out.data(),
                                    d, 0, total / 2);
        other.join();
      });
      fns.push_back([&, isa] {
        GradBatches<float, float, float>(isa, data.data(), warp.data(),
                                         out.data(), grad_data.data(),
                                         grad_warp.data(), d, 0, d.batch);
      });
    }
    const std::vector<double> t = BestTimes(fns, 15);
    for (size_t k = 0; k < isas.size(); ++k) {
      const double one = t[3 * k], two = t[3 * k + 1], grad = t[3 * k + 2];
      std::printf(
          "  %-8s forward 1 thread %7.3f ms (%5.2f ns/point, %5.1f GB/s), "
          "2 threads %7.3f ms (%.2fx, %5.1f GB/s); gradient %7.3f ms\n",
          IsaName(isas[k]), one * 1e3, one * 1e9 / total, bytes / one / 1e9,
          two * 1e3, one / two, bytes / two / 1e9, grad * 1e3);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--bench") {
    Bench();
    return 0;
  }
  const int cases = argc > 1 ? std::atoi(argv[1]) : 3000;
  std::mt19937 rng(1234);
  int failures = 0;
  for (int i = 0; i < cases; ++i) {
    failures += !CheckCase<float>(&rng, i);
    failures += !CheckCase<double>(&rng, i);
    if (failures > 10) break;
  }
  std::printf("resampler CPU loops: %d cases x {float, double} on", cases);
  for (Isa isa : AvailableIsas()) std::printf(" %s", IsaName(isa));
  std::printf(": %s\n", failures ? "MISMATCH" : "all agree");
  return failures ? 1 : 0;
}
