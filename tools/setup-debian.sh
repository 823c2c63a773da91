#!/usr/bin/env bash
# Installs what lowmem needs on a fresh Debian 12 machine (run as root):
# R from Debian's packages and the R packages the tests, docs and benchmarks use.
# The Rust toolchain (cargo, rustc) is expected on the machine already.
set -euo pipefail

packages=(
  r-base-dev          # R 4.2.2 with headers, to build the package
  r-cran-testthat     # the test suite
  r-cran-roxygen2     # NAMESPACE and man/
  r-cran-knitr r-cran-rmarkdown  # the vignette
  r-cran-future r-cran-parallelly  # the vignette's and tests' worker examples
  xz-utils            # the vendored crate tarball
  pandoc              # the vignette (R CMD build)
  qpdf                # R CMD check --as-cran: PDF size checks
  strace              # a test that counts write(2) calls per chunk
)

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
