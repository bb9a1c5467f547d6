// local<T>'s machinery: per-thread tables of entries, per-local cores. See
// local.hpp for who destroys a value when.
#include "concur/threading/local.hpp"

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace concur::threading::detail {

struct LocalEntry;

// One local<T> object, shared with every entry of it so that it outlives them.
struct LocalCore {
    // Guards `entries` and the `value` of every entry. An entry is in
    // `entries` exactly while its value is alive; whoever removes it takes
    // the value and destroys it, outside the lock.
    std::mutex mu;
    std::unordered_set<LocalEntry*> entries;
    // false while the local<T> lives; true once it is destroyed, when every
    // entry still in a thread's table is garbage for that thread to sweep.
    std::atomic<bool> dead{false};
};

// One thread's value of one local<T>; owned by that thread's table.
struct LocalEntry {
    std::shared_ptr<LocalCore> core;
    void* value = nullptr;
    void (*destroy)(void*) noexcept = nullptr;
};

// One thread's values, keyed by core: a core's address is not reused while
// an entry holds it alive, so the key stays unique.
struct LocalTable {
    std::unordered_map<const LocalCore*, std::unique_ptr<LocalEntry>> entries;
    std::size_t sweep_at = 32;  // table size that triggers the next sweep
};

namespace {

// Takes an entry's value out of its core (if still there) and destroys it.
void release_entry(LocalEntry& e) noexcept {
    void* value;
    {
        std::lock_guard g(e.core->mu);
        e.core->entries.erase(&e);
        value = e.value;
        e.value = nullptr;
    }
    if (value != nullptr) e.destroy(value);
}

// Drops the entries of destroyed locals, so that a long-lived thread that
// sees many short-lived locals does not grow without bound.
void sweep(LocalTable& t) {
    for (auto it = t.entries.begin(); it != t.entries.end();) {
        if (it->second->core->dead.load(std::memory_order_acquire))
            it = t.entries.erase(it);
        else
            ++it;
    }
    t.sweep_at = t.entries.size() * 2 > 32 ? t.entries.size() * 2 : 32;
}

}  // namespace

void destroy_local_table(LocalTable* table) noexcept {
    for (auto& [core, entry] : table->entries) release_entry(*entry);
    delete table;
}

LocalBase::LocalBase() : core_(std::make_shared<LocalCore>()) {}

LocalBase::~LocalBase() {
    // One value at a time, destroyed outside the lock, so that no value's
    // destructor runs while this core's mutex is held.
    for (;;) {
        void* value = nullptr;
        void (*destroy)(void*) noexcept = nullptr;
        {
            std::lock_guard g(core_->mu);
            if (core_->entries.empty()) {
                core_->dead.store(true, std::memory_order_release);
                break;
            }
            LocalEntry* e = *core_->entries.begin();
            core_->entries.erase(core_->entries.begin());
            value = e->value;
            destroy = e->destroy;
            e->value = nullptr;
        }
        if (value != nullptr) destroy(value);
    }
    if (LocalTable* t = local_table()) t->entries.erase(core_.get());
}

void* LocalBase::find() const noexcept {
    LocalTable* t = local_table();
    if (t == nullptr) return nullptr;
    auto it = t->entries.find(core_.get());
    return it == t->entries.end() ? nullptr : it->second->value;
}

void LocalBase::insert(void* value, void (*destroy)(void*) noexcept) {
    try {
        LocalTable*& slot = local_table_slot();
        if (slot == nullptr) slot = new LocalTable;
        LocalTable& t = *slot;
        auto it = t.entries.find(core_.get());
        if (it != t.entries.end()) {  // replace: the new value is in place first
            LocalEntry& e = *it->second;
            void* old;
            {
                std::lock_guard g(core_->mu);
                old = e.value;
                e.value = value;
            }
            if (old != nullptr) e.destroy(old);
            return;
        }
        if (t.entries.size() >= t.sweep_at) sweep(t);
        auto entry = std::make_unique<LocalEntry>();
        entry->core = core_;
        entry->destroy = destroy;
        auto [pos, inserted] = t.entries.emplace(core_.get(), nullptr);
        try {
            std::lock_guard g(core_->mu);
            core_->entries.insert(entry.get());
            entry->value = value;
        } catch (...) {
            t.entries.erase(pos);
            throw;
        }
        pos->second = std::move(entry);
    } catch (...) {
        destroy(value);
        throw;
    }
}

void LocalBase::erase() noexcept {
    LocalTable* t = local_table();
    if (t == nullptr) return;
    auto it = t->entries.find(core_.get());
    if (it == t->entries.end()) return;
    std::unique_ptr<LocalEntry> entry = std::move(it->second);
    t->entries.erase(it);
    release_entry(*entry);
}

}  // namespace concur::threading::detail
