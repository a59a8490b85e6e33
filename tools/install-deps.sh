#!/usr/bin/env bash
# Installs what metal-attention needs to build and test on Debian 12.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config git clang libclang-rt-14-dev clang-format \
  libgtest-dev libgmock-dev libbenchmark-dev \
  libpcre2-dev nlohmann-json3-dev libcli11-dev python3 >/dev/null
echo "dependencies installed"
