// The status page's files (src/control/status/), compiled into the program: CMake writes their
// bytes into status_files.cpp in the build tree (embed.cmake), so there is no build step for the
// page and nothing to install beside the binary.
#pragma once

#include <cstddef>

namespace pharos::control {

struct EmbeddedFile {
  const char* name;  // "index.html"
  const unsigned char* data;
  size_t size;
};

extern const EmbeddedFile kStatusFiles[];
extern const size_t kStatusFileCount;

}  // namespace pharos::control
