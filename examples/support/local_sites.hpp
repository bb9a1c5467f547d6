// The sites the download seeds fetch: the URLs given on the command line, or,
// with none, seed 002's two sites (www.baidu.com and weibo.com) 80 times
// each, served by concur's local site server on 127.0.0.1 with 50 ms of
// added latency per response (a round trip across the internet), so that the
// examples run, and time something realistic, on a machine without internet.
//
//   local_sites::Sites sites(argc, argv);    // starts the server if it needs one
//   download_all_sites(sites.urls);          // the server runs until `sites` goes
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "concur/http/server.hpp"

namespace local_sites {

struct Sites {
    // Throws what http::SiteServer throws when it cannot listen.
    Sites(int argc, char** argv) : urls(argv + 1, argv + argc) {
        if (!urls.empty()) return;
        server = std::make_unique<concur::http::SiteServer>();
        for (int i = 0; i < 80; ++i) {
            urls.push_back(server->url("/baidu"));
            urls.push_back(server->url("/weibo"));
        }
    }

    std::unique_ptr<concur::http::SiteServer> server;  // null when the URLs were given
    std::vector<std::string> urls;
};

}  // namespace local_sites
