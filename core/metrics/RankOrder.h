#pragma once
// Std
#include <cstddef>
#include <cstdint>
#include <vector>

namespace camsight::metrics {

/// The voxels of a heatmap in descending order of value, ties kept in ascending index order (a stable descending
/// sort), with runs of equal values marked. Computed once and shared by every rank-based metric.
/// NaN sorts below every number. -0.0 and +0.0 are equal.
class RankOrder {
public:
    RankOrder() = default;
    RankOrder(const float* values, std::size_t n) { assign(values, n); }
    /// Recomputes the order for new values, reusing this object's memory.
    void assign(const float* values, std::size_t n);

    std::size_t size() const { return m_order.size(); }
    /// Index of the voxel at descending rank r (0 = largest value).
    std::uint32_t at(std::size_t r) const { return m_order[r]; }
    const std::vector<std::uint32_t>& order() const { return m_order; }
    /// Rank one past the end of the tie run that contains rank r (O(run length)).
    std::size_t runEnd(std::size_t r) const
    {
        const std::uint32_t k = m_keys[r];
        while (++r < m_keys.size() && m_keys[r] == k) {
        }
        return r;
    }
    /// Number of leading ranks whose value v satisfies pred(v), for a predicate true on a prefix of the order
    /// (e.g. v >= t); binary search, O(log n). `values` are those the order was computed from.
    template <typename Pred>
    std::size_t prefixWhere(const float* values, Pred pred) const
    {
        std::size_t lo = 0, hi = m_order.size();
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (pred(values[m_order[mid]]))
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

private:
    std::vector<std::uint32_t> m_order;
    std::vector<std::uint32_t> m_keys;  // descendingKey of the value at each rank
};

/// A 32-bit key whose unsigned ascending order is the float's descending order (NaN last, -0 == +0).
std::uint32_t descendingKey(float v);

}  // namespace camsight::metrics
