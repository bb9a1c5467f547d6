// Compile-fail check (tests/wire/CMakeLists.txt): a function whose result
// cannot cross a process (here a type with neither MSGPACK_DEFINE nor a
// concur::wire::codec specialization) must be refused when the call is
// encoded -- at the sender, at compile time, in concur's words ("cannot cross
// a process") -- not when the worker tries to send the result back. With
// -DCONCUR_CONTROL a function returning a serializable value is sent
// instead, which must compile.
#include "concur/wire.hpp"

struct Opaque {  // no MSGPACK_DEFINE, no codec
    int fd;
};

Opaque open_it(int fd) { return Opaque{fd}; }
int open_fd(int fd) { return fd; }

int main() {
    msgpack::sbuffer buf;
#ifndef CONCUR_CONTROL
    concur::wire::encode_call(buf, &open_it, 3);
#else
    concur::wire::encode_call(buf, &open_fd, 3);
#endif
    auto result = concur::wire::decode_result<int>(buf.data(), buf.size());  // the sender's side
    return result;
}
