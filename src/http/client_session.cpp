// asyncio::http::ClientSession: libcurl's multi-socket API on concur's loop.
//
//   request() --start()--> Transfer (pooled easy handle) --add_handle--> multi
//   loop: fd readable/writable (SockWatch) or curl's timer (CurlTimer)
//           --> curl_multi_socket_action --> finish_done(): CURLMSG_DONE
//           --> Transfer done --> awaiting task woken --> ClientResponse
//   cancel / total timeout --> curl_multi_remove_handle at once
//
// Everything runs on the loop's thread: no locks.
#include "client_session_impl.hpp"

#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "concur/http/response.hpp"

namespace concur::asyncio::http {

namespace detail {

SessionImpl::SessionImpl(ClientSessionOptions o) : options(std::move(o)) {
    cd::global_init();
    cd::build_headers(base_headers_, options.headers, nullptr, false);
    idle_max_ = std::max<std::size_t>(options.limit, 64);
    timer_.impl = this;
    timer_.fire = [](ad::TimerEntry* e) noexcept {
        static_cast<CurlTimer*>(e)->impl->action(CURL_SOCKET_TIMEOUT, 0);
    };
    multi_ = curl_multi_init();
    if (!multi_) throw ClientError("curl_multi_init failed (out of memory?)");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    // libcurl queues transfers over these limits until a connection frees
    // up, as aiohttp's connector does.
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options.limit));
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options.limit_per_host));
    if (options.limit > 0) curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options.limit));
    // HTTP/2 (over TLS, where the server offers it): many requests share one
    // connection as streams. The local peers speak HTTP/1.1, where each
    // request in flight has a connection of its own.
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
}

int SessionImpl::on_socket(CURL* easy, curl_socket_t s, int what, void* self, void* sockp) noexcept {
    auto* im = static_cast<SessionImpl*>(self);
    auto* sw = static_cast<SockWatch*>(sockp);
    Transfer* t = nullptr;
    if (easy) curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
    if (t) t->sock = what == CURL_POLL_REMOVE ? (t->sock == s ? CURL_SOCKET_BAD : t->sock) : s;
    if (what == CURL_POLL_REMOVE) {
        if (sw) im->forget(sw);
        return 0;
    }
    try {
        if (!sw) {
            sw = new SockWatch();
            sw->impl = im;
            sw->fd = s;
            sw->r.sock = sw->w.sock = sw;
            sw->r.flag = CURL_CSELECT_IN;
            sw->w.flag = CURL_CSELECT_OUT;
            sw->r.ready = sw->w.ready = &on_ready;
            sw->next = im->socks_;
            if (im->socks_) im->socks_->prev = sw;
            im->socks_ = sw;
            curl_multi_assign(im->multi_, s, sw);
        }
        im->loop_->watch_fd(s, (what & CURL_POLL_IN) ? &sw->r : nullptr, (what & CURL_POLL_OUT) ? &sw->w : nullptr);
        return 0;
    } catch (...) {
        return -1;  // libcurl fails the transfers on this socket
    }
}

void SessionImpl::forget(SockWatch* s) noexcept {
    loop_->unwatch_fd(s->fd);
    if (multi_) curl_multi_assign(multi_, s->fd, nullptr);
    if (s->prev) s->prev->next = s->next; else socks_ = s->next;
    if (s->next) s->next->prev = s->prev;
    delete s;
}

int SessionImpl::on_timer(CURLM*, long ms, void* self) noexcept {
    auto* im = static_cast<SessionImpl*>(self);
    if (!im->loop_) return 0;
    if (im->timer_.queued()) im->loop_->cancel_timer(&im->timer_);
    if (ms < 0) return 0;
    try {
        im->timer_.when = Clock::now() + std::chrono::milliseconds(ms);
        im->loop_->add_timer(&im->timer_);
        return 0;
    } catch (...) {
        return -1;
    }
}

void SessionImpl::on_ready(ad::IoWatch* w) noexcept {
    auto* side = static_cast<SockWatch::Side*>(w);
    // The SockWatch may be freed inside action(): read it first.
    SessionImpl* im = side->sock->impl;
    im->action(side->sock->fd, side->flag);
}

void SessionImpl::action(curl_socket_t fd, int events) noexcept {
    if (!multi_) return;
    int running = 0;
    curl_multi_socket_action(multi_, fd, events, &running);
    finish_done();
}

void SessionImpl::finish_done() noexcept {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        CURLcode rc = m->data.result;
        Transfer* t = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
        if (!t) continue;
        t->sock = CURL_SOCKET_BAD;  // libcurl finished with it: keeps it for the next request or closed it
        std::exception_ptr err;
        if (rc != CURLE_OK) err = cd::make_error(m->easy_handle, rc, t->errbuf, t->method, t->url, &t->parts);
        abort(t, err ? err : std::exception_ptr());
    }
}

void SessionImpl::unlink(Transfer* t) noexcept {
    if (t->prev) t->prev->next = t->next; else if (active_ == t) active_ = t->next;
    if (t->next) t->next->prev = t->prev;
    t->prev = t->next = nullptr;
}

void SessionImpl::abort(Transfer* t, std::exception_ptr error) noexcept {
    if (t->done) return;
    if (curl_socket_t s = std::exchange(t->sock, CURL_SOCKET_BAD); s != CURL_SOCKET_BAD) {
        // Ended before its response did (cancelled, timed out): an HTTP/1
        // connection in that state can serve nothing else, and the server
        // must see it close now. libcurl closes it in remove_handle, but a
        // socket still connecting is closed there without the socket
        // callback (an io_uring poll then holds the file open until the
        // REMOVE that follows), and CI once saw cancelled connections stay
        // open 30 s under TSan. Shut it down first, whatever libcurl does
        // next. Not over TLS, where the connection may carry other HTTP/2
        // streams.
        char* url = nullptr;
        curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
        if (url && ::strncasecmp(url, "http://", 7) == 0) ::shutdown(s, SHUT_RDWR);
    }
    curl_multi_remove_handle(multi_, t->easy);
    unlink(t);
    if (t->total.queued()) loop_->cancel_timer(&t->total);
    if (t->read.queued()) loop_->cancel_timer(&t->read);
    t->error = std::move(error);
    t->done = true;
    if (t->waiter) t->waiter->task->wakeup();
}

Transfer* SessionImpl::start(std::string& method, std::string& url, const ClientRequestOptions& o) {
    if (closed) throw RuntimeError("the ClientSession is closed: make a new one");
    EventLoop& running = get_running_loop();
    if (!loop_) loop_ = &running;
    else if (loop_ != &running)
        throw RuntimeError("this ClientSession belongs to another event loop: make one per loop");
    Transfer* t;
    if (!idle_.empty()) {
        t = idle_.back();
        idle_.pop_back();
    } else {
        auto fresh = std::make_unique<Transfer>();
        fresh->easy = curl_easy_init();
        if (!fresh->easy) throw ClientError("curl_easy_init failed (out of memory?)");
        t = fresh.release();
    }
    struct Undo {
        SessionImpl* im;
        Transfer* t;
        ~Undo() {
            if (t) SessionImpl::release(t);
        }
    } undo{this, t};
    t->owner = this;
    t->done = false;
    t->error = nullptr;
    t->waiter = nullptr;
    t->method.swap(method);
    t->url.swap(url);
    t->raise_for_status = options.raise_for_status;

    const bool json_body = o.json && !o.data;
    curl_slist* headers = base_headers_.get();
    if (!o.headers.empty() || json_body) {
        cd::build_headers(t->prep.own_headers, options.headers, &o.headers, json_body);
        headers = t->prep.own_headers.get();
    }
    const ClientTimeout& to = o.timeout ? *o.timeout : options.timeout;
    cd::RequestSpec spec;
    spec.method = t->method;
    spec.url = t->url;
    spec.params = &o.params;
    spec.data = &o.data;
    spec.json = &o.json;
    spec.headers = headers;
    spec.follow = o.allow_redirects;
    spec.max_redirects = options.max_redirects;
    spec.connect_timeout = to.connect;
    if (to.sock_connect && (!to.connect || *to.sock_connect < *to.connect)) spec.connect_timeout = to.sock_connect;
    spec.read_timeout = to.sock_read;
    const bool plain = t->method == "GET" && o.params.empty() && o.headers.empty() && !o.data && !o.json &&
                       o.allow_redirects && !o.timeout;
    if (plain && t->plain_get) {
        // The common case (the benchmark's): skip curl_easy_reset and the
        // dozen options that would be set to what they already are.
        std::string full = cd::build_url(t->method, t->url, nullptr);
        t->errbuf[0] = '\0';
        if (curl_easy_setopt(t->easy, CURLOPT_URL, full.c_str()) != CURLE_OK)
            throw InvalidURL(t->method + " " + t->url + ": " + (t->errbuf[0] ? t->errbuf : "libcurl rejected the URL"));
        t->parts.clear();
        t->parts.read_timeout = spec.read_timeout;
    } else {
        t->plain_get = false;
        curl_easy_reset(t->easy);
        cd::configure(t->easy, spec, t->prep, t->parts, t->errbuf);
        curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
        // aiohttp's trust_env=False: no proxy from the environment (and no
        // getenv() scan per request).
        curl_easy_setopt(t->easy, CURLOPT_PROXY, "");
        t->plain_get = plain;
    }
    if (to.sock_read) {
        // Armed once the request goes out; re-armed lazily from last_io, so
        // that a busy transfer costs no timer work per chunk.
        t->parts.on_sent_arg = t;
        t->parts.on_sent = [](void* arg) noexcept {
            auto* tr = static_cast<Transfer*>(arg);
            tr->read.when = Clock::now() + std::chrono::ceil<Clock::duration>(*tr->parts.read_timeout);
            tr->owner->loop_->add_timer(&tr->read);
        };
        t->read.fire = [](ad::TimerEntry* e) noexcept {
            Transfer* tr = static_cast<Transfer::TotalTimer*>(e)->t;
            auto limit = std::chrono::ceil<Clock::duration>(*tr->parts.read_timeout);
            if (Clock::now() - tr->parts.last_io < limit) {
                tr->read.when = tr->parts.last_io + limit;
                tr->owner->loop_->add_timer(&tr->read);
                return;
            }
            tr->parts.read_timed_out = true;
            tr->owner->abort(tr, cd::read_timeout_error(tr->method, tr->url, tr->parts));
        };
    }

    if (to.total) {
        t->total.when = ad::deadline_after(*to.total);
        t->total.fire = [](ad::TimerEntry* e) noexcept {
            Transfer* tr = static_cast<Transfer::TotalTimer*>(e)->t;
            std::exception_ptr err;
            try {
                err = std::make_exception_ptr(TimeoutError(tr->method + " " + tr->url + ": the total timeout passed"));
            } catch (...) {
                err = std::current_exception();
            }
            tr->owner->abort(tr, err);
        };
        loop_->add_timer(&t->total);
    }
    CURLMcode mc = curl_multi_add_handle(multi_, t->easy);
    if (mc != CURLM_OK) {
        if (t->total.queued()) loop_->cancel_timer(&t->total);
        if (t->read.queued()) loop_->cancel_timer(&t->read);
        throw ClientError(t->method + " " + t->url + ": " + curl_multi_strerror(mc));
    }
    t->next = active_;
    if (active_) active_->prev = t;
    active_ = t;
    undo.t = nullptr;
    return t;
}

void SessionImpl::release(Transfer* t) noexcept {
    SessionImpl* im = t->owner;
    t->waiter = nullptr;
    t->error = nullptr;
    t->parts.clear();
    t->prep.own_headers.reset();
    t->prep.body.clear();
    if (im && !im->closed && im->idle_.size() < im->idle_max_) {
        try {
            im->idle_.push_back(t);
            return;
        } catch (...) {
        }
    }
    delete t;
}

ClientResponse SessionImpl::take_response(Transfer* t) {
    ClientResponse r;
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    r.status = static_cast<int>(code);
    r.reason = t->parts.reason.empty() ? std::string(concur::http::reason_phrase(r.status)) : std::move(t->parts.reason);
    r.headers = std::move(t->parts.headers);
    r.content_length = t->parts.content_length;
    r.body_ = std::move(t->parts.body);
    r.url = cd::effective_url(t->easy);
    r.method = t->method;
    return r;
}

void SessionImpl::close() noexcept {
    if (closed) return;
    closed = true;
    while (Transfer* t = active_) {
        std::exception_ptr err;
        try {
            err = std::make_exception_ptr(
                ClientConnectionError(t->method + " " + t->url + ": the ClientSession was closed"));
        } catch (...) {
            err = std::current_exception();
        }
        abort(t, err);
        t->owner = nullptr;  // its awaiter frees it
    }
    for (Transfer* t : idle_) delete t;
    idle_.clear();
    // Closes every connection; libcurl says REMOVE for the sockets it watched.
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
    while (socks_) forget(socks_);
    if (loop_ && timer_.queued()) loop_->cancel_timer(&timer_);
}

Awaiter::~Awaiter() {
    if (!t) return;
    // The frame went away without resuming (its loop closed): end the
    // transfer, waking nobody (the task is going away).
    t->waiter = nullptr;
    if (!t->done && t->owner) t->owner->abort(t, nullptr);
    SessionImpl::release(t);
}

void Awaiter::await_suspend(std::coroutine_handle<> h) {
    task = ad::TaskBase::current();
    if (!task) throw RuntimeError("ClientSession requests can only be awaited from a task on a running loop");
    Suspension::cancel = [](Suspension* s, const std::string*) noexcept {
        auto* self = static_cast<Awaiter*>(s);
        if (Transfer* t = std::exchange(self->t, nullptr)) {
            t->waiter = nullptr;
            // Aborted now, not at the next loop iteration: the connection is
            // closed and the handle back in the pool before cancel() returns.
            if (!t->done && t->owner) t->owner->abort(t, nullptr);
            SessionImpl::release(t);
        }
        self->cancelled = true;
        self->task->wakeup();
        return true;
    };
    t->waiter = this;
    task->suspend(h, this);
}

ClientResponse Awaiter::await_resume() {
    if (task) task->check_cancel();
    if (cancelled) task->raise_cancelled();
    Transfer* tr = std::exchange(t, nullptr);
    struct Release {
        Transfer* t;
        ~Release() { SessionImpl::release(t); }
    } guard{tr};
    if (tr->error) std::rethrow_exception(tr->error);
    ClientResponse r = SessionImpl::take_response(tr);
    if (tr->raise_for_status) r.raise_for_status();
    return r;
}

}  // namespace detail

// ---- ClientResponse --------------------------------------------------------

detail::Ready<nlohmann::json> ClientResponse::json() const { return {cd::parse_json(body_, url)}; }

void ClientResponse::raise_for_status() const {
    if (status >= 400) cd::throw_http_error(status, reason, url);
}

// ---- ClientSession ---------------------------------------------------------

ClientSession::ClientSession(ClientSessionOptions options)
    : impl_(std::make_unique<detail::SessionImpl>(std::move(options))) {}

ClientSession::~ClientSession() = default;

Task<ClientResponse> ClientSession::request(std::string method, std::string url, ClientRequestOptions options) {
    detail::Awaiter a(impl_->start(method, url, options));
    co_return co_await a;
}

namespace {
Task<> nothing() { co_return; }
}  // namespace

Task<> ClientSession::close() {
    impl_->close();  // now, even if the task is never awaited
    return nothing();
}

bool ClientSession::closed() const noexcept { return impl_->closed; }

const ClientSessionOptions& ClientSession::options() const noexcept { return impl_->options; }

}  // namespace concur::asyncio::http
