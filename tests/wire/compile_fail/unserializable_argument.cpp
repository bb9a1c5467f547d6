// Compile-fail check (tests/wire/CMakeLists.txt): an argument of a type with
// neither MSGPACK_DEFINE nor a concur::wire::codec specialization cannot
// cross a process. encode_call must say so in concur's words ("cannot cross a
// process", naming the type), not with msgpack's "no member named
// msgpack_pack". With -DCONCUR_CONTROL the call sends a serializable value
// instead, which must compile.
#include "concur/wire.hpp"

struct Opaque {  // no MSGPACK_DEFINE, no codec
    int fd;
};

int use(const Opaque& o) { return o.fd; }
int use_fd(int fd) { return fd; }

int main() {
    msgpack::sbuffer buf;
#ifndef CONCUR_CONTROL
    concur::wire::encode_call(buf, &use, Opaque{3});
#else
    concur::wire::encode_call(buf, &use_fd, 3);
#endif
    return static_cast<int>(buf.size() == 0);
}
