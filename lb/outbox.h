#pragma once
// Bytes waiting to be written to one socket of a session, in chunks from
// the worker's free lists; written with one writev of up to kMaxBufs
// chunks, and a partial write consumes what the socket took. An empty
// outbox owns no chunk. Pure (no sockets): the session does the writev.
// Thread: the session's worker.

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "lb/free_list.h"

namespace mqlb::lb {

class Outbox {
 public:
  static constexpr size_t kChunkSize = 16 * 1024;
  // The first bytes of an empty outbox, when few (a CONNECT waiting for the
  // server connect, a reply the socket did not take at once), go into a
  // small chunk: a 16 KiB one would leave a touched page behind in the
  // allocator for every such session.
  static constexpr size_t kSmallChunkSize = 512 - 24;
  static constexpr int kMaxBufs = 8;
  struct Chunk {
    Chunk* next = nullptr;
    uint32_t begin = 0;     // first byte not yet written
    uint32_t end = 0;       // one past the last byte stored
    uint32_t capacity = 0;  // kChunkSize or kSmallChunkSize
    char* data() { return reinterpret_cast<char*>(this + 1); }
  };
  // Free chunks of both sizes, per worker.
  struct ChunkList {
    FreeList<sizeof(Chunk) + kChunkSize, 32> big;
    FreeList<sizeof(Chunk) + kSmallChunkSize, 1024> small;
  };

  Outbox() = default;
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  size_t size() const { return size_; }  // every byte not yet written
  bool empty() const { return size_ == 0; }

  void append(ChunkList& chunks, const char* data, size_t n);
  // Points `bufs` at the oldest bytes; returns how many it filled.
  int gather(iovec (&bufs)[kMaxBufs]) const;
  // The socket took the first `n` bytes.
  void consume(ChunkList& chunks, size_t n);
  void clear(ChunkList& chunks);
  void swap(Outbox& other) noexcept {
    std::swap(head_, other.head_);
    std::swap(tail_, other.tail_);
    std::swap(size_, other.size_);
  }

 private:
  static void release(ChunkList& chunks, Chunk* c);

  Chunk* head_ = nullptr;
  Chunk* tail_ = nullptr;
  // 32 bits suffice: the relay stops reading at tune.relay_high_water (at
  // most 64 MiB) plus one read.
  uint32_t size_ = 0;
};

}  // namespace mqlb::lb
