// Compile-fail check (tests/wire/CMakeLists.txt): a std::function cannot run
// in another process -- it may hold any callable with any state, and none of
// it travels with a function's identity. encode_call must refuse it with
// concur's advice ("pass the captured values as arguments"). With
// -DCONCUR_CONTROL the same function is sent as a plain function pointer,
// which must compile.
#include <functional>

#include "concur/wire.hpp"

int twice(int x) { return 2 * x; }

int main() {
    msgpack::sbuffer buf;
#ifndef CONCUR_CONTROL
    std::function<int(int)> f = twice;
    concur::wire::encode_call(buf, f, 21);
#else
    concur::wire::encode_call(buf, &twice, 21);
#endif
    return static_cast<int>(buf.size() == 0);
}
