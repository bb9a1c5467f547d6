// dl_iterate_phdr on both sides: it names the main executable "" in every
// process, where dladdr would give whatever argv[0] was.
#include "concur/wire/function.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <link.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "concur/errors.hpp"

namespace concur::wire {

namespace {

struct Search {
    std::uintptr_t addr = 0;        // in: the address to locate
    const char* module = nullptr;   // in: the module to resolve
    std::uint64_t offset = 0;       // in (resolve) / out (locate)
    std::string found_name;         // out (locate)
    std::uintptr_t found = 0;       // out (resolve)
    bool hit = false;
    bool in_code = false;
};

bool executable_segment_holds(const dl_phdr_info* info, std::uintptr_t addr) {
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const auto& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
        std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
        if (addr >= begin && addr < begin + ph.p_memsz) return true;
    }
    return false;
}

int locate_cb(dl_phdr_info* info, size_t, void* data) {
    auto* s = static_cast<Search*>(data);
    if (!executable_segment_holds(info, s->addr)) return 0;
    s->hit = true;
    s->found_name = info->dlpi_name ? info->dlpi_name : "";
    // The main executable is the first object and has an empty name; the
    // vDSO also has an empty name on some kernels but is never the target.
    s->offset = s->addr - info->dlpi_addr;
    return 1;
}

int resolve_cb(dl_phdr_info* info, size_t, void* data) {
    auto* s = static_cast<Search*>(data);
    const char* name = info->dlpi_name ? info->dlpi_name : "";
    if (std::strcmp(name, s->module) != 0) return 0;
    s->hit = true;
    s->found = info->dlpi_addr + s->offset;
    s->in_code = executable_segment_holds(info, s->found);
    return 1;
}

}  // namespace

CodeAddress locate(const void* code) {
    Search s;
    s.addr = reinterpret_cast<std::uintptr_t>(code);
    dl_iterate_phdr(locate_cb, &s);
    if (!s.hit) throw EncodeError("concur::wire: the function at " + describe(code) +
                                  " is in no loaded module and cannot be called in another process");
    return {std::move(s.found_name), s.offset};
}

const void* resolve(const CodeAddress& where) {
    Search s;
    s.module = where.module.c_str();
    s.offset = where.offset;
    dl_iterate_phdr(resolve_cb, &s);
    std::string module = where.module.empty() ? "the main executable" : where.module;
    if (!s.hit)
        throw DecodeError("concur::wire: the called function's module (" + module +
                          ") is not loaded in this process; load it before the worker starts");
    if (!s.in_code)
        throw DecodeError("concur::wire: offset " + std::to_string(where.offset) + " is outside the code of " +
                          module + ": the sender runs a different build of the program");
    return reinterpret_cast<const void*>(s.found);
}

std::string demangle(const char* mangled) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                               std::free);
    return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}

std::string describe(const void* code) {
    Dl_info info{};
    if (dladdr(code, &info) && info.dli_sname) return demangle(info.dli_sname);
    Search s;
    s.addr = reinterpret_cast<std::uintptr_t>(code);
    dl_iterate_phdr(locate_cb, &s);
    char buf[64];
    std::snprintf(buf, sizeof buf, "+0x%llx", static_cast<unsigned long long>(s.offset));
    if (!s.hit) {
        std::snprintf(buf, sizeof buf, "%p", code);
        return buf;
    }
    return (s.found_name.empty() ? std::string("<main>") : s.found_name) + buf;
}

}  // namespace concur::wire
