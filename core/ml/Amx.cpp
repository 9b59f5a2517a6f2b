#include "core/ml/internal/Amx.hpp"

// Std
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

// AMX intrinsics from GCC 11 and Clang 12 on; elsewhere the callers' float paths run.
#if defined(__x86_64__) && defined(__linux__) && \
    ((defined(__clang__) && __clang_major__ >= 12) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
#define CAMSIGHT_AMX 1
// GCC 12's avx512fintrin.h: _mm512_srli_epi32 inlined at -O3 warns of its own _mm512_undefined_epi32() operand.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace camsight::ml::amx {
namespace {

constexpr std::int64_t kTile = 512;  // bf16 values in a 1 KB tile

std::int64_t tilesOf(std::int64_t n, std::int64_t size)
{
    return (n + size - 1) / size;
}

std::atomic<bool> g_switchedOff{false};

#if CAMSIGHT_AMX

bool detect()
{
    if (const char* env = std::getenv("CAMSIGHT_AMX"); env && std::strcmp(env, "0") == 0)
        g_switchedOff = true;
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    const bool tile = d & (1u << 24), bf16 = d & (1u << 22), avx512 = b & (1u << 16), avx512bw = b & (1u << 30);
    if (!tile || !bf16 || !avx512 || !avx512bw)
        return false;
    // AVX512-BF16 (the packing's conversions): leaf 7, sub-leaf 1, EAX bit 5.
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || !(a & (1u << 5)))
        return false;
    // Linux hands out the 8 KB tile state only on request (ARCH_REQ_XCOMP_PERM for XTILEDATA); once per process.
    constexpr long kReqXcompPerm = 0x1023, kXtileData = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
}

bool detected()
{
    static const bool yes = detect();
    return yes;
}

// 16 floats rounded to bfloat16 (to nearest, ties to even; denormals to zero) by VCVTNEPS2BF16.
__attribute__((target("avx512f,avx512bw,avx512bf16"), always_inline)) inline __m256i toBf16(__m512 x)
{
    return (__m256i)_mm512_cvtneps_pbh(x);
}

// 16 bfloat16 numbers as floats (their high halves; low halves zero).
__attribute__((target("avx512f,avx512bw"), always_inline)) inline __m512 widen(__m256i b)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
}

// The three bfloat16 parts of 16 floats, as floats with zero low halves (p) and as bfloat16 (b). x - p0 is exact and
// spans at most 16 bits of x's 24; what p1 leaves of it spans at most 8 and so is a bfloat16 number itself:
// x = p0 + p1 + p2 exactly. (VCVTNEPS2BF16 rounds to nearest even; packRows stores the b forms, the transposed
// packing too, and the compiler drops whichever form a caller does not use.)
struct Parts {
    __m512 p[3];
    __m256i b[3];
};

__attribute__((target("avx512f,avx512bw,avx512bf16"), always_inline)) inline Parts split(__m512 x)
{
    Parts s;
    s.b[0] = toBf16(x);
    s.p[0] = widen(s.b[0]);
    const __m512 r1 = _mm512_sub_ps(x, s.p[0]);
    s.b[1] = toBf16(r1);
    s.p[1] = widen(s.b[1]);
    s.p[2] = _mm512_sub_ps(r1, s.p[1]);
    s.b[2] = toBf16(s.p[2]);
    return s;
}

// The same three parts as floats only, for packing in pairs (packColumns): each rounding to nearest as an integer add
// and mask on the float's bits (ties away from zero instead of to even, an equally exact split), six instructions
// against ten for the conversions.
__attribute__((target("avx512f,avx512bw"), always_inline)) inline __m512 roundHalfAway(__m512 v)
{
    const __m512i bits = _mm512_add_epi32(_mm512_castps_si512(v), _mm512_set1_epi32(0x8000));
    return _mm512_castsi512_ps(_mm512_and_si512(bits, _mm512_set1_epi32(int(0xFFFF0000u))));
}

__attribute__((target("avx512f,avx512bw"), always_inline)) inline Parts splitFloats(__m512 x)
{
    Parts s;
    s.p[0] = roundHalfAway(x);
    const __m512 r1 = _mm512_sub_ps(x, s.p[0]);
    s.p[1] = roundHalfAway(r1);
    s.p[2] = _mm512_sub_ps(r1, s.p[1]);
    return s;
}

// Pairs (even, odd) as 32-bit words: even's bf16 in the low half, odd's in the high half.
__attribute__((target("avx512f,avx512bw"), always_inline)) inline __m512i pairs(__m512 even, __m512 odd)
{
    return _mm512_or_si512(_mm512_srli_epi32(_mm512_castps_si512(even), 16), _mm512_castps_si512(odd));
}

__attribute__((target("avx512f,avx512bw"), always_inline)) inline __mmask16 firstLanes(std::int64_t count)
{
    return count >= 16 ? __mmask16(0xFFFF) : count <= 0 ? __mmask16(0) : __mmask16((1u << count) - 1u);
}

struct alignas(64) TileConfig {
    std::uint8_t palette = 1, startRow = 0;
    std::uint8_t reserved[14] = {};
    std::uint16_t bytesPerRow[16] = {};
    std::uint8_t rows[16] = {};
};

// MR x NR tiles of C (tiles 0..3) over all of k, A's tiles in 4-5 and B's in 6-7: for each 32 k, the six products
// of parts (i, j), i + j <= 2 (`full`), or the three with i + j <= 1. Full tiles go to c directly; edge tiles
// through `edge`.
template <int MR, int NR>
__attribute__((target("amx-tile,amx-bf16,avx512f"))) void tileBlock(const std::uint16_t* a, const std::uint16_t* b,
                                                                    std::int64_t aPlane, std::int64_t bPlane,
                                                                    std::int64_t kTiles, std::int64_t tBegin,
                                                                    std::int64_t tEnd, bool full,
                                                                    bool accumulate, float* c,
                                                                    std::int64_t ldc, std::int64_t rowsLeft,
                                                                    std::int64_t colsLeft)
{
    alignas(64) float edge[4][256];
    const auto cTile = [&](int r, int s) -> std::pair<float*, long> {
        const bool whole = rowsLeft >= 16 * (r + 1) && colsLeft >= 16 * (s + 1);
        return whole ? std::pair<float*, long>{c + 16 * r * ldc + 16 * s, long(4 * ldc)}
                     : std::pair<float*, long>{edge[2 * r + s], 64L};
    };
    if (accumulate) {
        for (int r = 0; r < MR; ++r)
            for (int s = 0; s < NR; ++s) {
                const auto [p, ld] = cTile(r, s);
                if (p != edge[2 * r + s])
                    continue;
                std::memset(p, 0, sizeof edge[0]);
                for (std::int64_t i = 0; i < std::min<std::int64_t>(16, rowsLeft - 16 * r); ++i)
                    for (std::int64_t j = 0; j < std::min<std::int64_t>(16, colsLeft - 16 * s); ++j)
                        p[16 * i + j] = c[(16 * r + i) * ldc + 16 * s + j];
            }
        { const auto [p, ld] = cTile(0, 0); _tile_loadd(0, p, ld); }
        if constexpr (NR > 1) { const auto [p, ld] = cTile(0, 1); _tile_loadd(1, p, ld); }
        if constexpr (MR > 1) { const auto [p, ld] = cTile(1, 0); _tile_loadd(2, p, ld); }
        if constexpr (MR > 1 && NR > 1) { const auto [p, ld] = cTile(1, 1); _tile_loadd(3, p, ld); }
    } else {
        _tile_zero(0);
        if constexpr (NR > 1)
            _tile_zero(1);
        if constexpr (MR > 1)
            _tile_zero(2);
        if constexpr (MR > 1 && NR > 1)
            _tile_zero(3);
    }
    // The part products (i, j) in an order where each step reloads only one side's tiles: 14 tile loads per 32 k
    // instead of 24 for the six (1.5x the rate of loading both sides every time), 8 instead of 12 for the three.
    static constexpr std::pair<int, int> kSix[] = {{0, 2}, {0, 1}, {1, 1}, {1, 0}, {2, 0}, {0, 0}};
    static constexpr std::pair<int, int> kThree[] = {{0, 1}, {0, 0}, {1, 0}};
    const std::pair<int, int>* const steps = full ? kSix : kThree;
    const int stepCount = full ? 6 : 3;
    for (std::int64_t t = tBegin; t < tEnd; ++t) {
        const std::uint16_t* at = a + t * kTile;
        const std::uint16_t* bt = b + t * kTile;
        const auto loadA = [&](int part) {
            _tile_loadd(4, at + part * aPlane, 64);
            if constexpr (MR > 1)
                _tile_loadd(5, at + part * aPlane + kTiles * kTile, 64);
        };
        const auto loadB = [&](int part) {
            _tile_loadd(6, bt + part * bPlane, 64);
            if constexpr (NR > 1)
                _tile_loadd(7, bt + part * bPlane + kTiles * kTile, 64);
        };
        const auto multiply = [&] {
            _tile_dpbf16ps(0, 4, 6);
            if constexpr (NR > 1)
                _tile_dpbf16ps(1, 4, 7);
            if constexpr (MR > 1)
                _tile_dpbf16ps(2, 5, 6);
            if constexpr (MR > 1 && NR > 1)
                _tile_dpbf16ps(3, 5, 7);
        };
        int partA = -1, partB = -1;  // the parts in the tile registers
        for (int step = 0; step < stepCount; ++step) {
            const auto [i, j] = steps[step];
            if (i != partA)
                loadA(partA = i);
            if (j != partB)
                loadB(partB = j);
            multiply();  // p_i q_j
        }
    }
    { const auto [p, ld] = cTile(0, 0); _tile_stored(0, p, ld); }
    if constexpr (NR > 1) { const auto [p, ld] = cTile(0, 1); _tile_stored(1, p, ld); }
    if constexpr (MR > 1) { const auto [p, ld] = cTile(1, 0); _tile_stored(2, p, ld); }
    if constexpr (MR > 1 && NR > 1) { const auto [p, ld] = cTile(1, 1); _tile_stored(3, p, ld); }
    for (int r = 0; r < MR; ++r)
        for (int s = 0; s < NR; ++s) {
            const auto [p, ld] = cTile(r, s);
            if (p != edge[2 * r + s])
                continue;
            for (std::int64_t i = 0; i < std::min<std::int64_t>(16, rowsLeft - 16 * r); ++i)
                for (std::int64_t j = 0; j < std::min<std::int64_t>(16, colsLeft - 16 * s); ++j)
                    c[(16 * r + i) * ldc + 16 * s + j] = p[16 * i + j];
        }
}

__attribute__((target("amx-tile,amx-bf16,avx512f"))) void gemmTiles(const std::uint16_t* a, const std::uint16_t* b,
                                                                    std::int64_t m, std::int64_t n, std::int64_t k,
                                                                    bool accumulate, float* c, std::int64_t ldc,
                                                                    bool full)
{
    TileConfig config;
    for (int i = 0; i < 8; ++i) {
        config.rows[i] = 16;
        config.bytesPerRow[i] = 64;
    }
    _tile_loadconfig(&config);
    const std::int64_t mTiles = tilesOf(m, 16), nTiles = tilesOf(n, 16), kTiles = tilesOf(k, 32);
    const std::int64_t aPlane = mTiles * kTiles * kTile, bPlane = nTiles * kTiles * kTile;
    // k in chunks of 8 tiles (256): for a longer k, one chunk's A and B panels stay in L2, the result tiles reloaded
    // per chunk (chunks of 2 and 4 were slower); the decoder's k <= 256 is one chunk.
    constexpr std::int64_t kChunk = 8;
    for (std::int64_t t0 = 0; t0 < kTiles; t0 += kChunk) {
        const std::int64_t t1 = std::min(kTiles, t0 + kChunk);
        const bool add = accumulate || t0 > 0;
        for (std::int64_t j = 0; j < nTiles; j += 2)
            for (std::int64_t i = 0; i < mTiles; i += 2) {
                const std::uint16_t* at = a + i * kTiles * kTile;
                const std::uint16_t* bt = b + j * kTiles * kTile;
                float* ct = c + 16 * i * ldc + 16 * j;
                const std::int64_t rowsLeft = m - 16 * i, colsLeft = n - 16 * j;
                const bool twoM = i + 1 < mTiles, twoN = j + 1 < nTiles;
                if (twoM && twoN)
                    tileBlock<2, 2>(at, bt, aPlane, bPlane, kTiles, t0, t1, full, add, ct, ldc, rowsLeft, colsLeft);
                else if (twoM)
                    tileBlock<2, 1>(at, bt, aPlane, bPlane, kTiles, t0, t1, full, add, ct, ldc, rowsLeft, colsLeft);
                else if (twoN)
                    tileBlock<1, 2>(at, bt, aPlane, bPlane, kTiles, t0, t1, full, add, ct, ldc, rowsLeft, colsLeft);
                else
                    tileBlock<1, 1>(at, bt, aPlane, bPlane, kTiles, t0, t1, full, add, ct, ldc, rowsLeft, colsLeft);
            }
    }
    _tile_release();
}

// The parts of values k0 .. k0 + 31 of row `row` of x [rows, k] (row stride ld), zeros past k and for rows past
// the end.
__attribute__((target("avx512f,avx512bw,avx512bf16"), always_inline)) inline std::pair<Parts, Parts> rowParts(
    const float* x, std::int64_t ld, std::int64_t row, std::int64_t rows, std::int64_t k0, std::int64_t k)
{
    const bool inside = row < rows;
    const float* src = x + (inside ? row : 0) * ld + k0;
    return {split(_mm512_maskz_loadu_ps(inside ? firstLanes(k - k0) : 0, src)),
            split(_mm512_maskz_loadu_ps(inside ? firstLanes(k - k0 - 16) : 0, src + 16))};
}

__attribute__((target("avx512f,avx512bw,avx512bf16"))) void packRows(const float* a, std::int64_t lda,
                                                                    std::int64_t m, std::int64_t k,
                                                                    std::uint16_t* out)
{
    const std::int64_t mTiles = tilesOf(m, 16), kTiles = tilesOf(k, 32), plane = mTiles * kTiles * kTile;
    for (std::int64_t i = 0; i < mTiles; ++i)
        for (std::int64_t t = 0; t < kTiles; ++t) {
            std::uint16_t* tile = out + (i * kTiles + t) * kTile;
            for (std::int64_t r = 0; r < 16; ++r) {
                const std::int64_t row = 16 * i + r;
                const auto [s0, s1] = rowParts(a, lda, row, m, 32 * t, k);
                for (int p = 0; p < 3; ++p) {
                    auto* row = reinterpret_cast<__m256i*>(tile + p * plane + 32 * r);
                    _mm256_storeu_si256(row, s0.b[p]);
                    _mm256_storeu_si256(row + 1, s1.b[p]);
                }
            }
        }
}

// 16 values of row `row` of b (+ plus) from column j, the lanes past n masked; zeros for rows past k.
__attribute__((target("avx512f,avx512bw"), always_inline)) inline __m512 loadRow(const float* b, std::int64_t ldb,
                                                                                 const float* plus,
                                                                                 std::int64_t ldPlus, std::int64_t row,
                                                                                 std::int64_t k, std::int64_t j,
                                                                                 __mmask16 lanes)
{
    const __mmask16 mask = row < k ? lanes : 0;
    const std::int64_t at = row < k ? row : 0;
    const __m512 x = _mm512_maskz_loadu_ps(mask, b + at * ldb + j);
    return plus ? _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, plus + at * ldPlus + j)) : x;
}

__attribute__((target("avx512f,avx512bw"))) void packColumns(const float* b, std::int64_t ldb, const float* plus,
                                                            std::int64_t ldPlus, std::int64_t k, std::int64_t n,
                                                            std::uint16_t* out, int parts)
{
    const std::int64_t nTiles = tilesOf(n, 16), kTiles = tilesOf(k, 32), plane = nTiles * kTiles * kTile;
    for (std::int64_t j = 0; j < nTiles; ++j) {
        const __mmask16 lanes = firstLanes(n - 16 * j);
        for (std::int64_t t = 0; t < kTiles; ++t) {
            std::uint16_t* tile = out + (j * kTiles + t) * kTile;
            for (std::int64_t r = 0; r < 16; ++r) {
                const std::int64_t even = 32 * t + 2 * r;
                const __m512 x0 = loadRow(b, ldb, plus, ldPlus, even, k, 16 * j, lanes);
                const __m512 x1 = loadRow(b, ldb, plus, ldPlus, even + 1, k, 16 * j, lanes);
                const Parts s0 = splitFloats(x0), s1 = splitFloats(x1);
                for (int p = 0; p < parts; ++p)
                    _mm512_storeu_si512(tile + p * plane + 32 * r, pairs(s0.p[p], s1.p[p]));
            }
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512bf16"))) void packColumnsTransposed(const float* bt,
                                                                                 std::int64_t ld, std::int64_t k,
                                                                                 std::int64_t n, std::uint16_t* out)
{
    const std::int64_t nTiles = tilesOf(n, 16), kTiles = tilesOf(k, 32), plane = nTiles * kTiles * kTile;
    alignas(64) std::uint32_t words[3][16][16];  // [part][column][pair of k]
    for (std::int64_t j = 0; j < nTiles; ++j)
        for (std::int64_t t = 0; t < kTiles; ++t) {
            for (std::int64_t col = 0; col < 16; ++col) {
                const auto [s0, s1] = rowParts(bt, ld, 16 * j + col, n, 32 * t, k);
                for (int p = 0; p < 3; ++p) {
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(&words[p][col][0]), s0.b[p]);
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(&words[p][col][8]), s1.b[p]);
                }
            }
            for (int p = 0; p < 3; ++p) {
                auto* tile = reinterpret_cast<std::uint32_t*>(out + p * plane + (j * kTiles + t) * kTile);
                for (int r = 0; r < 16; ++r)
                    for (int col = 0; col < 16; ++col)
                        tile[16 * r + col] = words[p][col][r];
            }
        }
}

#endif  // CAMSIGHT_AMX

}  // namespace

bool available()
{
#if CAMSIGHT_AMX
    return detected();
#else
    return false;
#endif
}

bool enabled()
{
    return available() && !g_switchedOff;
}

void setEnabled(bool on)
{
    g_switchedOff = !on;
}

std::size_t packedSize(std::int64_t rows, std::int64_t k)
{
    return std::size_t(3 * tilesOf(rows, 16) * tilesOf(k, 32) * kTile);
}

Tiles packA(const float* a, std::int64_t lda, std::int64_t m, std::int64_t k)
{
    Tiles tiles(packedSize(m, k));
    packA(a, lda, m, k, tiles.data());
    return tiles;
}

#if CAMSIGHT_AMX
void packA(const float* a, std::int64_t lda, std::int64_t m, std::int64_t k, std::uint16_t* out)
{
    packRows(a, lda, m, k, out);
}

void packB(const float* b, std::int64_t ldb, std::int64_t k, std::int64_t n, std::uint16_t* out, const float* plus,
           std::int64_t ldPlus, Precision precision)
{
    packColumns(b, ldb, plus, ldPlus, k, n, out, precision == Precision::Float ? 3 : 2);
}

void packBTransposed(const float* bt, std::int64_t ld, std::int64_t k, std::int64_t n, std::uint16_t* out)
{
    packColumnsTransposed(bt, ld, k, n, out);
}

void gemm(const std::uint16_t* a, const std::uint16_t* b, std::int64_t m, std::int64_t n, std::int64_t k,
          bool accumulate, float* c, std::int64_t ldc, Precision precision)
{
    gemmTiles(a, b, m, n, k, accumulate, c, ldc, precision == Precision::Float);
}
#else  // never enabled() here: callers take their float paths
void packA(const float*, std::int64_t, std::int64_t, std::int64_t, std::uint16_t*)
{
    throw std::logic_error("AMX products on a build without them");
}
void packB(const float*, std::int64_t, std::int64_t, std::int64_t, std::uint16_t*, const float*, std::int64_t,
           Precision)
{
    throw std::logic_error("AMX products on a build without them");
}
void packBTransposed(const float*, std::int64_t, std::int64_t, std::int64_t, std::uint16_t*)
{
    throw std::logic_error("AMX products on a build without them");
}
void gemm(const std::uint16_t*, const std::uint16_t*, std::int64_t, std::int64_t, std::int64_t, bool, float*,
          std::int64_t, Precision)
{
    throw std::logic_error("AMX products on a build without them");
}
#endif

}  // namespace camsight::ml::amx
