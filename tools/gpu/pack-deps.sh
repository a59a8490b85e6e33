#!/usr/bin/env bash
# The GPU machine has CUDA, compilers and cmake but none of the Debian -dev
# packages the engine builds against, and no network. This copies their
# headers, static libraries and CMake / pkg-config files from this machine
# (after tools/install-deps.sh) into .gpu-deps/ (git-ignored), which
# tools/gpu/check.sh puts on CMAKE_PREFIX_PATH. Carry .gpu-deps with the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
d=.gpu-deps
lib=/usr/lib/x86_64-linux-gnu
rm -rf "$d"
mkdir -p "$d/include" "$d/lib/pkgconfig" "$d/lib/x86_64-linux-gnu/cmake" "$d/share/cmake"
cp -r /usr/include/nlohmann /usr/include/CLI /usr/include/gtest /usr/include/gmock \
  /usr/include/pcre2.h "$d/include/"
cp "$lib/libpcre2-8.a" "$d/lib/"
cp "$lib"/libgtest*.a "$lib"/libgmock*.a "$d/lib/x86_64-linux-gnu/"
cp -r "$lib/cmake/GTest" "$d/lib/x86_64-linux-gnu/cmake/"
cp -r /usr/share/cmake/CLI11 /usr/share/cmake/nlohmann_json "$d/share/cmake/"
sed 's|^prefix=/usr|prefix=${pcfiledir}/../..|; s|^libdir=.*|libdir=${prefix}/lib|' \
  "$lib/pkgconfig/libpcre2-8.pc" >"$d/lib/pkgconfig/libpcre2-8.pc"
du -sh "$d"
