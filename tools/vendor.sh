#!/usr/bin/env bash
# Regenerates what an offline build needs, from Cargo.lock:
#   src/rust/Cargo.lock     the lockfile the package tarball builds with
#   src/rust/vendor.tar.xz  every locked crate, as `cargo vendor` lays them out
#   inst/AUTHORS, LICENSE.note  the crates' authors and licenses
# The tarball is reproducible: sorted names, fixed times and owners.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo generate-lockfile --offline >/dev/null 2>&1 || true
cargo metadata --locked --format-version 1 >/dev/null  # fails if Cargo.lock is stale
cp Cargo.lock src/rust/Cargo.lock

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo vendor --locked --versioned-dirs --manifest-path src/rust/Cargo.toml "$tmp/vendor" >/dev/null 2>&1
tar --sort=name --mtime='2000-01-01 00:00Z' --owner=0 --group=0 --numeric-owner \
  -C "$tmp" -cf - vendor | xz -9 -T1 > src/rust/vendor.tar.xz
echo "vendor: $(du -h src/rust/vendor.tar.xz | cut -f1) src/rust/vendor.tar.xz, $(ls "$tmp/vendor" | wc -l) crates"

Rscript tools/credits.R "$tmp/vendor"
