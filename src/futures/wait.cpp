#include "concur/futures/wait.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace concur::futures::detail {

using concur::detail::CallbackNode;
using concur::detail::Deadline;
using concur::detail::Parker;
using concur::detail::StateBase;

namespace {

bool failed(const StateBase& s) { return !s.cancelled() && s.error() != nullptr; }

// Counts settlements for wait(); lives in wait_states' frame.
struct WaitShared {
    Parker* parker;
    std::atomic<std::size_t> settled{0};
    std::atomic<bool> any_failed{false};
};

struct WaitNode : CallbackNode {
    WaitShared* shared = nullptr;
    std::atomic<bool> fired{false};
};

}  // namespace

void wait_states(const std::vector<StateBase*>& states, const Deadline& deadline,
                 ReturnWhen return_when) {
    if (return_when == ReturnWhen::ALL_COMPLETED) {
        // Waiting for each in turn is the same condition, and registers a
        // node only on the futures still pending when their turn comes.
        for (StateBase* s : states)
            if (!s->wait(deadline)) return;
        return;
    }
    // Python returns at once if the condition already holds.
    std::size_t done = 0;
    for (StateBase* s : states) {
        if (!s->done()) continue;
        ++done;
        if (return_when == ReturnWhen::FIRST_COMPLETED || failed(*s)) return;
    }
    if (done == states.size()) return;

    Parker& parker = concur::detail::current_parker();
    WaitShared shared{&parker};
    auto satisfied = [&] {
        if (return_when == ReturnWhen::FIRST_COMPLETED)
            return shared.settled.load(std::memory_order_acquire) > 0;
        return shared.any_failed.load(std::memory_order_acquire) ||
               done + shared.settled.load(std::memory_order_acquire) == states.size();
    };

    std::vector<WaitNode> nodes(states.size());
    uint32_t seen = parker.prepare();
    for (std::size_t i = 0; i < states.size(); ++i) {
        nodes[i].shared = &shared;
        if (states[i]->done()) {  // counted above
            nodes[i].fired.store(true, std::memory_order_relaxed);
            continue;
        }
        nodes[i].fire = [](CallbackNode* n, StateBase& s) noexcept {
            auto* node = static_cast<WaitNode*>(n);
            WaitShared* sh = node->shared;
            if (failed(s)) sh->any_failed.store(true, std::memory_order_release);
            sh->settled.fetch_add(1, std::memory_order_acq_rel);
            sh->parker->unpark();  // before `fired`: the waiter's frame is alive until then
            node->fired.store(true, std::memory_order_release);  // last touch of *node
        };
        states[i]->add_callback(&nodes[i]);  // fires at once if settled meanwhile
    }
    while (!satisfied() && !deadline.expired()) {
        parker.park(seen, deadline);
        seen = parker.prepare();
    }
    for (std::size_t i = 0; i < states.size(); ++i) {
        if (nodes[i].fired.load(std::memory_order_acquire)) continue;
        if (!states[i]->remove_callback(&nodes[i])) concur::detail::await_flag(nodes[i].fired);
    }
}

std::vector<bool> first_occurrences(const std::vector<const void*>& keys) {
    // Open addressing over a power-of-two table: Python's set(fs) without
    // std::unordered_set's allocation per element.
    std::size_t cap = 16;
    while (cap < keys.size() * 2) cap <<= 1;
    std::vector<const void*> table(cap, nullptr);
    std::vector<bool> first(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        auto h = reinterpret_cast<std::uintptr_t>(keys[i]);
        h ^= h >> 17;
        h *= 0x9e3779b97f4a7c15ULL;
        std::size_t slot = (h >> 20) & (cap - 1);
        for (;; slot = (slot + 1) & (cap - 1)) {
            if (table[slot] == keys[i]) break;
            if (!table[slot]) {
                table[slot] = keys[i];
                first[i] = true;
                break;
            }
        }
    }
    return first;
}

CompletionQueue::CompletionQueue(std::vector<StateBase*> states)
    : states_(std::move(states)),
      nodes_(new Node[states_.size()]),
      parker_(&concur::detail::current_parker()) {
    ready_.reserve(states_.size());
    // Settled futures first, in input order (Python yields the finished set
    // before waiting); the others register a node.
    for (std::size_t i = 0; i < states_.size(); ++i) {
        Node& n = nodes_[i];
        n.queue = this;
        n.index = i;
        n.fire = &CompletionQueue::on_fire;
        if (states_[i]->done()) {
            n.fired.store(true, std::memory_order_relaxed);
            ready_.push_back(i);
        } else {
            states_[i]->add_callback(&n);  // may fire at once: then it lands on completed_
        }
    }
}

void CompletionQueue::on_fire(CallbackNode* n, StateBase&) noexcept {
    auto* node = static_cast<Node*>(n);
    CompletionQueue* q = node->queue;
    Node* head = q->completed_.load(std::memory_order_relaxed);
    do {
        node->next_done = head;
    } while (!q->completed_.compare_exchange_weak(head, node, std::memory_order_acq_rel,
                                                  std::memory_order_relaxed));
    q->parker_->unpark();  // before `fired`: the queue is alive until then
    node->fired.store(true, std::memory_order_release);  // last touch of *node
}

std::ptrdiff_t CompletionQueue::next(const Deadline& deadline) {
    if (yielded_ == states_.size()) return -1;
    uint32_t seen = parker_->prepare();
    for (;;) {
        if (ready_pos_ < ready_.size()) {
            ++yielded_;
            return static_cast<std::ptrdiff_t>(ready_[ready_pos_++]);
        }
        if (Node* list = completed_.exchange(nullptr, std::memory_order_acq_rel)) {
            std::size_t start = ready_.size();
            for (; list; list = list->next_done) ready_.push_back(list->index);
            std::reverse(ready_.begin() + static_cast<std::ptrdiff_t>(start), ready_.end());
            continue;
        }
        if (deadline.expired())
            throw TimeoutError(std::to_string(states_.size() - yielded_) + " (of " +
                               std::to_string(states_.size()) + ") futures unfinished");
        parker_->park(seen, deadline);
        seen = parker_->prepare();
    }
}

CompletionQueue::~CompletionQueue() {
    for (std::size_t i = 0; i < states_.size(); ++i) {
        Node& n = nodes_[i];
        if (n.fired.load(std::memory_order_acquire)) continue;
        if (!states_[i]->remove_callback(&n))
            while (!n.fired.load(std::memory_order_acquire)) concur::detail::cpu_relax();
    }
}

}  // namespace concur::futures::detail
