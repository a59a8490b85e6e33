#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace ma {

namespace {

// Reads the whole file into fresh anonymous memory advised for huge pages.
void* read_into_anonymous(int fd, size_t size, size_t mapped, const std::string& path) {
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw Error(path + ": cannot allocate " + std::to_string(size) + " bytes");
  ::madvise(p, mapped, MADV_HUGEPAGE);  // a hint; fine if the kernel ignores it
  size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd, static_cast<uint8_t*>(p) + done, size - done, static_cast<off_t>(done));
    if (n <= 0) {
      const int err = errno;
      ::munmap(p, mapped);
      throw Error(path +
                  ": read failed: " + (n == 0 ? "unexpected end of file" : std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  ::mprotect(p, mapped, PROT_READ);
  return p;
}

}  // namespace

MappedFile::MappedFile(const std::string& path, LoadMode mode) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  mapped_size_ = size_;
  if (size_ > 0 && mode == LoadMode::kCopyToAnonymous) {
    constexpr size_t kHugePage = size_t{2} << 20;
    mapped_size_ = (size_ + kHugePage - 1) / kHugePage * kHugePage;
    try {
      data_ = static_cast<const uint8_t*>(read_into_anonymous(fd, size_, mapped_size_, path));
    } catch (...) {
      ::close(fd);
      throw;
    }
  } else if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw Error(path + ": cannot map: " + std::strerror(err));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), mapped_size_);
}

}  // namespace ma
