// HTTP headers as requests' CaseInsensitiveDict and aiohttp's CIMultiDict:
// names compare without regard to case, insertion order is kept, and a name
// may repeat (Set-Cookie). Plain value type; no thread safety of its own.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace concur::http {

// ASCII case-insensitive equality, as HTTP field names compare (RFC 9110 5.1).
bool iequals(std::string_view a, std::string_view b) noexcept;

class Headers {
public:
    using value_type = std::pair<std::string, std::string>;
    using const_iterator = std::vector<value_type>::const_iterator;

    Headers() = default;
    Headers(std::initializer_list<value_type> items);

    // The first value of `name`, or nullopt.
    std::optional<std::string> get(std::string_view name) const;
    // The first value of `name`, or `fallback` (Python's dict.get(name, default)).
    std::string get(std::string_view name, std::string_view fallback) const;
    // Every value of `name`, in order (aiohttp's getall).
    std::vector<std::string> get_all(std::string_view name) const;
    bool contains(std::string_view name) const;

    // The first value of `name`; throws std::out_of_range naming the header
    // when there is none (Python's KeyError).
    const std::string& at(std::string_view name) const;

    // Replaces every value of `name` with this one (requests' h[name] = v).
    void set(std::string name, std::string value);
    // Adds one more value, keeping those there (aiohttp's add).
    void add(std::string name, std::string value);
    // Removes every value of `name`; returns how many there were.
    std::size_t erase(std::string_view name);

    std::size_t size() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.empty(); }
    const_iterator begin() const noexcept { return items_.begin(); }
    const_iterator end() const noexcept { return items_.end(); }

    friend bool operator==(const Headers&, const Headers&) = default;

private:
    std::vector<value_type> items_;
};

}  // namespace concur::http
