// Shared helpers for the fuzz targets: a per-process scratch file that parsers taking a path
// can read. It lives in /dev/shm (tmpfs: no disk I/O per execution) when that exists, else in
// $TMPDIR or /tmp, and is removed at exit.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace capsule_fuzz {

class ScratchFile {
 public:
  // `suffix` (e.g. ".mp3") is kept: some parsers check the extension.
  ScratchFile(const std::string& stem, const std::string& suffix) {
    std::string dir = "/dev/shm";
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || access(dir.c_str(), W_OK) != 0) {
      const char* t = std::getenv("TMPDIR");
      dir = (t && *t) ? t : "/tmp";
    }
    path_ = dir + "/capsule-fuzz-" + std::to_string(getpid()) + "-" + stem + suffix;
  }
  ~ScratchFile() { unlink(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // Replaces the file's content (mode 0600). Returns false when it could not be written.
  bool Write(const uint8_t* data, size_t size) {
    unlink(path_.c_str());
    int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    size_t done = 0;
    while (done < size) {
      ssize_t n = write(fd, data + done, size - done);
      if (n <= 0) {
        close(fd);
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return close(fd) == 0;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace capsule_fuzz
