#!/usr/bin/env bash
# The whole test suite: Rust unit tests, then R CMD build and R CMD check of
# the built tarball (which runs the testthat suite). Fails on any test
# failure and on any check WARNING or ERROR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== cargo test"
cargo test --quiet 2>&1 | tee "$work/cargo.log"

echo "== vendored crates"
bash tools/check-vendor.sh

echo "== R CMD build"
(cd "$work" && R CMD build "$root" >build.log 2>&1) || { cat "$work/build.log"; exit 1; }
tarball=$(ls "$work"/lowmem_*.tar.gz)

# The check installs the tarball with the network unusable (a dead proxy for
# every protocol, cargo told it is offline, and a CARGO_HOME of its own): the package must
# build from its vendored crates. What needs the internet is off: the CRAN
# incoming checks (CRAN's database), and asking a time server for the clock
# (future file timestamps are still checked, against the local clock).
echo "== R CMD check --as-cran $(basename "$tarball"), offline"
status=0
(cd "$work" && CARGO_NET_OFFLINE=true \
  http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9 \
  _R_CHECK_CRAN_INCOMING_=false _R_CHECK_SYSTEM_CLOCK_=false _R_CHECK_FORCE_SUGGESTS_=false \
  R CMD check --no-manual --as-cran "$tarball") || status=$?
grep -E "using rustc|cargo build" "$work/lowmem.Rcheck/00install.out" | head -n 3 || true
log="$work/lowmem.Rcheck/00check.log"
tests_out=$(ls "$work"/lowmem.Rcheck/tests/testthat.Rout* 2>/dev/null | head -n1 || true)
if [[ -n "$tests_out" ]]; then
  tail -n 40 "$tests_out"
fi
grep -E "^Status:" "$log" || true

# The closing line: testthat's counts, plus cargo's.
r_line=$(grep -Eo "\[ FAIL [0-9]+ \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS [0-9]+ \]" "$tests_out" 2>/dev/null | tail -n1 || true)
r_fail=$(sed -E 's/.*FAIL ([0-9]+).*/\1/' <<<"${r_line:-FAIL 1 }")
r_skip=$(sed -E 's/.*SKIP ([0-9]+).*/\1/' <<<"${r_line:-SKIP 0 }")
r_pass=$(sed -E 's/.*PASS ([0-9]+).*/\1/' <<<"${r_line:-PASS 0 }")
c_pass=$(grep -Eo "test result: [a-z]+\. [0-9]+ passed" "$work/cargo.log" | awk '{s+=$4} END {print s+0}')
c_fail=$(grep -Eo "[0-9]+ failed" "$work/cargo.log" | awk '{s+=$1} END {print s+0}')

if [[ $status -ne 0 ]] || grep -qE "^Status:.*(ERROR|WARNING)" "$log"; then
  echo "R CMD check found problems:"
  grep -E "(ERROR|WARNING|NOTE)$" -A 15 "$log" || true
  [[ -n "$tests_out" ]] && grep -B2 -A20 -E "Failure|Error" "$tests_out" | head -n 80 || true
  echo "tests: $((r_pass + c_pass)) passed, $((r_fail + c_fail > 0 ? r_fail + c_fail : 1)) failed"
  exit 1
fi
echo "tests: $((r_pass + c_pass)) passed, $((r_fail + c_fail)) failed, $r_skip skipped"
