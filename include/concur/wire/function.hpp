// Function identity without registration: a code address is sent as (loaded
// module, offset into it). A forked child, or a re-executed child of the same
// binary, loads the same modules (ASLR moves them, offsets do not change), so
// the receiver finds the same function by adding the offset to the base of
// its own copy of the module. Shared libraries are named as the dynamic
// loader names them (dl_iterate_phdr); the main executable is "".
#pragma once

#include <cstdint>
#include <string>

namespace concur::wire {

struct CodeAddress {
    std::string module;        // "" for the main executable
    std::uint64_t offset = 0;  // from the module's load address
};

// Where `code` lives. Throws wire::EncodeError if it is in no loaded module
// (e.g. JIT code). Any thread; takes the loader's lock briefly.
CodeAddress locate(const void* code);

// The address of `where` in this process. Throws wire::DecodeError if the
// module is not loaded here or the offset is outside its executable code (the
// sender runs another binary). Any thread.
const void* resolve(const CodeAddress& where);

// A readable name for a code address, for error messages: the symbol
// (demangled) where the dynamic symbol table has one, else module+offset.
std::string describe(const void* code);

// Demangles a typeid name (e.g. for exception type names).
std::string demangle(const char* mangled);

}  // namespace concur::wire
