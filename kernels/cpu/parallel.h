// Splits [0, count) into contiguous chunks over `threads` std::threads (the caller's thread
// takes the first chunk). Exceptions in workers are rethrown on the calling thread.
#pragma once
#include <algorithm>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

namespace esmm::cpu {

inline void parallelFor(long count, int threads, const std::function<void(long, long)>& body) {
  if (count <= 0) return;
  const long workers = std::max(1L, std::min<long>(threads, count));
  if (workers == 1) {
    body(0, count);
    return;
  }
  const long chunk = (count + workers - 1) / workers;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(workers));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers - 1));
  for (long w = 1; w < workers; ++w) {
    pool.emplace_back([&, w] {
      try {
        body(w * chunk, std::min(count, (w + 1) * chunk));
      } catch (...) {
        errors[static_cast<size_t>(w)] = std::current_exception();
      }
    });
  }
  try {
    body(0, std::min(count, chunk));
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (auto& t : pool) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace esmm::cpu
