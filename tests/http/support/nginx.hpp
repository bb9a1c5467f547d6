// A real nginx (Debian's /usr/sbin/nginx) for the HTTP client tests: started
// in the foreground (no daemon, no master) on a free 127.0.0.1 port with a
// generated config and document root in a temporary directory, stopped and
// removed by the destructor. Its access log records nginx's connection serial
// number per request, so that tests can count connections on the server side.
// nginx is killed when the thread that started it exits: start it (first
// use) on the test's main thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace concur::test {

// A port that was free a moment ago (bound to 0, then released).
inline int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

inline bool can_connect(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// Deterministic bytes of any length (every byte value appears).
inline std::string pattern_body(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    return s;
}

class Nginx {
public:
    static constexpr std::size_t kBigSize = 8u << 20;
    static constexpr const char* kHello = "hello, world\n";

    explicit Nginx(std::string extra_server_conf = "") {
        char tmpl[] = "/tmp/concur-nginx-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        namespace fs = std::filesystem;
        fs::create_directories(dir_ + "/www/gz");
        fs::create_directories(dir_ + "/tmp");
        write(dir_ + "/www/hello.txt", kHello);
        write(dir_ + "/www/1k.html", std::string(1024, 'x'));
        write(dir_ + "/www/big.bin", pattern_body(kBigSize));
        std::string text;
        for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i) + " of a compressible text\n";
        write(dir_ + "/www/gz/text.txt", text);
        for (int attempt = 0; attempt < 5; ++attempt) {
            port_ = free_port();
            write_config(extra_server_conf);
            if (start()) return;
        }
        cleanup();
        throw std::runtime_error("nginx did not start; see its error log");
    }
    Nginx(const Nginx&) = delete;
    Nginx& operator=(const Nginx&) = delete;
    ~Nginx() { cleanup(); }

    int port() const noexcept { return port_; }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
    static std::string gz_text() {
        std::string text;
        for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i) + " of a compressible text\n";
        return text;
    }

    // nginx's connection serial numbers of the requests logged so far, and
    // how many requests there were.
    std::multiset<long> logged_connections() const {
        std::ifstream in(dir_ + "/access.log");
        std::multiset<long> out;
        long c;
        std::string rest;
        while (in >> c && std::getline(in, rest)) out.insert(c);
        return out;
    }

private:
    static void write(const std::string& path, const std::string& content) {
        std::ofstream f(path, std::ios::binary);
        f << content;
    }
    void write_config(const std::string& extra) {
        std::ostringstream c;
        c << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
          << "pid " << dir_ << "/nginx.pid;\nerror_log " << dir_ << "/error.log warn;\n"
          << "events { worker_connections 4096; }\n"
          << "http {\n"
          << "  types { text/plain txt; text/html html; application/octet-stream bin; }\n"
          << "  log_format conn '$connection $request';\n"
          << "  access_log " << dir_ << "/access.log conn;\n"
          << "  client_body_temp_path " << dir_ << "/tmp/body;\n  proxy_temp_path " << dir_ << "/tmp/proxy;\n"
          << "  fastcgi_temp_path " << dir_ << "/tmp/fcgi;\n  uwsgi_temp_path " << dir_ << "/tmp/uwsgi;\n"
          << "  scgi_temp_path " << dir_ << "/tmp/scgi;\n"
          << "  keepalive_requests 1000000;\n  keepalive_timeout 120s;\n"
          << "  server {\n    listen 127.0.0.1:" << port_ << " backlog=4096;\n    root " << dir_ << "/www;\n"
          << "    location = /redirect { return 301 /hello.txt; }\n"
          << "    location = /redirect2 { return 302 /redirect; }\n"
          << "    location = /loop { return 302 /loop; }\n"
          << "    location = /status/204 { return 204; }\n"
          << "    location = /status/404 { return 404; }\n"
          << "    location = /status/500 { return 500; }\n"
          << "    location = /json { default_type application/json; return 200 '{\"name\":\"concur\",\"n\":3}'; }\n"
          // gzip makes nginx stream the body chunked (no Content-Length).
          << "    location /gz/ { gzip on; gzip_types text/plain; gzip_min_length 0; }\n"
          << extra << "  }\n}\n";
        write(dir_ + "/nginx.conf", c.str());
    }
    bool start() {
        pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ == 0) {
            // nginx dies with the test, even one that crashes, and holds none
            // of its output pipes (ctest would wait for them).
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(1);
            int devnull = ::open("/dev/null", O_RDWR);
            ::dup2(devnull, 0);
            ::dup2(devnull, 1);
            ::dup2(devnull, 2);
            std::string err = dir_ + "/startup.log";
            ::execl("/usr/sbin/nginx", "nginx", "-p", dir_.c_str(), "-c", (dir_ + "/nginx.conf").c_str(), "-e",
                    err.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < until) {
            int status;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return false;  // port taken meanwhile, most likely
            }
            if (can_connect(port_)) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        stop();
        return false;
    }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    void cleanup() {
        stop();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    std::string dir_;
    int port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace concur::test
