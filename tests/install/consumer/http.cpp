#include <concur/http.hpp>

#include <cstdio>

// Links concur::http from the installed package: a Session (libcurl's
// handles, no request: no server is needed) and a case-insensitive lookup.
int main() {
    concur::http::Session session;
    concur::http::Headers h;
    h.set("Content-Length", "42");
    std::printf("consumer: %s\n", h.at("content-length").c_str());
    return 0;
}
