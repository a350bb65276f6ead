// The container every checkpoint file uses (shards and indexes alike): a
// preamble, then a list of sections, each compressed (zstd) or stored, each
// with its lengths and checksums (XXH3-64), ending with an END section. The
// byte layout is documented in docs/checkpoint.md; this file is its one
// implementation.
//
// A reader never trusts a length it has not checked: every section header
// carries its own checksum, the stored bytes theirs, the decompressed bytes
// theirs, and the END section the file's length, so a truncated or
// bit-flipped file is refused with a message naming the file, the section and
// what is wrong, before anything is decoded.
//
//   SectionFileWriter out(FileKind::kShard);
//   out.add(kTagHeader, header_bytes, /*level=*/0);   // stored
//   out.add(kTagEntities, entity_bytes, 1);           // zstd level 1
//   std::string file = out.finish();
//
//   SectionFileReader in(file, "ckpt-000001/shard-0-of-1", FileKind::kShard);
//   std::string entities = in.section(kTagEntities);
//
// Errors: dsim::Error (kind kInput) naming the file; the writer throws
// kRuntime only for an internal compression failure.
//
// Thread safety: plain values; a writer or reader belongs to one thread.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dsim/types.hpp"

namespace dsim::checkpoint {

// Every number in a checkpoint is little-endian, as the machine stores it.
static_assert(std::endian::native == std::endian::little,
              "the checkpoint format is little-endian; a big-endian port needs byte swaps here");

inline constexpr char kMagic[8] = {'D', 'S', 'I', 'M', 'C', 'K', 'P', 'T'};
// The version of the whole format: the container and every section's
// encoding. Raise it on any change a reader of the previous version would
// misread; docs/checkpoint.md keeps the history.
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kPreambleBytes = 16;       // magic, version, kind
inline constexpr std::size_t kSectionHeaderBytes = 48;  // see docs/checkpoint.md

enum class FileKind : std::uint32_t { kShard = 1, kIndex = 2 };

// A section tag: four ASCII characters, stored as they read.
constexpr std::uint32_t make_tag(const char (&name)[5]) {
  return std::uint32_t(std::uint8_t(name[0])) | std::uint32_t(std::uint8_t(name[1])) << 8 |
         std::uint32_t(std::uint8_t(name[2])) << 16 | std::uint32_t(std::uint8_t(name[3])) << 24;
}
inline constexpr std::uint32_t kTagHeader = make_tag("HEAD");
inline constexpr std::uint32_t kTagModel = make_tag("MODL");
inline constexpr std::uint32_t kTagTypes = make_tag("TYPE");
inline constexpr std::uint32_t kTagEntities = make_tag("ENTS");
inline constexpr std::uint32_t kTagPending = make_tag("PEND");
inline constexpr std::uint32_t kTagStatistics = make_tag("STAT");
inline constexpr std::uint32_t kTagSeries = make_tag("SERI");
inline constexpr std::uint32_t kTagFigures = make_tag("FIGS");
inline constexpr std::uint32_t kTagShards = make_tag("SHRD");
inline constexpr std::uint32_t kTagEnd = make_tag("END ");

// "ENTS (entities)": the tag and what it holds, for messages.
std::string section_name(std::uint32_t tag);

enum class Codec : std::uint32_t { kStored = 0, kZstd = 1 };

struct SectionInfo {
  std::uint32_t tag = 0;
  Codec codec = Codec::kStored;
  std::uint64_t raw_bytes = 0;     // after decompression
  std::uint64_t stored_bytes = 0;  // in the file
  std::uint64_t stored_checksum = 0;
  std::uint64_t raw_checksum = 0;
  std::uint64_t offset = 0;  // of the stored bytes in the file
};

// XXH3-64 (seed 0) of `bytes`: every checksum in the format.
std::uint64_t checksum(std::string_view bytes);

class SectionFileWriter {
 public:
  explicit SectionFileWriter(FileKind kind);
  ~SectionFileWriter();
  SectionFileWriter(const SectionFileWriter&) = delete;
  SectionFileWriter& operator=(const SectionFileWriter&) = delete;

  // Appends a section holding `raw`: zstd at `level` (1..19: higher is
  // smaller and slower; -1..-7: zstd's fast levels, faster and larger), or
  // stored as is with level 0. `threads` > 0 lets zstd compress with that
  // many threads of its own.
  void add(std::uint32_t tag, std::string_view raw, int level, int threads = 0);
  // The same for a section of `raw_bytes` bytes that come in pieces: begin(),
  // write() them (a SectionSink buffers small values), end(). The raw bytes
  // are never all in memory at once.
  void begin(std::uint32_t tag, std::uint64_t raw_bytes, int level, int threads = 0);
  void write(std::string_view piece);
  // REQUIRES: exactly `raw_bytes` bytes were written since begin().
  void end();
  // Appends the END section and hands the file's bytes over; the writer is
  // spent.
  std::string finish();

 private:
  struct Open;  // the section being written
  std::string out_;
  std::uint32_t sections_ = 0;
  std::unique_ptr<Open> open_;
};

// Buffers the raw bytes of a section being written and hands them to the
// writer in pieces. Usage: SectionSink sink(writer); sink.put(...); ...;
// sink.flush() (also done by the destructor).
class SectionSink {
 public:
  explicit SectionSink(SectionFileWriter& writer) : writer_(writer), buffer_(kBufferBytes) {}
  ~SectionSink() { flush(); }
  SectionSink(const SectionSink&) = delete;
  SectionSink& operator=(const SectionSink&) = delete;
  template <class T>
  requires std::is_arithmetic_v<T>
  void put(T value) {
    if (kBufferBytes - used_ < sizeof(T)) flush();
    std::memcpy(buffer_.data() + used_, &value, sizeof(T));
    used_ += sizeof(T);
  }
  void put_bytes(const void* data, std::size_t n);
  void flush();

 private:
  static constexpr std::size_t kBufferBytes = std::size_t{1} << 18;
  SectionFileWriter& writer_;
  std::vector<char> buffer_;
  std::size_t used_ = 0;
};

class SectionFileReader {
 public:
  // Checks the preamble (magic, format version, kind), every section header
  // and every section's stored checksum, and the END section; keeps a view
  // of `bytes`, which must outlive the reader. `file` names the file in
  // messages. Throws dsim::Error (kInput) naming the file and the problem:
  // empty, not a checkpoint file, another format version, another kind,
  // truncated (where), corrupt (which section), trailing bytes.
  SectionFileReader(std::string_view bytes, std::string file, FileKind kind);

  const std::vector<SectionInfo>& sections() const { return sections_; }
  const SectionInfo* find(std::uint32_t tag) const;
  // The section's raw bytes, decompressed and checked against their
  // checksum. Throws dsim::Error naming the file when it is missing or does
  // not decompress to what its header says.
  std::string section(std::uint32_t tag) const;
  // The section's bytes as stored (compressed or not), checksum checked.
  std::string_view stored_bytes(const SectionInfo& s) const {
    return bytes_.substr(s.offset, s.stored_bytes);
  }
  const std::string& file() const { return file_; }

 private:
  std::string_view bytes_;
  std::string file_;
  std::vector<SectionInfo> sections_;
};

// Appends fixed-width little-endian numbers and length-prefixed strings.
class ByteWriter {
 public:
  template <class T>
  requires std::is_arithmetic_v<T>
  void put(T value) {
    char raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    out_.append(raw, sizeof(T));
  }
  void put_string(std::string_view text) {
    put(static_cast<std::uint32_t>(text.size()));
    out_.append(text);
  }
  void put_bytes(const void* data, std::size_t n) {
    out_.append(static_cast<const char*>(data), n);
  }
  void reserve(std::size_t n) { out_.reserve(n); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what ByteWriter wrote; running past the end throws dsim::Error
// naming the file and the section (a reader of another format, or a writer's
// bug: the checksums have already passed).
class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string_view file, std::uint32_t tag)
      : bytes_(bytes), file_(file), tag_(tag) {}
  template <class T>
  requires std::is_arithmetic_v<T> T take() {
    T value;
    std::memcpy(&value, need(sizeof(T)), sizeof(T));
    return value;
  }
  std::string take_string();
  // `n` bytes, as a view into the section.
  std::string_view take_bytes(std::size_t n) { return {need(n), n}; }
  // A count of items of `item_bytes` each that must fit in what is left.
  std::uint64_t take_count(std::size_t item_bytes);
  std::size_t left() const { return bytes_.size() - at_; }
  // Throws unless every byte was read.
  void expect_end() const;
  [[noreturn]] void fail(const std::string& what) const;

 private:
  const char* need(std::size_t n);
  std::string_view bytes_;
  std::string_view file_;
  std::uint32_t tag_;
  std::size_t at_ = 0;
};

// Reads a section's raw bytes as they are decompressed, a piece at a time
// (the whole section is never in memory), with ByteReader's checks; the raw
// checksum is checked by expect_end(), once every byte was read.
class SectionSource {
 public:
  // Throws dsim::Error naming the file if it has no such section.
  SectionSource(const SectionFileReader& file, std::uint32_t tag);
  ~SectionSource();
  SectionSource(const SectionSource&) = delete;
  SectionSource& operator=(const SectionSource&) = delete;

  template <class T>
  requires std::is_arithmetic_v<T> T take() {
    T value;
    if (static_cast<std::size_t>(end_ - at_) >= sizeof(T)) {
      std::memcpy(&value, at_, sizeof(T));
      at_ += sizeof(T);
    } else {
      take_into(&value, sizeof(T));
    }
    return value;
  }
  void take_into(void* out, std::size_t n);
  std::uint64_t take_count(std::size_t item_bytes);
  std::uint64_t left() const { return raw_bytes_ - (produced_ - (end_ - at_)); }
  void expect_end();
  [[noreturn]] void fail(const std::string& what) const;

 private:
  void refill();
  struct Decompressor;
  std::string_view file_;
  std::uint32_t tag_;
  std::uint64_t raw_bytes_ = 0;
  std::uint64_t raw_checksum_ = 0;
  std::uint64_t produced_ = 0;
  std::unique_ptr<Decompressor> source_;
  const char* at_ = nullptr;
  const char* end_ = nullptr;
};

}  // namespace dsim::checkpoint
