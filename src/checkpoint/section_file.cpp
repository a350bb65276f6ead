#include "checkpoint/section_file.hpp"

#include <fmt/format.h>
#include <xxhash.h>
#include <zstd.h>

#include <memory>
#include <utility>

#include "dsim/message.hpp"

namespace dsim::checkpoint {
namespace {

// Section header fields, in file order (docs/checkpoint.md).
struct RawHeader {
  std::uint32_t tag;
  std::uint32_t codec;
  std::uint64_t raw_bytes;
  std::uint64_t stored_bytes;
  std::uint64_t stored_checksum;
  std::uint64_t raw_checksum;
  std::uint64_t header_checksum;  // of the 40 bytes above
};
static_assert(sizeof(RawHeader) == kSectionHeaderBytes);
static_assert(std::is_trivially_copyable_v<RawHeader>);
constexpr std::size_t kCheckedHeaderBytes = offsetof(RawHeader, header_checksum);

std::string header_bytes(std::uint32_t tag, Codec codec, std::uint64_t raw, std::uint64_t stored,
                         std::uint64_t stored_sum, std::uint64_t raw_sum) {
  RawHeader h{tag, static_cast<std::uint32_t>(codec), raw, stored, stored_sum, raw_sum, 0};
  h.header_checksum =
      checksum(std::string_view(reinterpret_cast<const char*>(&h), kCheckedHeaderBytes));
  return std::string(reinterpret_cast<const char*>(&h), sizeof h);
}

std::string tag_text(std::uint32_t tag) {
  std::string text;
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>((tag >> (8 * i)) & 0xff);
    text += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return text;
}

}  // namespace

std::string section_name(std::uint32_t tag) {
  static constexpr std::pair<std::uint32_t, const char*> kNames[] = {
      {kTagHeader, "header"},          {kTagModel, "model"},
      {kTagTypes, "type table"},       {kTagEntities, "entities"},
      {kTagPending, "pending events"}, {kTagStatistics, "statistics"},
      {kTagSeries, "series"},          {kTagFigures, "run figures"},
      {kTagShards, "shard list"},      {kTagEnd, "end"}};
  for (const auto& [known, what] : kNames)
    if (known == tag) return fmt::format("'{}' ({})", tag_text(tag), what);
  return fmt::format("'{}'", tag_text(tag));
}

std::uint64_t checksum(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

// --- Writer ------------------------------------------------------------------

struct SectionFileWriter::Open {
  std::uint32_t tag = 0;
  Codec codec = Codec::kStored;
  std::uint64_t raw_bytes = 0;
  std::uint64_t written = 0;
  std::size_t head = 0;  // where its header goes
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> raw_sum{XXH3_createState(),
                                                                   XXH3_freeState};
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx{nullptr, ZSTD_freeCCtx};
};

SectionFileWriter::SectionFileWriter(FileKind kind) {
  out_.append(kMagic, sizeof kMagic);
  const std::uint32_t words[2] = {kFormatVersion, static_cast<std::uint32_t>(kind)};
  out_.append(reinterpret_cast<const char*>(words), sizeof words);
}

SectionFileWriter::~SectionFileWriter() = default;

void SectionFileWriter::add(std::uint32_t tag, std::string_view raw, int level, int threads) {
  begin(tag, raw.size(), level, threads);
  write(raw);
  end();
}

void SectionFileWriter::begin(std::uint32_t tag, std::uint64_t raw_bytes, int level, int threads) {
  const auto fail = [&](const std::string& what) {
    return Error(fmt::format("internal: checkpoint section {}: {}", section_name(tag), what),
                 Error::Kind::kRuntime);
  };
  if (open_) throw fail("begun while another is open");
  auto open = std::make_unique<Open>();
  open->tag = tag;
  open->codec = level == 0 ? Codec::kStored : Codec::kZstd;
  open->raw_bytes = raw_bytes;
  open->head = out_.size();
  if (!open->raw_sum || XXH3_64bits_reset(open->raw_sum.get()) != XXH_OK)
    throw fail("xxHash cannot make a state");
  if (open->codec == Codec::kZstd) {
    open->cctx.reset(ZSTD_createCCtx());
    if (!open->cctx) throw fail("zstd cannot make a compression context");
    ZSTD_CCtx* c = open->cctx.get();
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);  // ours covers it
    // A libzstd built without threads refuses; it then compresses in this one.
    if (threads > 0) ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, threads);
    const std::size_t rc = ZSTD_CCtx_setPledgedSrcSize(c, raw_bytes);
    if (ZSTD_isError(rc)) throw fail(ZSTD_getErrorName(rc));
  }
  out_.append(kSectionHeaderBytes, '\0');
  open_ = std::move(open);
}

void SectionFileWriter::write(std::string_view piece) {
  Open& open = *open_;
  open.written += piece.size();
  XXH3_64bits_update(open.raw_sum.get(), piece.data(), piece.size());
  if (open.codec == Codec::kStored) {
    out_.append(piece);
    return;
  }
  ZSTD_inBuffer in{piece.data(), piece.size(), 0};
  const std::size_t chunk = ZSTD_CStreamOutSize();
  while (in.pos < in.size) {
    const std::size_t at = out_.size();
    out_.resize(at + chunk);
    ZSTD_outBuffer o{out_.data() + at, chunk, 0};
    const std::size_t rc = ZSTD_compressStream2(open.cctx.get(), &o, &in, ZSTD_e_continue);
    out_.resize(at + o.pos);
    if (ZSTD_isError(rc))
      throw Error(fmt::format("internal: zstd cannot compress checkpoint section {}: {}",
                              section_name(open.tag), ZSTD_getErrorName(rc)),
                  Error::Kind::kRuntime);
  }
}

void SectionFileWriter::end() {
  Open& open = *open_;
  if (open.written != open.raw_bytes)
    throw Error(fmt::format("internal: checkpoint section {} got {} bytes of the {} announced",
                            section_name(open.tag), open.written, open.raw_bytes),
                Error::Kind::kRuntime);
  if (open.codec == Codec::kZstd) {
    const std::size_t chunk = ZSTD_CStreamOutSize();
    ZSTD_inBuffer in{nullptr, 0, 0};
    for (;;) {
      const std::size_t at = out_.size();
      out_.resize(at + chunk);
      ZSTD_outBuffer o{out_.data() + at, chunk, 0};
      const std::size_t left = ZSTD_compressStream2(open.cctx.get(), &o, &in, ZSTD_e_end);
      out_.resize(at + o.pos);
      if (ZSTD_isError(left))
        throw Error(fmt::format("internal: zstd cannot compress checkpoint section {}: {}",
                                section_name(open.tag), ZSTD_getErrorName(left)),
                    Error::Kind::kRuntime);
      if (left == 0) break;
    }
  }
  const std::size_t body = open.head + kSectionHeaderBytes;
  const std::uint64_t stored = out_.size() - body;
  const std::uint64_t stored_sum = checksum(std::string_view(out_.data() + body, stored));
  const std::uint64_t raw_sum = XXH3_64bits_digest(open.raw_sum.get());
  out_.replace(open.head, kSectionHeaderBytes,
               header_bytes(open.tag, open.codec, open.raw_bytes, stored, stored_sum, raw_sum));
  ++sections_;
  open_.reset();
}

std::string SectionFileWriter::finish() {
  if (open_)
    throw Error(fmt::format("internal: checkpoint section {} not ended", section_name(open_->tag)),
                Error::Kind::kRuntime);
  // END: raw_bytes counts the sections before it, raw_checksum is its own
  // offset (the file's length without it) and stored_checksum covers every
  // byte before it, preamble included.
  const std::uint64_t before = checksum(out_);
  out_ += header_bytes(kTagEnd, Codec::kStored, sections_, 0, before, out_.size());
  return std::move(out_);
}

void SectionSink::put_bytes(const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    if (used_ == kBufferBytes) flush();
    const std::size_t k = std::min(n, kBufferBytes - used_);
    std::memcpy(buffer_.data() + used_, p, k);
    used_ += k;
    p += k;
    n -= k;
  }
}

void SectionSink::flush() {
  if (used_ == 0) return;
  writer_.write(std::string_view(buffer_.data(), used_));
  used_ = 0;
}

// --- Reader ------------------------------------------------------------------

SectionFileReader::SectionFileReader(std::string_view bytes, std::string file, FileKind kind)
    : bytes_(bytes), file_(std::move(file)) {
  const auto problem = [&](const std::string& what) {
    return Error(fmt::format("checkpoint file '{}' {}", clip(file_, 160), what));
  };
  if (bytes.empty()) throw problem("is empty");
  const std::size_t magic_seen = std::min(bytes.size(), sizeof kMagic);
  if (std::memcmp(bytes.data(), kMagic, magic_seen) != 0)
    throw problem("is not a dsim checkpoint file (it does not start with 'DSIMCKPT')");
  if (bytes.size() < kPreambleBytes)
    throw problem(fmt::format("is truncated: {} bytes, less than its {}-byte preamble",
                              bytes.size(), kPreambleBytes));
  std::uint32_t version = 0, file_kind = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&file_kind, bytes.data() + 12, 4);
  if (version != kFormatVersion)
    throw problem(
        fmt::format("is in checkpoint format version {}; this dsim reads format version {} only",
                    version, kFormatVersion));

  std::size_t at = kPreambleBytes;
  bool ended = false;
  while (at < bytes.size()) {
    const std::size_t index = sections_.size() + 1;
    if (bytes.size() - at < kSectionHeaderBytes)
      throw problem(fmt::format(
          "is truncated: it ends at byte {}, inside the header of section {} (bytes {} to {})",
          bytes.size(), index, at, at + kSectionHeaderBytes));
    RawHeader h;
    std::memcpy(&h, bytes.data() + at, sizeof h);
    if (checksum(bytes.substr(at, kCheckedHeaderBytes)) != h.header_checksum)
      throw problem(
          fmt::format("is corrupt: the header of section {} (bytes {} to {}) fails its checksum",
                      index, at, at + kSectionHeaderBytes));
    if (h.tag == kTagEnd) {
      if (h.raw_bytes != sections_.size() || h.raw_checksum != at || h.stored_bytes != 0)
        throw problem(fmt::format(
            "is corrupt: its end section (at byte {}) says {} sections and {} bytes, but {} "
            "sections and {} bytes precede it",
            at, h.raw_bytes, h.raw_checksum, sections_.size(), at));
      if (checksum(bytes.substr(0, at)) != h.stored_checksum)
        throw problem("is corrupt: its bytes fail the whole-file checksum in its end section");
      if (at + kSectionHeaderBytes != bytes.size())
        throw problem(fmt::format("is corrupt: {} stray bytes follow its end section",
                                  bytes.size() - at - kSectionHeaderBytes));
      ended = true;
      break;
    }
    SectionInfo s;
    s.tag = h.tag;
    s.codec = static_cast<Codec>(h.codec);
    s.raw_bytes = h.raw_bytes;
    s.stored_bytes = h.stored_bytes;
    s.stored_checksum = h.stored_checksum;
    s.raw_checksum = h.raw_checksum;
    s.offset = at + kSectionHeaderBytes;
    if (h.codec != static_cast<std::uint32_t>(Codec::kStored) &&
        h.codec != static_cast<std::uint32_t>(Codec::kZstd))
      throw problem(
          fmt::format("uses an unknown codec {} in section {}", h.codec, section_name(h.tag)));
    if (s.codec == Codec::kStored &&
        (s.raw_bytes != s.stored_bytes || s.raw_checksum != s.stored_checksum))
      throw problem(fmt::format("is corrupt: stored section {} has two different lengths",
                                section_name(h.tag)));
    if (find(h.tag) != nullptr)
      throw problem(fmt::format("is corrupt: section {} appears twice", section_name(h.tag)));
    if (s.stored_bytes > bytes.size() - s.offset)
      throw problem(
          fmt::format("is truncated: it ends at byte {}, inside section {} (bytes {} to {})",
                      bytes.size(), section_name(h.tag), s.offset, s.offset + s.stored_bytes));
    if (checksum(bytes.substr(s.offset, s.stored_bytes)) != s.stored_checksum)
      throw problem(fmt::format("is corrupt: section {} (bytes {} to {}) fails its checksum",
                                section_name(h.tag), s.offset, s.offset + s.stored_bytes));
    sections_.push_back(s);
    at = s.offset + s.stored_bytes;
  }
  if (!ended)
    throw problem(
        fmt::format("is truncated: it ends at byte {}, after {} sections, without its end section",
                    bytes.size(), sections_.size()));
  if (file_kind != static_cast<std::uint32_t>(kind)) {
    const auto name = [](std::uint32_t k) -> std::string {
      if (k == static_cast<std::uint32_t>(FileKind::kShard)) return "a checkpoint shard";
      if (k == static_cast<std::uint32_t>(FileKind::kIndex)) return "a checkpoint index";
      return fmt::format("of unknown kind {}", k);
    };
    throw problem(
        fmt::format("is {}, not {}", name(file_kind), name(static_cast<std::uint32_t>(kind))));
  }
}

const SectionInfo* SectionFileReader::find(std::uint32_t tag) const {
  for (const auto& s : sections_)
    if (s.tag == tag) return &s;
  return nullptr;
}

std::string SectionFileReader::section(std::uint32_t tag) const {
  const SectionInfo* s = find(tag);
  const auto problem = [&](const std::string& what) {
    return Error(fmt::format("checkpoint file '{}' {}", clip(file_, 160), what));
  };
  if (s == nullptr) throw problem(fmt::format("has no section {}", section_name(tag)));
  const std::string_view stored = bytes_.substr(s->offset, s->stored_bytes);
  std::string raw;
  if (s->codec == Codec::kStored) {
    raw.assign(stored);
  } else {
    const unsigned long long size = ZSTD_getFrameContentSize(stored.data(), stored.size());
    if (size != s->raw_bytes)
      throw problem(
          fmt::format("is corrupt: section {} does not hold a zstd frame of {} bytes (it says {})",
                      section_name(tag), s->raw_bytes,
                      size == ZSTD_CONTENTSIZE_ERROR     ? std::string("it is not zstd")
                      : size == ZSTD_CONTENTSIZE_UNKNOWN ? std::string("no size")
                                                         : std::to_string(size)));
    raw.resize(s->raw_bytes);
    const std::size_t n = ZSTD_decompress(raw.data(), raw.size(), stored.data(), stored.size());
    if (ZSTD_isError(n) || n != s->raw_bytes)
      throw problem(fmt::format("is corrupt: section {} does not decompress: {}", section_name(tag),
                                ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short"));
  }
  if (checksum(raw) != s->raw_checksum)
    throw problem(fmt::format("is corrupt: section {} fails its checksum once decompressed",
                              section_name(tag)));
  return raw;
}

// --- Fields ------------------------------------------------------------------

std::string ByteReader::take_string() {
  const auto n = take<std::uint32_t>();
  return std::string(take_bytes(n));
}

std::uint64_t ByteReader::take_count(std::size_t item_bytes) {
  const auto n = take<std::uint64_t>();
  if (item_bytes > 0 && n > left() / item_bytes)
    fail(fmt::format("a count of {} items of {} bytes, with {} bytes left", n, item_bytes, left()));
  return n;
}

void ByteReader::expect_end() const {
  if (at_ != bytes_.size())
    fail(fmt::format("{} bytes more than its contents", bytes_.size() - at_));
}

void ByteReader::fail(const std::string& what) const {
  throw Error(fmt::format("checkpoint file '{}': section {} does not read as format version {}: {}",
                          clip(file_, 160), section_name(tag_), kFormatVersion, what));
}

// --- Streamed sections ----------------------------------------------------------

struct SectionSource::Decompressor {
  std::string_view stored;
  ZSTD_inBuffer in{nullptr, 0, 0};
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx{nullptr, ZSTD_freeDCtx};
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> raw_sum{nullptr, XXH3_freeState};
  std::vector<char> buffer;
  bool finished = false;  // the frame is complete
};

SectionSource::SectionSource(const SectionFileReader& file, std::uint32_t tag)
    : file_(file.file()), tag_(tag), source_(std::make_unique<Decompressor>()) {
  const SectionInfo* s = file.find(tag);
  const auto problem = [&](const std::string& what) {
    return Error(fmt::format("checkpoint file '{}' {}", clip(file_, 160), what));
  };
  if (s == nullptr) throw problem(fmt::format("has no section {}", section_name(tag)));
  raw_bytes_ = s->raw_bytes;
  raw_checksum_ = s->raw_checksum;
  const std::string_view stored = file.stored_bytes(*s);
  if (s->codec == Codec::kStored) {
    // Its checksum passed when the file was opened.
    at_ = stored.data();
    end_ = stored.data() + stored.size();
    produced_ = stored.size();
    source_->finished = true;
    return;
  }
  const unsigned long long size = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (size != raw_bytes_)
    throw problem(fmt::format("is corrupt: section {} does not hold a zstd frame of {} bytes",
                              section_name(tag), raw_bytes_));
  source_->stored = stored;
  source_->in = {stored.data(), stored.size(), 0};
  source_->dctx.reset(ZSTD_createDCtx());
  source_->raw_sum.reset(XXH3_createState());
  if (!source_->dctx || !source_->raw_sum || XXH3_64bits_reset(source_->raw_sum.get()) != XXH_OK)
    throw Error("internal: cannot make a zstd or xxHash state", Error::Kind::kRuntime);
  source_->buffer.resize(ZSTD_DStreamOutSize());
}

SectionSource::~SectionSource() = default;

void SectionSource::refill() {
  Decompressor& d = *source_;
  while (!d.finished) {
    ZSTD_outBuffer out{d.buffer.data(), d.buffer.size(), 0};
    const std::size_t rc = ZSTD_decompressStream(d.dctx.get(), &out, &d.in);
    if (ZSTD_isError(rc))
      throw Error(
          fmt::format("checkpoint file '{}' is corrupt: section {} does not decompress: "
                      "{}",
                      clip(file_, 160), section_name(tag_), ZSTD_getErrorName(rc)));
    if (rc == 0) d.finished = true;
    if (out.pos > 0) {
      produced_ += out.pos;
      if (produced_ > raw_bytes_)
        throw Error(
            fmt::format("checkpoint file '{}' is corrupt: section {} decompresses to "
                        "more than its {} bytes",
                        clip(file_, 160), section_name(tag_), raw_bytes_));
      XXH3_64bits_update(d.raw_sum.get(), d.buffer.data(), out.pos);
      at_ = d.buffer.data();
      end_ = at_ + out.pos;
      return;
    }
    if (d.in.pos == d.in.size && !d.finished)
      throw Error(
          fmt::format("checkpoint file '{}' is corrupt: section {} ends inside its zstd "
                      "frame",
                      clip(file_, 160), section_name(tag_)));
  }
  fail(fmt::format("it ends after {} bytes where more are needed", produced_));
}

void SectionSource::take_into(void* out, std::size_t n) {
  char* p = static_cast<char*>(out);
  while (n > 0) {
    if (at_ == end_) refill();
    const std::size_t k = std::min<std::size_t>(n, end_ - at_);
    std::memcpy(p, at_, k);
    at_ += k;
    p += k;
    n -= k;
  }
}

std::uint64_t SectionSource::take_count(std::size_t item_bytes) {
  const auto n = take<std::uint64_t>();
  if (item_bytes > 0 && n > left() / item_bytes)
    fail(fmt::format("a count of {} items of {} bytes, with {} bytes left", n, item_bytes, left()));
  return n;
}

void SectionSource::expect_end() {
  if (at_ != end_ || produced_ != raw_bytes_)
    fail(fmt::format("{} bytes more than its contents", left()));
  Decompressor& d = *source_;
  if (!d.finished) {
    char extra;
    ZSTD_outBuffer out{&extra, 1, 0};
    const std::size_t rc = ZSTD_decompressStream(d.dctx.get(), &out, &d.in);
    if (ZSTD_isError(rc) || rc != 0 || out.pos != 0)
      throw Error(
          fmt::format("checkpoint file '{}' is corrupt: section {} does not end where "
                      "its header says",
                      clip(file_, 160), section_name(tag_)));
    d.finished = true;
  }
  if (d.raw_sum && XXH3_64bits_digest(d.raw_sum.get()) != raw_checksum_)
    throw Error(
        fmt::format("checkpoint file '{}' is corrupt: section {} fails its checksum once "
                    "decompressed",
                    clip(file_, 160), section_name(tag_)));
}

void SectionSource::fail(const std::string& what) const {
  throw Error(fmt::format("checkpoint file '{}': section {} does not read as format version {}: {}",
                          clip(file_, 160), section_name(tag_), kFormatVersion, what));
}

const char* ByteReader::need(std::size_t n) {
  if (n > bytes_.size() - at_)
    fail(fmt::format("it ends at byte {} where {} more are needed", bytes_.size(), n));
  const char* p = bytes_.data() + at_;
  at_ += n;
  return p;
}

}  // namespace dsim::checkpoint
