#!/usr/bin/env bash
# Runs a command on the R of another Debian suite, in a chroot (as root):
#
#   bash tools/chroot.sh SUITE [COMMAND...]     e.g. tools/chroot.sh sid
#
# The first run makes the chroot (debootstrap --variant=minbase, then the
# packages of tools/debian-packages.txt from that suite: trixie brings R
# 4.5, sid the newest R Debian packages); later runs reuse it. The command
# (default: bash tools/test.sh) runs in a fresh copy of this working tree
# inside the chroot, with the host's Rust toolchain (/root/.cargo,
# /root/.rustup) bind-mounted. Everything mounted is unmounted on the way
# out, also when a step fails.
#
# LOWMEM_CHROOTS: where the chroots live (default /var/tmp/lowmem-chroots).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
suite=${1:?usage: tools/chroot.sh SUITE [COMMAND...]}
shift
(($#)) || set -- bash tools/test.sh
[[ $(id -u) -eq 0 ]] || { echo "chroot: must run as root" >&2; exit 1; }

base=${LOWMEM_CHROOTS:-/var/tmp/lowmem-chroots}
dir=$base/$suite
mirror=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

mounted=() # mount points, unmounted in reverse order
copy=
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[i]}" 2>/dev/null || umount -R -l "${mounted[i]}" || true
  done
  # The copy goes only once nothing is mounted below the chroot any more.
  if [[ -n $copy ]] && ! grep -q " ${dir}/" /proc/mounts; then rm -rf "$copy"; fi
}
trap cleanup EXIT
bind() { # bind SOURCE TARGET-INSIDE [ro]
  mkdir -p "$dir$2"
  mount --rbind "$1" "$dir$2"
  mount --make-rslave "$dir$2"
  mounted+=("$dir$2")
  if [[ ${3:-} == ro ]]; then mount -o remount,bind,ro "$dir$2"; fi
}
in_chroot() {
  chroot "$dir" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" \
    PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# One run at a time per chroot (they share its mount points).
mkdir -p "$base"
exec 9>"$dir.lock"
flock 9

if [[ ! -x $dir/usr/bin/apt-get ]]; then
  echo "chroot: debootstrap $suite from $mirror"
  rm -rf "$dir.new"
  debootstrap --variant=minbase "$suite" "$dir.new" "$mirror" >"$base/$suite.debootstrap.log" 2>&1 ||
    { tail -n 20 "$base/$suite.debootstrap.log"; exit 1; }
  mv "$dir.new" "$dir"
fi
cp /etc/resolv.conf "$dir/etc/resolv.conf"
bind /proc /proc
bind /dev /dev
bind /sys /sys

# The packages, once per list: the suite's registry is a fixed snapshot whose
# Release files count as expired, hence Check-Valid-Until=false.
mapfile -t packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' tools/debian-packages.txt | awk '{print $1}')
stamp=$(printf '%s\n' "${packages[@]}" | sha256sum | cut -c1-16)
if [[ $(cat "$dir/.lowmem-packages" 2>/dev/null) != "$stamp" ]]; then
  echo "chroot: installing ${packages[*]} in $suite"
  in_chroot sh -c "export DEBIAN_FRONTEND=noninteractive &&
    apt-get -qq -o Acquire::Check-Valid-Until=false update &&
    apt-get install -y -qq --no-install-recommends ${packages[*]} >/dev/null"
  echo "$stamp" >"$dir/.lowmem-packages"
fi

bind /root/.cargo /root/.cargo
bind /root/.rustup /root/.rustup ro

# A fresh copy of the working tree (tracked and untracked, not ignored
# files), one per run, so that runs in the same chroot do not meet.
mkdir -p "$dir/build"
copy=$(mktemp -d "$dir/build/lowmem.XXXXXX")
git ls-files -z --cached --others --exclude-standard |
  (while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done) |
  tar --null -T - -cf - | tar -xf - -C "$copy"

echo "chroot: $suite, $(in_chroot R --version | head -n1)"
status=0
in_chroot sh -c 'cd "$0" && exec "$@"' "${copy#"$dir"}" "$@" || status=$?
exit $status
