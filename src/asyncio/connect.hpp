// Address resolution shared by the connecting and the listening side.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "concur/asyncio/task.hpp"

namespace concur::asyncio::detail {

struct Resolved {
    sockaddr_storage addr;
    socklen_t len;
    int family;
};

// getaddrinfo(host, port) for SOCK_STREAM, duplicates dropped. Blocks.
// Throws OSError (the EAI_* code as errno).
std::vector<Resolved> getaddrinfo_blocking(std::string host, uint16_t port, int family, bool passive);

// Numeric hosts (and "" with passive: every interface) at once; names on
// the loop's default executor. Suspends the calling task for the latter.
Task<std::vector<Resolved>> resolve(std::string host, uint16_t port, int family, bool passive);

// Fills `out` with a Unix socket address; false if the path is empty or
// too long.
bool unix_address(const std::string& path, Resolved& out);

}  // namespace concur::asyncio::detail
