// The exceptions of concur::http (requests' names) and of
// concur::asyncio::http (aiohttp's names, as aliases of the same classes, so
// that one catch clause serves both clients).
//
//   concur::Error
//     http::RequestException          requests.RequestException / aiohttp.ClientError
//       http::ConnectionError         cannot connect, reset, closed mid-body
//       http::Timeout                 (aiohttp: ServerTimeoutError)
//         http::ConnectTimeout        no connection within the connect timeout
//         http::ReadTimeout           the server went quiet for the read timeout
//       http::TooManyRedirects
//       http::InvalidURL              malformed, or a scheme libcurl cannot do
//       http::HTTPError               raise_for_status() on a 4xx/5xx response
#pragma once

#include <string>

#include "concur/errors.hpp"

namespace concur::http {

// Any failure of a request. what() names the method, the URL and the cause.
class RequestException : public concur::Error {
public:
    using concur::Error::Error;
};

// No connection could be made (refused, unreachable, name not resolved), or
// the server closed or reset it before the response was complete. Not
// concur::ConnectionError (the OSError family): requests keeps its own too.
class ConnectionError : public RequestException {
public:
    using RequestException::RequestException;
};

class Timeout : public RequestException {
public:
    using RequestException::RequestException;
};
class ConnectTimeout : public Timeout {
public:
    using Timeout::Timeout;
};
class ReadTimeout : public Timeout {
public:
    using Timeout::Timeout;
};

class TooManyRedirects : public RequestException {
public:
    using RequestException::RequestException;
};

class InvalidURL : public RequestException {
public:
    using RequestException::RequestException;
};

// raise_for_status() on a response whose status is 400 or more; what() reads
// like requests': "404 Client Error: Not Found for url: http://...".
class HTTPError : public RequestException {
public:
    HTTPError(int status_code, const std::string& message)
        : RequestException(message), status_code_(status_code) {}
    int status_code() const noexcept { return status_code_; }

private:
    int status_code_;
};

}  // namespace concur::http
