#pragma once
// Bytes waiting to be written to one socket of a session, in chunks from
// the worker's free lists. Bytes handed to uv_write stay where
// they are until the write completes (new bytes go after them, in the same
// chunk or a new one), and up to kMaxBufs chunks go out in one uv_write.
// An empty outbox owns no chunk. Thread: the session's worker.

#include <uv.h>

#include <cstddef>
#include <cstdint>

#include "lb/free_list.h"

namespace mqlb::lb {

class Outbox {
 public:
  static constexpr size_t kChunkSize = 16 * 1024;
  // The first bytes of an empty outbox, when few (a CONNECT waiting for the
  // server connect, a reply the socket did not take at once), go into a
  // small chunk: a 16 KiB one would leave a touched page behind in the
  // allocator for every such session.
  static constexpr size_t kSmallChunkSize = 512 - 16;
  // uv_write keeps up to four buffers inside the request; more would be
  // copied into a malloc'd array.
  static constexpr int kMaxBufs = 4;
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
  bool writing() const { return inflight_ != 0; }

  void append(ChunkList& chunks, const char* data, size_t n);
  // Fills `bufs` with the bytes not yet in flight, marks them in flight and
  // returns how many buffers it filled (0 when there is nothing new).
  int start_write(uv_buf_t (&bufs)[kMaxBufs]);
  // The write of everything in flight completed: those bytes are dropped.
  void write_done(ChunkList& chunks);
  void clear(ChunkList& chunks);

 private:
  static void release(ChunkList& chunks, Chunk* c);

  Chunk* head_ = nullptr;
  Chunk* tail_ = nullptr;
  // 32 bits suffice: the relay stops reading at tune.relay_high_water (at
  // most 64 MiB) plus one read.
  uint32_t size_ = 0;
  uint32_t inflight_ = 0;  // bytes handed to uv_write, from head_->begin on
};

}  // namespace mqlb::lb
