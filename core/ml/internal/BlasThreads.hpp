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

}  // namespace camsight::ml
