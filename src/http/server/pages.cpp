// The site's pages and every response it can give, rendered once when the
// site starts: serving a request is then picking one of them.
#include <cstdio>
#include <string>

#include "concur/errors.hpp"
#include "site.hpp"

namespace concur::http {

std::vector<Page> default_pages() {
    // Sizes of the seeds' sites as requests/aiohttp get them without
    // JavaScript (Baidu's plain-client page is 2,381 bytes); close enough to
    // make the transfers look like the real ones.
    return {{"/baidu", 2381}, {"/weibo", 7168}, {"/jython", 24576}, {"/dice", 512}};
}

std::string page_body(std::string_view path, std::size_t size) {
    std::string head = "<!DOCTYPE html>\n<html><head><title>";
    head.append(path);
    head += "</title></head><body><pre>\n";
    const std::string_view foot = "</pre></body></html>\n";
    std::string s;
    s.reserve(size + 96);
    s = head;
    char line[64];
    for (unsigned n = 1; s.size() < size; ++n) {
        s.append(path);
        int k = std::snprintf(line, sizeof line, " line %06u: the quick brown fox jumps over the lazy dog\n", n);
        s.append(line, static_cast<std::size_t>(k));
    }
    s.resize(size);
    if (size >= head.size() + foot.size()) s.replace(size - foot.size(), foot.size(), foot);
    return s;
}

namespace server {
namespace {

server::Rendered render(std::string_view status, std::string_view type, std::string body,
                        std::string_view extra = {}) {
    std::string head = "HTTP/1.1 ";
    head.append(status);
    head += "\r\nServer: concur\r\nContent-Type: ";
    head.append(type);
    head += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    head.append(extra);
    Rendered r;
    r.keep = head + "Connection: keep-alive\r\n\r\n";
    r.keep_head = r.keep.size();
    r.keep += body;
    r.close = head + "Connection: close\r\n\r\n";
    r.close_head = r.close.size();
    r.close += body;
    return r;
}

}  // namespace

void Site::render_all() {
    for (const Page& p : options.pages) {
        if (p.path.empty() || p.path[0] != '/')
            throw ValueError("SiteOptions.pages: a page's path must start with '/', not '" + p.path + "'");
        if (p.path.find_first_of("?# \r\n") != std::string::npos)
            throw ValueError("SiteOptions.pages: a page's path may not hold '?', '#' or whitespace: '" + p.path + "'");
        auto [it, fresh] = routes_.emplace(std::string_view(p.path), static_cast<std::uint32_t>(renders.size()));
        if (!fresh) throw ValueError("SiteOptions.pages: two pages have the path '" + p.path + "'");
        renders.push_back(render("200 OK", p.content_type, page_body(p.path, p.size)));
    }
    not_found = static_cast<std::uint32_t>(renders.size());
    renders.push_back(render("404 Not Found", "text/plain", "404 Not Found\n"));
    not_allowed = static_cast<std::uint32_t>(renders.size());
    renders.push_back(render("405 Method Not Allowed", "text/plain", "405 Method Not Allowed\n", "Allow: GET, HEAD\r\n"));
    bad_request = static_cast<std::uint32_t>(renders.size());
    renders.push_back(render("400 Bad Request", "text/plain", "400 Bad Request\n"));
}

std::uint32_t Site::route(std::string_view url) const noexcept {
    // Absolute form ("http://host/path"), as a proxy-minded client sends it.
    if (!url.empty() && url[0] != '/') {
        auto scheme = url.find("://");
        if (scheme == std::string_view::npos) return not_found;
        auto slash = url.find('/', scheme + 3);
        url = slash == std::string_view::npos ? std::string_view("/") : url.substr(slash);
    }
    auto q = url.find_first_of("?#");
    if (q != std::string_view::npos) url = url.substr(0, q);
    auto it = routes_.find(url);
    return it == routes_.end() ? not_found : it->second;
}

}  // namespace server
}  // namespace concur::http
