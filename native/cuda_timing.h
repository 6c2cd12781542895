// The CUDA timing loop under the sampling rule (sampling.h), shared by the addon's CUDA backend and
// the standalone kernel harness (kernels/bench/). Built only with the CUDA backend; no Node-API.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include <cuda_runtime_api.h>

#include "../kernels/esmm.h"
#include "bench_job.h"
#include "cuda_util.h"
#include "sampling.h"

namespace esmm::native {

// Bytes overwritten before each cold sample: twice the L2, and at least 64 MiB.
inline size_t l2FlushBytes(int l2CacheBytes) {
  return std::max<size_t>(size_t(2) * static_cast<size_t>(l2CacheBytes), size_t(64) << 20);
}

// How the L2 is flushed before a cold sample. kRead (the default): the flush buffer is zero-filled
// once per timing loop and read before every sample, so the timed call starts on an L2 of clean
// lines, as under ncu's cache control (kernels/l2_flush.cu). kWrite: the buffer is overwritten
// before every sample, which leaves dirty lines for the timed call to write back; kept so the
// kernel harness can measure what that costs (--flush-write).
enum class L2Flush { kRead, kWrite };
inline L2Flush gL2Flush = L2Flush::kRead;

constexpr double kSettleAfterRunMs = 0.2;  // kernels at least this long (warm-up, per run) ...
constexpr int kSettleMs = 50;              // ... start their timed samples after this idle, and
                                           // idle after each batch as long as it ran

// Times `launch` on `stream` under the sampling rule: warm-up, then event-timed samples in batches
// until the rule is met. A cold run flushes the L2 (outside the events) before every sample.
// `beforeFirst` / `afterFirst` are queued once around the first timed sample, outside its events
// (the output is poisoned before it and set aside after it).
inline Samples timeOnStream(cudaStream_t stream, const SamplingRule& rule, uint8_t* flush, size_t flushBytes,
                            const std::function<void()>& launch, KernelOutcome* out = nullptr,
                            const std::function<void()>& beforeFirst = {},
                            const std::function<void()>& afterFirst = {}) {
  int tag = 0;
  bool zeroed = false;
  auto flushL2 = [&] {
    if (flush == nullptr) return;
    if (gL2Flush == L2Flush::kWrite) {
      ESMM_CUDA_CHECK(cudaMemsetAsync(flush, (tag++) & 0xFF, flushBytes, stream));
      return;
    }
    if (!zeroed) {
      // Zero-filling dirties the buffer's lines; the first read pass writes them back, the second
      // leaves only clean ones.
      ESMM_CUDA_CHECK(cudaMemsetAsync(flush, 0, flushBytes, stream));
      ESMM_CUDA_CHECK(launchL2ReadThrough(flush, flushBytes, stream));
      zeroed = true;
    }
    ESMM_CUDA_CHECK(launchL2ReadThrough(flush, flushBytes, stream));
  };
  const auto warmStart = std::chrono::steady_clock::now();
  for (int i = 0; i < rule.warmup; ++i) {
    flushL2();
    launch();
  }
  bool halfDuty = false;
  if (out != nullptr && rule.warmup > 0) {
    // A kernel of a millisecond or more that follows others at full load starts on a card whose
    // clocks are already coming down (power limit): measured on an H200, one 4096³ kernel drifted
    // from 1.03 to 1.23 ms over 0.8 s of sampling, while the same kernel timed next, after lighter
    // work, stayed at 1.03. A short idle before each such kernel gives every kernel the same start.
    // It is not enough on its own: a 4096³ kernel sampled back to back stepped down from 1.055 to
    // 1.115, 1.19 and 1.30 ms after its first ~30 ms, its spread then kept the sampler going for
    // 790 samples, and its median (1.206) was the throttled card's, while the same mainloop timed
    // next converged in 30 samples at 1.055. So such kernels are also sampled at half duty: after
    // each batch the card idles as long as the batch ran, for every kernel alike.
    ESMM_CUDA_CHECK(cudaStreamSynchronize(stream));
    halfDuty = msSince(warmStart) / rule.warmup >= kSettleAfterRunMs;
    if (halfDuty) std::this_thread::sleep_for(std::chrono::milliseconds(kSettleMs));
  }
  Samples s;
  bool first = true;
  const auto start = std::chrono::steady_clock::now();
  while (wantMoreSamples(rule, s.ms, msSince(start))) {
    const int have = static_cast<int>(s.ms.size());
    const int batch = std::min(256, have < rule.minRuns ? rule.minRuns - have : std::min(10, rule.maxSamples - have));
    std::vector<Event> t0(static_cast<size_t>(batch)), t1(static_cast<size_t>(batch));
    const auto batchStart = std::chrono::steady_clock::now();
    for (int i = 0; i < batch; ++i) {
      flushL2();
      if (first && beforeFirst) beforeFirst();
      ESMM_CUDA_CHECK(cudaEventRecord(t0[static_cast<size_t>(i)].get(), stream));
      launch();
      ESMM_CUDA_CHECK(cudaEventRecord(t1[static_cast<size_t>(i)].get(), stream));
      if (first && afterFirst) afterFirst();
      first = false;
    }
    ESMM_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (halfDuty) std::this_thread::sleep_for(std::chrono::steady_clock::now() - batchStart);
    for (int i = 0; i < batch; ++i) {
      float ms = 0.0f;
      ESMM_CUDA_CHECK(cudaEventElapsedTime(&ms, t0[static_cast<size_t>(i)].get(), t1[static_cast<size_t>(i)].get()));
      s.ms.push_back(ms);
    }
  }
  if (out != nullptr) {
    out->callsPerSample = 1;
    noiseVerdict(rule, s.ms, *out);
  }
  return s;
}

}  // namespace esmm::native
