#!/usr/bin/env bash
# Installs the build tree into a scratch prefix and builds a consumer against
# it with find_package(concur) and with pkg-config; both must print 42.
#   check.sh BUILD_DIR CXX
set -euo pipefail
build="$1"; cxx="$2"
here="$(cd "$(dirname "$0")" && pwd)"
prefix="$build/install-check/prefix"
rm -rf "$build/install-check"
cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S "$here/consumer" -B "$build/install-check/cmake" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
ninja -C "$build/install-check/cmake" >/dev/null
"$build/install-check/cmake/consumer_cmake" | grep -qx "consumer: 42"
"$build/install-check/cmake/consumer_http" | grep -qx "consumer: 42"
pc_dir=$(dirname "$(find "$prefix" -name concur.pc | head -1)")
flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs concur)
# shellcheck disable=SC2086
"$cxx" "$here/consumer/main.cpp" $flags -o "$build/install-check/consumer_pc"
"$build/install-check/consumer_pc" | grep -qx "consumer: 42"
echo "install check passed: find_package(concur) and pkg-config both work"
