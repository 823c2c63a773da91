#!/usr/bin/env bash
# Installs what lowmem needs on a fresh Debian 12 machine (run as root):
# R from Debian's packages and the R packages the tests, docs and benchmarks
# use (tools/debian-packages.txt), debootstrap, which tools/chroot.sh
# uses to test on newer R, and mingw-w64 and wine64 for tools/cross-check.sh. The Rust toolchain (cargo, rustc) is expected on
# the machine already.
set -euo pipefail
cd "$(dirname "$0")"

mapfile -t packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' debian-packages.txt | awk '{print $1}')
packages+=(debootstrap)
# On the host only: the Windows cross toolchain and wine that
# tools/cross-check.sh uses (it installs them itself too, with its rustup
# targets and pip's ziglang).
packages+=(gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 wine64)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 1; }
echo "setup: $(R --version | head -n1); $(cargo --version)"
