#!/usr/bin/env bash
# The seed experiment (inst/bench/seed.R) on every R of the CI matrix: this
# machine's R, then Debian trixie's and sid's R in chroots (tools/chroot.sh;
# as root). lowmem is installed afresh for each R into a temporary library.
#   bash inst/bench/every-r.sh [reps]     (default 3; medians)
# Writes inst/bench/results/every-r.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-3}
out=inst/bench/results/every-r.txt
read -r -a suites <<<"${LOWMEM_SUITES:-trixie sid}"
bench='lib=$(mktemp -d) && R CMD INSTALL --library="$lib" . >"$lib.log" 2>&1 || { tail -n 30 "$lib.log"; exit 1; }
R_LIBS="$lib" Rscript inst/bench/seed.R '"$reps"'; rm -rf "$lib" "$lib.log"'
{
  echo "# inst/bench/every-r.sh $reps, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
  sh -c "$bench"
  for suite in "${suites[@]}"; do
    bash tools/chroot.sh "$suite" sh -c "$bench" | grep -v "^chroot:"
  done
} | tee "$out.new"
mv "$out.new" "$out"
