// Pure.
#include "lb/outbox.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace mqlb::lb {

void Outbox::release(ChunkList& chunks, Chunk* c) {
  bool small = c->capacity == kSmallChunkSize;
  c->~Chunk();
  if (small)
    chunks.small.put(c);
  else
    chunks.big.put(c);
}

void Outbox::append(ChunkList& chunks, const char* data, size_t n) {
  size_ += static_cast<uint32_t>(n);
  while (n > 0) {
    if (!tail_ || tail_->end == tail_->capacity) {
      bool small = !head_ && n <= kSmallChunkSize;
      auto* c = new (small ? chunks.small.get() : chunks.big.get()) Chunk;
      c->capacity = small ? kSmallChunkSize : kChunkSize;
      if (tail_)
        tail_->next = c;
      else
        head_ = c;
      tail_ = c;
    }
    size_t room = std::min(n, size_t{tail_->capacity - tail_->end});
    std::memcpy(tail_->data() + tail_->end, data, room);
    tail_->end += static_cast<uint32_t>(room);
    data += room;
    n -= room;
  }
}

int Outbox::gather(iovec (&bufs)[kMaxBufs]) const {
  int n = 0;
  for (Chunk* c = head_; c && n < kMaxBufs; c = c->next)
    bufs[n++] = {c->data() + c->begin, c->end - c->begin};
  return n;
}

void Outbox::consume(ChunkList& chunks, size_t n) {
  size_ -= static_cast<uint32_t>(n);
  while (n > 0) {
    size_t here = head_->end - head_->begin;
    if (n < here) {
      head_->begin += static_cast<uint32_t>(n);
      return;
    }
    n -= here;
    Chunk* done = head_;
    head_ = done->next;
    release(chunks, done);
  }
  if (!head_) tail_ = nullptr;
}

void Outbox::clear(ChunkList& chunks) {
  while (head_) {
    Chunk* c = head_;
    head_ = c->next;
    release(chunks, c);
  }
  tail_ = nullptr;
  size_ = 0;
}

}  // namespace mqlb::lb
