#!/usr/bin/env bash
# Windows and macOS build checks, from this Debian machine (as root; see
# inst/notes/platforms.md for what they prove and what they cannot).
#
# x86_64-pc-windows-gnu (what Rtools builds with):
#   * the crate checked (`cargo check --lib --tests`) in its three feature
#     sets: default, api-gp, map-attrib;
#   * the release static library built as src/Makevars.win builds it
#     (its RUST_NATIVE_LIBS are what `rustc --print native-static-libs`
#     printed for it: rustc 1.95 lists kernel32 ntdll userenv ws2_32 dbghelp);
#   * the package's C files compiled with mingw-w64 gcc -Wall -pedantic
#     -Werror against R's headers (the host R's);
#   * lowmem.dll linked as R's winshlib.mk links it (src/lowmem-win.def)
#     against an import library for R.dll (made with dlltool from the
#     symbols the host's libR.so exports), then checked: it exports only
#     R_init_lowmem and imports only R.dll and Windows' own DLLs;
#   * `cargo test` for that target, run under wine: every test passes.
# aarch64-apple-darwin and x86_64-apple-darwin:
#   * the crate checked in the three feature sets (the vendored C of the
#     codecs compiled by Zig's clang for macOS);
#   * the C files compiled (-Wall -pedantic -Werror) and, with the release
#     static library, a lowmem.so linked (-undefined dynamic_lookup) for
#     aarch64-apple-darwin, by Zig (pip's ziglang) as the C toolchain.
#
# What it needs it installs (idempotent): rustup targets, Debian's mingw-w64
# and wine64, pip's ziglang. Everything it builds goes under
# LOWMEM_CROSS_CACHE (default /var/tmp/lowmem-cross), so reruns are
# incremental; it works from nothing. Offline builds from the vendored
# crates (src/rust/vendor.tar.xz), as the package builds.
#
# Each step counts as one test; the Windows `cargo test` adds its own
# counts. The last line is `tests: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${LOWMEM_CROSS_CACHE:-/var/tmp/lowmem-cross}
WIN=x86_64-pc-windows-gnu
MACS=(aarch64-apple-darwin x86_64-apple-darwin)
FEATURES=("" api-gp map-attrib)
mkdir -p "$CACHE/logs"
LOGS=$CACHE/logs
started=$(date +%s)

passed=0 failed=0
step() { # step NAME COMMAND...: one test; the log is kept in $LOGS/NAME.log
  local name=$1 t0=$SECONDS
  shift
  if "$@" >"$LOGS/$name.log" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    echo "FAIL $name ($((SECONDS - t0)) s); the end of $LOGS/$name.log:"
    tail -n 30 "$LOGS/$name.log" | sed 's/^/    /'
  fi
}

# ---- set-up (idempotent) --------------------------------------------------
setup() {
  local have want=()
  have=$(rustup target list --installed)
  for t in $WIN "${MACS[@]}"; do grep -qx "$t" <<<"$have" || want+=("$t"); done
  ((${#want[@]} == 0)) || rustup target add "${want[@]}" || return 1
  local pkgs=() p
  for p in gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 wine64; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || pkgs+=("$p")
  done
  if ((${#pkgs[@]})); then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } ||
      return 1
  fi
  python3 -m ziglang version >/dev/null 2>&1 || python3 -m pip install -q ziglang || return 1
  # The vendored crates, unpacked again when the tarball changes.
  local sum
  sum=$(sha256sum src/rust/vendor.tar.xz | cut -d' ' -f1)
  if [[ "$(cat "$CACHE/vendor.sum" 2>/dev/null)" != "$sum" ]]; then
    rm -rf "$CACHE/vendor" && tar -xJf src/rust/vendor.tar.xz -C "$CACHE" && echo "$sum" >"$CACHE/vendor.sum" || return 1
  fi
  # Zig as the C compiler for macOS (cc-rs passes gcc's or clang's target
  # flags; Zig takes its own).
  mkdir -p "$CACHE/bin"
  local arch zig
  zig=$(python3 -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))') || return 1
  for arch in aarch64 x86_64; do
    cat >"$CACHE/bin/zcc-$arch-macos" <<EOF
#!/usr/bin/env bash
args=()
skip=0
for a in "\$@"; do
  if ((skip)); then skip=0; continue; fi
  case "\$a" in
    -arch) skip=1 ;;
    --target=*|-mmacosx-version-min=*) ;;
    *) args+=("\$a") ;;
  esac
done
export ZIG_GLOBAL_CACHE_DIR="$CACHE/zig-cache" ZIG_LOCAL_CACHE_DIR="$CACHE/zig-cache"
exec "$zig" cc -target $arch-macos "\${args[@]}"
EOF
    chmod +x "$CACHE/bin/zcc-$arch-macos"
  done
}
step setup setup
WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)

# Offline, from the vendored crates; one target directory for all of it.
CARGO=(cargo --config "source.crates-io.replace-with='vendored'"
  --config "source.vendored.directory='$CACHE/vendor'")
export CARGO_TARGET_DIR=$CACHE/target
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
# The host R's headers and library (before R_HOME points elsewhere).
R_HOST=$(R RHOME)
R_INC=$R_HOST/include
[[ -f "$R_INC/Rinternals.h" ]] || R_INC=/usr/share/R/include
LIBR_SO=$R_HOST/lib/libR.so
# libR-sys: the bindings of the host R's headers, without running R, and
# its `-lR` pointed at the import library for R.dll made below.
export LIBRSYS_R_VERSION=4.2.0
export R_HOME=$CACHE/win/R
export CC_aarch64_apple_darwin=$CACHE/bin/zcc-aarch64-macos CC_x86_64_apple_darwin=$CACHE/bin/zcc-x86_64-macos
export CARGO_TARGET_AARCH64_APPLE_DARWIN_LINKER=$CACHE/bin/zcc-aarch64-macos
export CARGO_TARGET_X86_64_APPLE_DARWIN_LINKER=$CACHE/bin/zcc-x86_64-macos

cargo_check() { # cargo_check TARGET FEATURES
  "${CARGO[@]}" check --offline --locked --lib --tests --target "$1" ${2:+--features "$2"} \
    --manifest-path src/rust/Cargo.toml
}

CFILES=(src/*.c)

# ---- Windows --------------------------------------------------------------
W=$CACHE/win
mkdir -p "$W/obj" "$W/R/lib" "$W/R/bin/x64"
# An import library for R.dll: every symbol the host's libR.so exports
# (R.dll exports the same API).
make_r_import() {
  local so=$LIBR_SO
  [[ -f $so ]] || so=$(ldconfig -p | awk '/libR\.so /{print $NF; exit}')
  { echo "LIBRARY R.dll"; echo "EXPORTS"
    nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print " " $3}' | sort -u; } >"$W/R.def"
  x86_64-w64-mingw32-dlltool -d "$W/R.def" -l "$W/R/lib/libR.dll.a" -D R.dll
  cp "$W/R/lib/libR.dll.a" "$W/R/bin/x64/libR.dll.a"
  # A stand-in R.dll for the test executables (the tests never call R):
  # every export is one function that aborts.
  printf '#include <stdlib.h>\nvoid lowmem_stub(void) { abort(); }\n' >"$W/rstub.c"
  { echo "LIBRARY R.dll"; echo "EXPORTS"; awk 'NR>2 {print $1 " = lowmem_stub"}' "$W/R.def"; } >"$W/rstub.def"
  x86_64-w64-mingw32-gcc -shared -o "$W/R.dll" "$W/rstub.c" "$W/rstub.def"
}
step win-r-import make_r_import

for f in "${FEATURES[@]}"; do
  step "win-check${f:+-$f}" cargo_check $WIN "$f"
done

# As src/Makevars.win builds it: release, LTO, one codegen unit.
win_staticlib() {
  CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    "${CARGO[@]}" build --offline --locked --release --lib --target $WIN --manifest-path src/rust/Cargo.toml
}
step win-staticlib win_staticlib

win_cc() {
  local c
  for c in "${CFILES[@]}"; do
    x86_64-w64-mingw32-gcc -std=gnu99 -Wall -pedantic -Werror -O2 -I"$R_INC" -DNDEBUG \
      -c "$c" -o "$W/obj/$(basename "${c%.c}").o" || return 1
  done
}
step win-cc win_cc

# As winshlib.mk links: gcc -shared -s -static-libgcc -o lowmem.dll
# lowmem-win.def objects PKG_LIBS -L$(R_HOME)/bin/x64 -lR.
NATIVE_LIBS=$(sed -n 's/^RUST_NATIVE_LIBS *= *//p' src/Makevars.win)
win_link() {
  x86_64-w64-mingw32-gcc -shared -s -static-libgcc -o "$W/lowmem.dll" src/lowmem-win.def "$W"/obj/*.o \
    -L"$CARGO_TARGET_DIR/$WIN/release" -llowmem $NATIVE_LIBS -L"$W/R/bin/x64" -lR
}
step win-link win_link

win_inspect() {
  x86_64-w64-mingw32-objdump -p "$W/lowmem.dll" >"$W/objdump.txt" || return 1
  local exports imports bad
  exports=$(awk '/\[Ordinal\/Name Pointer\] Table/{on=1; next} on && NF==0{on=0} on {print $NF}' "$W/objdump.txt")
  imports=$(awk '/DLL Name:/{print $3}' "$W/objdump.txt" | sort -u)
  echo "exports: $exports"
  echo "imports:" $imports
  [[ "$exports" == "R_init_lowmem" ]] || { echo "exports more than R_init_lowmem"; return 1; }
  bad=$(grep -viE '^(R\.dll|kernel32\.dll|ntdll\.dll|msvcrt\.dll|ucrtbase\.dll|api-ms-win-[a-z0-9-]+\.dll|advapi32\.dll|bcrypt\.dll|bcryptprimitives\.dll|ws2_32\.dll|userenv\.dll)$' <<<"$imports")
  [[ -z "$bad" ]] || { echo "imports other DLLs: $bad"; return 1; }
  grep -qx "R.dll" <<<"$imports" || { echo "no R.dll import"; return 1; }
}
step win-dll-inspect win_inspect
grep -E "^(exports|imports):" "$LOGS/win-dll-inspect.log" | sed 's/^/    /'

# cargo test under wine. Wine 8 has no bcryptprimitives.dll, whose
# ProcessPrng Rust's std imports: a stand-in built here serves (it calls
# advapi32's RtlGenRandom), found next to the test executable.
win_test() {
  cat >"$W/prng.c" <<'EOF'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG) len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
EOF
  printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\n ProcessPrng\n' >"$W/prng.def"
  x86_64-w64-mingw32-gcc -shared -O2 -o "$W/bcryptprimitives.dll" "$W/prng.c" "$W/prng.def" -ladvapi32 || return 1
  local deps=$CARGO_TARGET_DIR/$WIN/debug/deps
  mkdir -p "$deps"
  cp "$W/bcryptprimitives.dll" "$W/R.dll" "$deps/"
  export WINEPREFIX=$CACHE/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="bcryptprimitives=n,b;mscoree,mshtml="
  [[ -d $WINEPREFIX ]] || timeout 600 "$WINE" wineboot -i >/dev/null 2>&1 || true
  CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$WINE" \
    timeout 1800 "${CARGO[@]}" test --offline --locked --target $WIN --manifest-path src/rust/Cargo.toml
}
step win-test-wine win_test
grep -E "^test result:" "$LOGS/win-test-wine.log" | sed 's/^/    /'
w_pass=$(grep -Eo "test result: [A-Za-z]+\. [0-9]+ passed" "$LOGS/win-test-wine.log" | awk '{s+=$4} END {print s+0}')
w_fail=$(grep -Eo "[0-9]+ failed" "$LOGS/win-test-wine.log" | awk '{s+=$1} END {print s+0}')
grep -E "^test .* FAILED$|panicked" "$LOGS/win-test-wine.log" | head -n 20 | sed 's/^/    /'

# ---- macOS ----------------------------------------------------------------
for t in "${MACS[@]}"; do
  for f in "${FEATURES[@]}"; do
    step "mac-check-${t%%-*}${f:+-$f}" cargo_check "$t" "$f"
  done
done

M=$CACHE/mac
mkdir -p "$M/obj"
mac_cc() {
  local c
  for c in "${CFILES[@]}"; do
    "$CACHE/bin/zcc-aarch64-macos" -std=gnu99 -Wall -pedantic -Werror -O2 -fPIC -I"$R_INC" -DNDEBUG \
      -c "$c" -o "$M/obj/$(basename "${c%.c}").o" || return 1
  done
}
step mac-cc mac_cc

mac_link() {
  CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    "${CARGO[@]}" build --offline --locked --release --lib --target aarch64-apple-darwin \
    --manifest-path src/rust/Cargo.toml || return 1
  # As R on macOS links a package: a bundle, R's symbols left to load time.
  "$CACHE/bin/zcc-aarch64-macos" -shared -undefined dynamic_lookup -o "$M/lowmem.so" "$M"/obj/*.o \
    "$CARGO_TARGET_DIR/aarch64-apple-darwin/release/liblowmem.a" || return 1
  file "$M/lowmem.so" 2>/dev/null || true
  python3 - "$M/lowmem.so" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read(8)
magic, cpu = struct.unpack("<II", data)
assert magic == 0xFEEDFACF, hex(magic)   # 64-bit Mach-O
assert cpu == 0x0100000C, hex(cpu)       # CPU_TYPE_ARM64
print("Mach-O 64-bit arm64")
EOF
}
step mac-link mac_link

echo "cross-check: $(( $(date +%s) - started )) s; logs in $LOGS"
echo "tests: $((passed + w_pass)) passed, $((failed + w_fail)) failed"
((failed + w_fail == 0))
