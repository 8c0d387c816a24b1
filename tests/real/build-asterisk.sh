#!/usr/bin/env bash
# Build Asterisk (with its bundled pjproject) for the real-Asterisk test tier.
#
# The build goes into a cache folder outside the checkout, keyed by the md5 of the
# Asterisk tarball, so it is done once per machine and reused by every checkout:
#   ${DIALER_ASTERISK_CACHE:-/var/cache/dialer-asterisk}/<md5>/prefix
# A finished build is marked by <md5>/.complete; with it present the script returns at
# once. Nothing is downloaded: pjproject comes from the source folder, sound packages
# are switched off in menuselect, and no sample configuration is installed.
#
# Environment:
#   DIALER_ASTERISK_SRC    folder with asterisk-22.10.1.tar.gz and pjproject-2.17.tar.bz2
#                          (default: ../shared/asterisk/src next to the checkout's parent)
#   DIALER_ASTERISK_CACHE  cache root (default /var/cache/dialer-asterisk)
#   DIALER_BUILD_JOBS      parallel make jobs (default: number of cores)
# The last line printed on success is the install prefix.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
src="${DIALER_ASTERISK_SRC:-$(cd "$repo/.." && pwd)/shared/asterisk/src}"
cache_root="${DIALER_ASTERISK_CACHE:-/var/cache/dialer-asterisk}"
jobs="${DIALER_BUILD_JOBS:-$(nproc)}"
ast_tarball="$src/asterisk-22.10.1.tar.gz"
pj_tarball="$src/pjproject-2.17.tar.bz2"
build_packages=(build-essential pkg-config libjansson-dev libedit-dev libxml2-dev
  libsqlite3-dev uuid-dev libssl-dev libncurses-dev libcurl4-openssl-dev bzip2 patch)

die() { echo "build-asterisk: $*" >&2; exit 1; }
log() { echo "build-asterisk: $*" >&2; }

[[ -f "$ast_tarball" ]] || die "missing $ast_tarball (set DIALER_ASTERISK_SRC)"
[[ -f "$pj_tarball" ]] || die "missing $pj_tarball (set DIALER_ASTERISK_SRC)"

key="$(md5sum "$ast_tarball" | cut -d' ' -f1)"
home="$cache_root/$key"
prefix="$home/prefix"

if [[ -f "$home/.complete" && -x "$prefix/sbin/asterisk" ]]; then
  echo "$prefix"
  exit 0
fi

install_build_packages() {
  local missing=()
  for pkg in "${build_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    die "missing Debian packages (install them as root): ${missing[*]}"
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# One build step, its output appended to the log; a failure shows the log's tail and
# stops the script (explicit, because `set -e` does not reach into tested functions).
step() {
  "$@" >>"$home/build.log" 2>&1 && return 0
  tail -n 40 "$home/build.log" >&2
  die "failed: $* (full log in $home/build.log)"
}

build() {
  local work="$home/build"
  local dl="$home/download-cache"
  rm -rf "$work" "$prefix"
  mkdir -p "$work" "$dl"
  cp "$pj_tarball" "$dl/"
  log "unpacking $(basename "$ast_tarball") into $work"
  tar -xzf "$ast_tarball" -C "$work"
  cd "$work/asterisk-22.10.1"
  log "configure (log: $home/build.log)"
  step ./configure --prefix="$prefix" --with-pjproject-bundled --with-jansson \
    --with-download-cache="$dl"
  step make menuselect.makeopts
  step menuselect/menuselect --disable-category MENUSELECT_CORE_SOUNDS \
    --disable-category MENUSELECT_MOH --disable-category MENUSELECT_EXTRA_SOUNDS \
    menuselect.makeopts
  log "make -j$jobs"
  step make -j"$jobs" EXTERNALS_CACHE_DIR="$dl"
  log "make install"
  step make install EXTERNALS_CACHE_DIR="$dl"
  cd "$home"
  rm -rf "$work"
}

mkdir -p "$home"
exec 9>"$home/.lock"
flock 9
# Another run may have finished the build while this one waited for the lock.
if [[ -f "$home/.complete" && -x "$prefix/sbin/asterisk" ]]; then
  echo "$prefix"
  exit 0
fi
install_build_packages
: >"$home/build.log"
started=$SECONDS
build
[[ -x "$prefix/sbin/asterisk" ]] || die "no $prefix/sbin/asterisk after install"
echo "built in $((SECONDS - started)) s from $(basename "$ast_tarball") (md5 $key)" \
  >"$home/.complete"
log "done in $((SECONDS - started)) s"
echo "$prefix"
