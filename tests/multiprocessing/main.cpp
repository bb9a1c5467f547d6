// The multiprocessing suites' main(): freeze_support() first, as every
// program using the "spawn" or "forkserver" start methods must, so that a
// child re-executing this binary goes to its work instead of into GoogleTest.
#include <gtest/gtest.h>

#include "concur/multiprocessing/context.hpp"

int main(int argc, char** argv) {
    concur::multiprocessing::freeze_support();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
