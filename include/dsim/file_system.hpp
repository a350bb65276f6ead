// The file-system operations dsim's writers use to publish files: a seam, so
// a test can inject a full disk or a failing rename (and a host could send
// output elsewhere). The result writers (dsim/output.hpp) take one; by
// default the real, POSIX one.
//
// Every operation returns 0 or an errno value and throws nothing; the
// writers turn a failure into one message naming the user's path.
//
// Thread safety: FileSystem::local() may be used from any thread; an
// implementation used by several threads must be safe for that itself.
#pragma once

#include <filesystem>
#include <string_view>

#include "dsim/export.hpp"

namespace dsim {

class DSIM_API FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Creates the file `path`, which must not exist, holding `content`,
  // flushed to the disk (fsync) and closed.
  virtual int write_file(const std::filesystem::path& path, std::string_view content) = 0;
  // Makes a directory's entries (new files, renames) durable. A file system
  // that cannot sync directories reports success.
  virtual int sync_directory(const std::filesystem::path& path) = 0;
  // Creates one directory; EEXIST when something is there.
  virtual int create_directory(const std::filesystem::path& path) = 0;
  // Creates a directory and its missing parents; 0 when it exists.
  virtual int create_directories(const std::filesystem::path& path) = 0;
  // Removes a file or a directory tree; 0 when nothing is there.
  virtual int remove_all(const std::filesystem::path& path) = 0;
  virtual int rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // Swaps two paths atomically; EINVAL or ENOSYS where the file system
  // cannot (the caller then falls back on two renames).
  virtual int exchange(const std::filesystem::path& a, const std::filesystem::path& b) = 0;

  // The machine's own file system.
  static FileSystem& local();
};

}  // namespace dsim
