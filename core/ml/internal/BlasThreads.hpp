#pragma once
// Private to core/ml.

namespace camsight::ml {

/// Runs small LAPACK/BLAS work on one OpenBLAS thread for the guard's lifetime. OpenBLAS keeps its own thread pool
/// beside LibTorch's OpenMP threads; for a tiny factorisation (the eigen methods' Gram matrix) waking that pool costs
/// several milliseconds of contention, more than the work. Large matrix products keep every thread. Does nothing
/// when the process's BLAS is not OpenBLAS.
class SingleThreadedBlas {
public:
    SingleThreadedBlas();
    ~SingleThreadedBlas();
    SingleThreadedBlas(const SingleThreadedBlas&) = delete;
    SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

private:
    int m_previous = -1;
};

/// Flushes denormal floats to zero (FTZ and DAZ) on the calling thread for the guard's lifetime, then restores the
/// previous mode. A softmax over thousands of keys gives probabilities below 1e-38; every product that touches such a
/// denormal takes a slow microcode path, which made the SAM decoder's attention-times-image products ten times slower
/// than their arithmetic. What is flushed is below float's resolution in any sum it enters. Does nothing on CPUs
/// without SSE control registers.
class FlushDenormals {
public:
    FlushDenormals();
    ~FlushDenormals();
    FlushDenormals(const FlushDenormals&) = delete;
    FlushDenormals& operator=(const FlushDenormals&) = delete;

private:
    unsigned m_previous = 0;
};

}  // namespace camsight::ml
