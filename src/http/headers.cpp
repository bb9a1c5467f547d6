#include "concur/http/headers.hpp"

#include <algorithm>
#include <stdexcept>

namespace concur::http {

namespace {
char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

Headers::Headers(std::initializer_list<value_type> items) : items_(items) {}

std::optional<std::string> Headers::get(std::string_view name) const {
    for (const auto& [k, v] : items_)
        if (iequals(k, name)) return v;
    return std::nullopt;
}

std::string Headers::get(std::string_view name, std::string_view fallback) const {
    auto v = get(name);
    return v ? std::move(*v) : std::string(fallback);
}

std::vector<std::string> Headers::get_all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : items_)
        if (iequals(k, name)) out.push_back(v);
    return out;
}

bool Headers::contains(std::string_view name) const {
    return std::any_of(items_.begin(), items_.end(), [&](const value_type& kv) { return iequals(kv.first, name); });
}

const std::string& Headers::at(std::string_view name) const {
    for (const auto& [k, v] : items_)
        if (iequals(k, name)) return v;
    std::string message = "no header named '";
    message.append(name).append("'");
    throw std::out_of_range(message);
}

void Headers::set(std::string name, std::string value) {
    erase(name);
    items_.emplace_back(std::move(name), std::move(value));
}

void Headers::add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }

std::size_t Headers::erase(std::string_view name) {
    auto before = items_.size();
    std::erase_if(items_, [&](const value_type& kv) { return iequals(kv.first, name); });
    return before - items_.size();
}

}  // namespace concur::http
