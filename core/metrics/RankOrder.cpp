#include "core/metrics/RankOrder.h"

// Std
#include <cmath>
#include <cstring>
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
    // LSD radix sort over 11-bit digits (3 passes) of (key, index) pairs; each pass is stable, so equal keys stay
    // in index order.
    std::vector<std::uint32_t> keys(n), keys2(n), idx(n), idx2(n);
    for (std::size_t i = 0; i < n; ++i) {
        keys[i] = descendingKey(values[i]);
        idx[i] = static_cast<std::uint32_t>(i);
    }
    constexpr int kBits = 11;
    constexpr std::uint32_t kBuckets = 1u << kBits;
    std::vector<std::size_t> count(kBuckets);
    for (int shift = 0; shift < 32; shift += kBits) {
        std::fill(count.begin(), count.end(), 0);
        for (std::size_t i = 0; i < n; ++i)
            ++count[(keys[i] >> shift) & (kBuckets - 1)];
        if (count[(keys.empty() ? 0 : keys[0] >> shift) & (kBuckets - 1)] == n)
            continue;  // every key has this digit: the pass would not move anything
        std::size_t sum = 0;
        for (auto& c : count) {
            const std::size_t t = c;
            c = sum;
            sum += t;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t dst = count[(keys[i] >> shift) & (kBuckets - 1)]++;
            keys2[dst] = keys[i];
            idx2[dst] = idx[i];
        }
        keys.swap(keys2);
        idx.swap(idx2);
    }
    m_order = std::move(idx);
    m_runEnd.assign(n, 0);
    for (std::size_t r = 0; r < n;) {
        std::size_t e = r + 1;
        while (e < n && keys[e] == keys[r])
            ++e;
        m_runEnd[r] = static_cast<std::uint32_t>(e);
        r = e;
    }
}

}  // namespace camsight::metrics
