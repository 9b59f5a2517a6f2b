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

void RankOrder::assign(const float* values, std::size_t n)
{
    if (n > 0xffffffffu)
        throw std::length_error("heatmap with more than 2^32 voxels");
    // LSD radix sort of 64-bit items (key << 32 | index) over the key's three 11-bit digits. Each pass is stable, so
    // equal keys stay in index order. The three histograms are counted in one read pass; the first scatter reads the
    // values again instead of a stored copy, and the last one writes the split order and keys directly.
    constexpr int kBits = 11;
    constexpr std::uint32_t kBuckets = 1u << kBits, kMask = kBuckets - 1;
    m_order.resize(n);
    m_keys.resize(n);
    if (n == 0)
        return;
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
    std::uint32_t count[3][kBuckets] = {};
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t k = descendingKey(values[i]);
        ++count[0][k & kMask];
        ++count[1][(k >> kBits) & kMask];
        ++count[2][k >> (2 * kBits)];
    }
    // Passes whose digit is the same for every key would move nothing: skip them.
    const std::uint32_t k0 = descendingKey(values[0]);
    int passes[3], nPasses = 0;
    for (int p = 0; p < 3; ++p)
        if (count[p][(k0 >> (p * kBits)) & kMask] != n)
            passes[nPasses++] = p;
    for (int p = 0; p < 3; ++p) {
        std::uint32_t sum = 0;
        for (std::uint32_t b = 0; b < kBuckets; ++b) {
            const std::uint32_t t = count[p][b];
            count[p][b] = sum;
            sum += t;
        }
    }
    std::uint64_t* src = scratch;
    std::uint64_t* dst = scratch + n;
    for (int j = 0; j < nPasses; ++j) {
        const int p = passes[j];
        std::uint32_t* c = count[p];
        const int shift = p * kBits;
        const bool last = j + 1 == nPasses;
        if (j == 0 && last) {  // one pass: values in, order and keys out
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint32_t k = descendingKey(values[i]);
                const std::uint32_t d = c[(k >> shift) & kMask]++;
                m_order[d] = static_cast<std::uint32_t>(i);
                m_keys[d] = k;
            }
        } else if (j == 0) {
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint32_t k = descendingKey(values[i]);
                dst[c[(k >> shift) & kMask]++] = (std::uint64_t(k) << 32) | i;
            }
        } else if (!last) {
            for (std::size_t i = 0; i < n; ++i)
                dst[c[(src[i] >> (32 + shift)) & kMask]++] = src[i];
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint64_t item = src[i];
                const std::uint32_t d = c[(item >> (32 + shift)) & kMask]++;
                m_order[d] = static_cast<std::uint32_t>(item);
                m_keys[d] = static_cast<std::uint32_t>(item >> 32);
            }
        }
        std::swap(src, dst);
    }
    if (nPasses == 0) {  // every key equal: index order
        const std::uint32_t k = descendingKey(values[0]);
        for (std::size_t i = 0; i < n; ++i) {
            m_order[i] = static_cast<std::uint32_t>(i);
            m_keys[i] = k;
        }
    }
}

}  // namespace camsight::metrics
