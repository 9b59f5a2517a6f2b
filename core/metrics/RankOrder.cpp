#include "core/metrics/RankOrder.h"

// Std
#include <cmath>
#include <cstring>
#include <memory>
#include <utility>
#include <stdexcept>

namespace camsight::metrics {

std::uint32_t descendingKey(float v)
{
    if (std::isnan(v))
        return 0xffffffffu;
    if (v == 0.0f)
        v = 0.0f;  // fold -0 into +0
    std::uint32_t b;
    std::memcpy(&b, &v, 4);
    // Standard float -> ascending unsigned map, then inverted for descending order.
    const std::uint32_t asc = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
    return ~asc;  // at most 0xff800000 (for -inf), so 0xffffffff stays free for NaN
}

RankOrder::RankOrder(const float* values, std::size_t n)
{
    if (n > 0xffffffffu)
        throw std::length_error("heatmap with more than 2^32 voxels");
    // LSD radix sort of 64-bit items (key << 32 | index) over the key's three 11-bit digits. Each pass is stable, so
    // equal keys stay in index order. The three histograms are counted in one read pass.
    constexpr int kBits = 11;
    constexpr std::uint32_t kBuckets = 1u << kBits, kMask = kBuckets - 1;
    // Scratch without zero-filling (every element is written before it is read). Maps up to 1M voxels reuse a
    // per-thread buffer (16 MB at most), so that the metrics recomputed on every stroke cause no page faults.
    constexpr std::size_t kKeepScratch = std::size_t(1) << 20;
    thread_local std::unique_ptr<std::uint64_t[]> kept;
    thread_local std::size_t keptSize = 0;
    std::unique_ptr<std::uint64_t[]> owned;
    std::uint64_t* scratch;
    if (n <= kKeepScratch) {
        if (keptSize < n) {
            kept.reset(new std::uint64_t[2 * n]);
            keptSize = n;
        }
        scratch = kept.get();
    } else {
        owned.reset(new std::uint64_t[2 * n]);
        scratch = owned.get();
    }
    std::uint64_t* items = scratch;
    std::uint64_t* tmp = scratch + n;
    std::vector<std::size_t> count(3 * kBuckets, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t k = descendingKey(values[i]);
        items[i] = (std::uint64_t(k) << 32) | i;
        ++count[k & kMask];
        ++count[kBuckets + ((k >> kBits) & kMask)];
        ++count[2 * kBuckets + (k >> (2 * kBits))];
    }
    for (int pass = 0; pass < 3; ++pass) {
        std::size_t* c = count.data() + pass * kBuckets;
        const int shift = 32 + pass * kBits;
        if (n == 0 || c[(items[0] >> shift) & kMask] == n)
            continue;  // every key has this digit: the pass would not move anything
        std::size_t sum = 0;
        for (std::uint32_t b = 0; b < kBuckets; ++b) {
            const std::size_t t = c[b];
            c[b] = sum;
            sum += t;
        }
        for (std::size_t i = 0; i < n; ++i)
            tmp[c[(items[i] >> shift) & kMask]++] = items[i];
        std::swap(items, tmp);
    }
    m_order.resize(n);
    m_keys.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        m_order[i] = static_cast<std::uint32_t>(items[i]);
        m_keys[i] = static_cast<std::uint32_t>(items[i] >> 32);
    }
}

}  // namespace camsight::metrics
