#pragma once
// Private to core/ml: float matrix products on Intel AMX tiles, at float's precision.
//
// AMX multiplies bfloat16 numbers (8 significant bits) into float accumulators, at ~13x the rate of AVX-512 float
// FMAs on this machine's cores. Each float operand is split into three bfloat16 numbers, x = p0 + p1 + p2 exactly,
// with p0 = bf16(x) and p1 = bf16(x - p0) rounded to nearest (|p1| <= 2^-8 |x|, |p2| <= 2^-16 |x|), and a product
// keeps the six products of parts p_i q_j with i + j <= 2: the three left out are each within ~2^-24 of the
// product, float's own rounding. So the result is as close to the exact product as a float GEMM's (tested against
// double), at 1.5-2x OpenBLAS's float rate on the SAM decoder's shapes. (Only for normal floats above ~1e-30 in
// magnitude: smaller parts flush to zero, an error far below anything the SAM decoder's values can see.)
//
// Operands are packed once into three planes of 1 KB tiles: A [m, k] as tiles of 16 rows x 32 k, B [k, n] as tiles
// of 16 pairs of k x 16 columns (AMX's pair-interleaved layout); rows, columns and k past the ends are zero.

// Std
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace camsight::ml::amx {

/// Allocates on 64-byte boundaries, so that every 64-byte row of a packed tile (and of a float result tile) lies in one
/// cache line: at malloc's 16-byte alignment each row spans two lines and tile loads run at half the rate (measured
/// on this machine: 1 KB tile loads at ~55 GB/s instead of ~110 from L1 and L2).
template <class T>
struct CacheLineAllocator {
    using value_type = T;
    CacheLineAllocator() = default;
    template <class U>
    CacheLineAllocator(const CacheLineAllocator<U>&) noexcept
    {
    }
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(64)); }
    template <class U>
    bool operator==(const CacheLineAllocator<U>&) const noexcept
    {
        return true;
    }
    template <class U>
    bool operator!=(const CacheLineAllocator<U>&) const noexcept
    {
        return false;
    }
};

/// Packed operands (packA, packB, packBTransposed), cache-line aligned.
using Tiles = std::vector<std::uint16_t, CacheLineAllocator<std::uint16_t>>;

/// True when this CPU has AMX-BF16 (and AVX512-BF16, which packing uses) and the kernel granted this process the
/// tile state (asked once), and the path is not switched off (setEnabled(false), or CAMSIGHT_AMX=0 in the
/// environment). Elsewhere the callers' float kernels run.
bool enabled();

/// Whether the CPU and kernel allow AMX at all, whatever setEnabled says.
bool available();

/// Switches the AMX path off or (where available) on for this process: tests and benchmarks compare both paths. Not
/// while a decode runs on another thread (each pass decides once which path it takes).
void setEnabled(bool on);

/// uint16 values a packed A [rows, k] or B [k, rows] takes (three planes).
std::size_t packedSize(std::int64_t rows, std::int64_t k);

/// Packs a [m, k] (row stride lda). Packed operands are best 64-byte aligned (Tiles, CacheLineAllocator).
void packA(const float* a, std::int64_t lda, std::int64_t m, std::int64_t k, std::uint16_t* out);
Tiles packA(const float* a, std::int64_t lda, std::int64_t m, std::int64_t k);


/// Packs B [k, n] given as its transpose bt [n, k] (row stride ld).
void packBTransposed(const float* bt, std::int64_t ld, std::int64_t k, std::int64_t n, std::uint16_t* out);

/// Which part products a product keeps: all six with i + j <= 2 (float's precision), or the three with i + j <= 1
/// (each product's error below 2^-16 of it, as TF32's 2^-11 is what PyTorch's convolutions use on GPUs by
/// default; twice the rate).
enum class Precision { Float, Parts3 };

/// Packs b [k, n] (row stride ldb), or b + plus with `plus` [k, n] (row stride ldPlus): the planes that products of
/// `precision` read (the third part only for Float; the same layout and size either way).
void packB(const float* b, std::int64_t ldb, std::int64_t k, std::int64_t n, std::uint16_t* out,
           const float* plus = nullptr, std::int64_t ldPlus = 0, Precision precision = Precision::Float);

/// c [m, n] (row stride ldc) = (accumulate ? c : 0) + A B for packed A [m, k] and B [k, n]. Only where enabled().
void gemm(const std::uint16_t* a, const std::uint16_t* b, std::int64_t m, std::int64_t n, std::int64_t k,
          bool accumulate, float* c, std::int64_t ldc, Precision precision = Precision::Float);

}  // namespace camsight::ml::amx
