#!/usr/bin/env bash
# The lockfile, the vendored tarball and the credits must name the same
# crates at the same versions. Part of tools/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# name-version of every crate from a registry in the lockfile
awk '/^\[\[package\]\]/{n="";v=""} /^name = /{gsub(/"/,"",$3);n=$3} /^version = /{gsub(/"/,"",$3);v=$3} /^source = /{print n"-"v}' \
  src/rust/Cargo.lock | sort -u > "$tmp/lock"
tar -tJf src/rust/vendor.tar.xz | awk -F/ 'NF>2 && $1=="vendor"{print $2}' | sort -u > "$tmp/tarball"
awk -F': ' 'NR>3 && NF>1 {split($1,a," "); print a[1]"-"a[2]}' inst/AUTHORS | sort -u > "$tmp/authors"
awk -F': ' 'NR>4 && NF>1 {split($1,a," "); print a[1]"-"a[2]}' LICENSE.note | sort -u > "$tmp/note"
cmp -s Cargo.lock src/rust/Cargo.lock || { echo "check-vendor: src/rust/Cargo.lock differs from Cargo.lock; run tools/vendor.sh"; exit 1; }
status=0
for f in tarball authors note; do
  if ! diff -u "$tmp/lock" "$tmp/$f" > "$tmp/diff"; then
    echo "check-vendor: Cargo.lock and $f disagree (run tools/vendor.sh):"; cat "$tmp/diff"; status=1
  fi
done
[[ $status -eq 0 ]] && echo "check-vendor: $(wc -l < "$tmp/lock") crates agree in Cargo.lock, vendor.tar.xz, inst/AUTHORS and LICENSE.note"
exit $status
