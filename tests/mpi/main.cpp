// The mpi suites' main(): freeze_support() first, so that a worker spawned by
// MPIPoolExecutor (this same binary) serves instead of running GoogleTest;
// and on ranks other than 0 GoogleTest prints nothing, so that the output is
// the root's (a failure on any rank still fails the run: mpirun returns it).
#include <gtest/gtest.h>

#include "concur/mpi.hpp"

int main(int argc, char** argv) {
    concur::mpi::freeze_support();
    ::testing::InitGoogleTest(&argc, argv);
    if (concur::mpi::world_rank() != 0) {
        auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
        delete listeners.Release(listeners.default_result_printer());
    }
    return RUN_ALL_TESTS();
}
