// concur::http: Python's requests (Session, Response, its exceptions) on
// libcurl, and the local site server where one is built. The asyncio client
// (aiohttp's ClientSession) is in <concur/asyncio/http.hpp>.
#pragma once

#include "concur/http/errors.hpp"
#include "concur/http/headers.hpp"
#include "concur/http/request.hpp"
#include "concur/http/response.hpp"
#include "concur/http/session.hpp"

#if __has_include("concur/http/server.hpp")
#include "concur/http/server.hpp"
#endif
