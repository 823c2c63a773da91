#!/usr/bin/env bash
# The whole test suite on every R of the CI matrix (as root): this
# machine's R (Debian 12: R 4.2.2), then the R of each Debian suite in
# LOWMEM_SUITES (default: trixie, R 4.5; sid, the newest R Debian packages)
# in a chroot made by tools/chroot.sh. Each runs tools/test.sh: cargo test,
# R CMD check --as-cran of the built tarball. Fails if any R fails; the
# last line adds up the counts of all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
read -r -a suites <<<"${LOWMEM_SUITES:-trixie sid}"
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

status=0
summary=()
run() { # run NAME COMMAND...
  local name=$1 rc=0
  shift
  echo "=== $name"
  "$@" 2>&1 | tee "$log/$name.log" || rc=$?
  local r checkst counts
  r=$(grep -m1 -oE "R version [0-9.]+( [A-Za-z]+)?" "$log/$name.log" | head -n1)
  checkst=$(grep -E "^Status:" "$log/$name.log" | tail -n1)
  counts=$(grep -E "^tests: [0-9]+ passed" "$log/$name.log" | tail -n1)
  summary+=("$name (${r:-R ?}): ${checkst:-no check status}; ${counts:-no test counts}; exit $rc")
  ((rc == 0)) || status=1
}

run host bash -c 'echo "$(R --version | head -n1)"; bash tools/test.sh'
for suite in "${suites[@]}"; do
  run "$suite" bash tools/chroot.sh "$suite"
done
# Windows and macOS: cross-built and checked from here, Windows' unit tests
# under wine (tools/cross-check.sh; inst/notes/platforms.md says what that proves).
run cross bash tools/cross-check.sh

echo "=== every R"
printf '%s\n' "${summary[@]}"
passed=0 failed=0 skipped=0
for f in "$log"/*.log; do
  line=$(grep -E "^tests: [0-9]+ passed" "$f" | tail -n1)
  [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]] || { failed=$((failed + 1)); continue; }
  passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2])) skipped=$((skipped + ${BASH_REMATCH[4]:-0}))
done
((status == 0 || failed > 0)) || failed=1
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
