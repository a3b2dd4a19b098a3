#pragma once
// A bounded free list of fixed-size blocks, so that the steady state of a
// worker allocates nothing per session: sessions, connect and write
// requests and outbox chunks come back to the list of the worker that
// freed them. Thread: one (each worker has its own lists).

#include <cstddef>
#include <new>

namespace mqlb::lb {

template <size_t Size, size_t Keep>
class FreeList {
 public:
  FreeList() = default;
  FreeList(const FreeList&) = delete;
  FreeList& operator=(const FreeList&) = delete;
  ~FreeList() {
    while (head_) {
      Node* n = head_;
      head_ = n->next;
      ::operator delete(n);
    }
  }

  void* get() {
    if (!head_) return ::operator new(Size);
    Node* n = head_;
    head_ = n->next;
    --count_;
    return n;
  }
  // Keeps at most `Keep` blocks; beyond that they go back to the allocator,
  // so a burst does not pin its peak memory for ever.
  void put(void* p) {
    if (count_ >= Keep) {
      ::operator delete(p);
      return;
    }
    head_ = new (p) Node{head_};
    ++count_;
  }

 private:
  static_assert(Size >= sizeof(void*));
  struct Node {
    Node* next;
  };
  Node* head_ = nullptr;
  size_t count_ = 0;
};

}  // namespace mqlb::lb
