#pragma once
// Private to core/dicom: the file-per-task loop both the scan and the loader run.

// Std
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace camsight::dicom {

/// Runs work(i) for every i in [begin, end) on `threads` threads (0: all hardware threads), each taking the next
/// index as it finishes; after each item, progress(done + items finished so far, total) under a lock. Stops taking
/// new items once *cancel is set. `work` must be safe to run concurrently for different i.
inline void forEachFile(std::size_t begin, std::size_t end, int threads, const std::atomic<bool>* cancel,
                        const std::function<void(std::size_t)>& work,
                        const std::function<void(std::size_t, std::size_t)>& progress, std::size_t done, std::size_t total)
{
    std::atomic<std::size_t> next{begin}, finished{done};
    std::mutex progressMutex;
    if (threads <= 0)
        threads = int(std::max(1u, std::thread::hardware_concurrency()));
    auto worker = [&]() {
        for (;;) {
            if (cancel && cancel->load())
                return;
            const std::size_t i = next++;
            if (i >= end)
                return;
            work(i);
            const std::size_t k = ++finished;
            if (progress) {
                std::lock_guard<std::mutex> lock(progressMutex);
                progress(k, total);
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads && begin + std::size_t(t) < end; ++t)
        pool.emplace_back(worker);
    worker();
    for (auto& t : pool)
        t.join();
}

}  // namespace camsight::dicom
