#pragma once
// Private to core/ml's kernel files (Kernels.cpp, DecoderKernels.cpp): 16-float vectors and the exp they share.
// Include only from files compiled with the kernels' -O3 and target clones; nothing here crosses a function boundary
// as a vector.

// Std
#include <cstdint>

namespace camsight::ml::simd {

// 16 floats, loaded and stored unaligned: GCC's vector extension, lowered to AVX-512, AVX2 or SSE by the clone that
// runs (the auto-vectoriser kept the accumulators in memory and ran at ~3 GMAC/s).
typedef float Vec16 __attribute__((vector_size(64), aligned(4), may_alias));

// exp on 16 lanes for arguments <= 0 (softmax after subtracting the maximum): x = n ln 2 + r with |r| <= ln 2 / 2,
// e^r by Cephes' degree-7 polynomial (relative error ~1e-7), 2^n put into the exponent bits. Arguments below -87 give
// e^-87 (still a normal float) rather than denormals; those weights are below float resolution in any sum with the
// maximum's weight 1.
// In place on 16 floats (through memory, so no vector crosses a function boundary of the default clone's ABI).
__attribute__((always_inline)) inline void expNonPositive(float* values)
{
    Vec16 x = *reinterpret_cast<const Vec16*>(values);
    typedef std::int32_t Int16 __attribute__((vector_size(64)));
    const Vec16 lowest = Vec16{} - 87.0f;
    x = x < lowest ? lowest : x;
    const Vec16 magic = Vec16{} + 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer
    const Vec16 n = (x * 1.44269504088896341f + magic) - magic;
    const Vec16 r = x - n * 0.693359375f + n * 2.12194440e-4f;
    Vec16 p = Vec16{} + 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const Int16 bits = (__builtin_convertvector(n, Int16) + 127) << 23;
    Vec16 scaleBy;
    __builtin_memcpy(&scaleBy, &bits, sizeof scaleBy);
    *reinterpret_cast<Vec16*>(values) = p * scaleBy;
}

// GELU (erf form) of 16 floats in place: 0.5 x (1 + erf(x / sqrt 2)), with 1 - erf(z) = 1 / p(z)^16 for z >= 0,
// p a degree-6 polynomial (Abramowitz & Stegun 7.1.28, |error| <= 3e-7): no exp, so about half the work of the
// 7.1.26 form LibTorch uses. For negative x, 1 + erf is taken as that quotient directly (no cancellation); for large
// |x| the power overflows to infinity and the quotient is exactly 0.
__attribute__((always_inline)) inline void gelu16(float* values)
{
    const Vec16 x = *reinterpret_cast<const Vec16*>(values);
    const Vec16 zero{};
    const Vec16 z = (x < zero ? -x : x) * 0.70710678118654752f;
    Vec16 p = z * 0.0000430638f + 0.0002765672f;
    p = p * z + 0.0001520143f;
    p = p * z + 0.0092705272f;
    p = p * z + 0.0422820123f;
    p = p * z + 0.0705230784f;
    p = p * z + 1.0f;
    p = p * p;  // ^2
    p = p * p;  // ^4
    p = p * p;  // ^8
    p = p * p;  // ^16
    const Vec16 tail = 1.0f / p;  // 1 - erf(z)
    *reinterpret_cast<Vec16*>(values) = x * 0.5f * (x < zero ? tail : 2.0f - tail);
}

}  // namespace camsight::ml::simd
