#!/usr/bin/env bash
# The seed case (cases/seed.R) on every R of the CI matrix: this machine's
# R, then Debian trixie's and sid's R in chroots (tools/chroot.sh; as
# root). lowmem is installed afresh for each R into a temporary library;
# each R's rows go into one results/seed.csv, whose table is regenerated
# (also into a markdown file between <!-- bench:seed:start/end --> if given).
#   bash inst/bench/every-r.sh [reps] [README.md]     (default 3 reps; medians)
# LOWMEM_BENCH_SCALE (default 1) shrinks the seed, LOWMEM_SUITES picks the chroots.
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-3}
readme=${2:-}
read -r -a suites <<<"${LOWMEM_SUITES:-trixie sid}"
out=inst/bench/results
# A shrunk seed proves the script works: its results never replace the committed ones.
if [ "${LOWMEM_BENCH_SCALE:-1}" != 1 ]; then out=$(mktemp -d); fi
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
# In each R: install, run the seed case into a scratch directory, print its CSV.
bench='lib=$(mktemp -d) && R CMD INSTALL --library="$lib" . >"$lib.log" 2>&1 || { tail -n 30 "$lib.log" >&2; exit 1; }
R_LIBS="$lib" Rscript inst/bench/run.R --cases seed --reps '"$reps"' --scale '"${LOWMEM_BENCH_SCALE:-1}"' --out "$lib/results" >&2 && cat "$lib/results/seed.csv"; rm -rf "$lib" "$lib.log"'
sh -c "$bench" >"$rows"
for suite in "${suites[@]}"; do
  bash tools/chroot.sh "$suite" sh -c "$bench" | grep -v "^chroot:" | tail -n +2 >>"$rows"
done
mv "$rows" "$out/seed.csv"
{
  echo "inst/bench/every-r.sh $reps, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, R: host ${suites[*]}"
  echo "load average at the end: $(cat /proc/loadavg)"
} >"$out/seed-session-info.txt"
Rscript inst/bench/run.R --tables-only --cases seed --out "$out" ${readme:+--readme "$readme"}
