// Local
#include "core/ml/Runtime.h"

// Std
#include <gtest/gtest.h>

#include <thread>

using namespace camsight::ml;

TEST(Runtime, UsesEveryCoreForIntraOpWork)
{
    const RuntimeInfo r = initRuntime();
    EXPECT_EQ(r.intraOpThreads, static_cast<int>(std::thread::hardware_concurrency()));
    EXPECT_FALSE(r.torchVersion.empty());
}

TEST(Runtime, BlasIsNotDebiansReferenceBlas)
{
    // The reference BLAS multiplies ~35x slower than OpenBLAS here; scripts/install-deps.sh selects OpenBLAS.
    const RuntimeInfo r = initRuntime();
    // (A LibTorch built with MKL, as Python's wheels are, is fine too.)
    EXPECT_NE(r.blasName, "reference BLAS") << "LibTorch loaded " << r.blasLibrary;
    EXPECT_TRUE(r.blasName == "OpenBLAS" || r.blasName == "MKL") << "loaded BLAS: " << r.blasName << " " << r.blasLibrary;
}
