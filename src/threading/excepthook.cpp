// Python's threading.excepthook: what happens to an exception that escapes
// Thread::run() (called on the failing thread by Thread's bootstrap).
#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <typeinfo>

#include "concur/threading/thread.hpp"

namespace concur::threading {
namespace detail {
namespace {

struct HookSlot {
    std::mutex mu;
    ExceptHook hook;  // empty: default_excepthook
};
HookSlot& hook_slot() {
    static HookSlot* slot = new HookSlot;  // immortal, as the registry
    return *slot;
}

// "TYPE: what()" of an exception, Python's last traceback line.
std::string describe(const std::exception_ptr& e) {
    if (!e) return "None";
    auto type_name = []() -> std::string {
        const std::type_info* t = abi::__cxa_current_exception_type();
        if (t == nullptr) return "unknown exception";
        int status = 0;
        char* demangled = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
        std::string out = status == 0 && demangled ? demangled : t->name();
        std::free(demangled);
        return out;
    };
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return type_name() + ": " + ex.what();
    } catch (...) {
        return type_name();
    }
}

void write_stderr(const std::string& text) noexcept {
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

}  // namespace

void call_excepthook(std::exception_ptr e, ThreadHandle thread) noexcept {
    try {
        ExceptHook hook;
        {
            std::lock_guard g(hook_slot().mu);
            hook = hook_slot().hook;
        }
        ExceptHookArgs args{std::move(e), std::move(thread)};
        if (hook)
            hook(args);
        else
            default_excepthook(args);
    } catch (...) {
        try {
            write_stderr("Exception in threading.excepthook:\n" +
                         describe(std::current_exception()) + "\n");
        } catch (...) {
        }
    }
}

}  // namespace detail

ExceptHook set_excepthook(ExceptHook hook) {
    detail::HookSlot& slot = detail::hook_slot();
    std::lock_guard g(slot.mu);
    std::swap(slot.hook, hook);
    return hook;
}

void default_excepthook(const ExceptHookArgs& args) {
    std::string text = "Exception in thread ";
    text += args.thread ? args.thread->name() : std::string("<unknown>");
    text += ":\n" + detail::describe(args.exc_value) + "\n";
    detail::write_stderr(text);
}

}  // namespace concur::threading
