// http::Session: blocking requests through a pool of libcurl easy handles.
// See session.hpp for the data flow between threads.
#include "concur/http/session.hpp"

#include <curl/curl.h>

#include <array>
#include <mutex>
#include <vector>

#include "curl_common.hpp"

namespace concur::http {

struct Session::Impl {
    SessionOptions options;
    CURLSH* share = nullptr;
    // One mutex per kind of shared data, as libcurl asks.
    std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;
    std::mutex pool_mutex;
    std::vector<CURL*> idle;  // LIFO: the handle used last has a live connection

    explicit Impl(SessionOptions o) : options(std::move(o)) {
        detail::global_init();
        share = curl_share_init();
        if (!share) throw RequestException("curl_share_init failed (out of memory?)");
        curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &lock);
        curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &unlock);
        curl_share_setopt(share, CURLSHOPT_USERDATA, this);
        // Not connections or cookies: libcurl does not support sharing those
        // between threads that use them at the same time.
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
    ~Impl() {
        close_idle();
        curl_share_cleanup(share);
    }

    static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
        static_cast<Impl*>(self)->locks[data].lock();
    }
    static void unlock(CURL*, curl_lock_data data, void* self) { static_cast<Impl*>(self)->locks[data].unlock(); }

    CURL* borrow() {
        {
            std::lock_guard g(pool_mutex);
            if (!idle.empty()) {
                CURL* e = idle.back();
                idle.pop_back();
                return e;
            }
        }
        CURL* e = curl_easy_init();
        if (!e) throw RequestException("curl_easy_init failed (out of memory?)");
        return e;
    }
    void give_back(CURL* e) noexcept {
        {
            std::lock_guard g(pool_mutex);
            if (idle.size() < options.pool_size) {
                try {
                    idle.push_back(e);
                    return;
                } catch (...) {
                }
            }
        }
        curl_easy_cleanup(e);
    }
    void close_idle() noexcept {
        std::vector<CURL*> handles;
        {
            std::lock_guard g(pool_mutex);
            handles.swap(idle);
        }
        for (CURL* e : handles) curl_easy_cleanup(e);
    }
};

Session::Session(SessionOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

SessionOptions& Session::options() noexcept { return impl_->options; }

void Session::close() { impl_->close_idle(); }

Response Session::request(std::string_view method, std::string_view url, const RequestOptions& options) {
    Impl& im = *impl_;
    struct Borrowed {
        Impl& im;
        CURL* e;
        ~Borrowed() {
            // libcurl keeps pointers into this call's frame until the next
            // reset; an idle handle must point at nothing that is gone.
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, nullptr);
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, nullptr);
            curl_easy_setopt(e, CURLOPT_HEADERDATA, nullptr);
            curl_easy_setopt(e, CURLOPT_WRITEDATA, nullptr);
            im.give_back(e);
        }
    } h{im, im.borrow()};
    CURL* easy = h.e;
    curl_easy_reset(easy);  // keeps the handle's connections and caches
    curl_easy_setopt(easy, CURLOPT_SHARE, im.share);

    detail::HeaderList headers;
    detail::build_headers(headers, im.options.headers, &options.headers, options.json && !options.data);
    detail::RequestSpec spec;
    spec.method = method;
    spec.url = url;
    spec.params = &options.params;
    spec.data = &options.data;
    spec.json = &options.json;
    spec.headers = headers.get();
    spec.follow = options.allow_redirects.value_or(method != "HEAD");
    spec.max_redirects = im.options.max_redirects;
    auto timeout = options.timeout ? options.timeout : im.options.timeout;
    spec.connect_timeout = options.connect_timeout ? options.connect_timeout : timeout;
    spec.read_timeout = timeout;
    spec.progress_checks_read_timeout = true;

    detail::Prepared prep;
    detail::ResponseParts parts;
    char errbuf[CURL_ERROR_SIZE];
    detail::configure(easy, spec, prep, parts, errbuf);
    CURLcode rc = curl_easy_perform(easy);
    if (rc != CURLE_OK) std::rethrow_exception(detail::make_error(easy, rc, errbuf, method, url, &parts));

    Response r;
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    r.status_code = static_cast<int>(code);
    r.reason = parts.reason.empty() ? std::string(reason_phrase(r.status_code)) : std::move(parts.reason);
    r.headers = std::move(parts.headers);
    r.content = std::move(parts.body);
    r.url = detail::effective_url(easy);
    curl_off_t total_us = 0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
    r.elapsed = std::chrono::microseconds(total_us);
    return r;
}

}  // namespace concur::http
