// Compile-fail check (tests/wire/CMakeLists.txt): a lambda that captures
// cannot run in another process -- its captures are state that does not
// travel with the function's identity. encode_call must refuse it with
// concur's advice ("pass the captured values as arguments"), not with an
// error from deep inside the wire layer. Built with -DCONCUR_CONTROL, the bad
// line is replaced by the advised one, which must compile: so the check
// cannot pass because of an unrelated error.
#include "concur/wire.hpp"

int main() {
    msgpack::sbuffer buf;
    int offset = 1;
#ifndef CONCUR_CONTROL
    concur::wire::encode_call(
        buf, [offset](int x) { return x + offset; }, 41);
#else
    concur::wire::encode_call(
        buf, [](int x, int off) { return x + off; }, 41, offset);
#endif
    return static_cast<int>(buf.size() == 0);
}
