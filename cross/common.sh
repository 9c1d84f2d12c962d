# Shared by the cross/ scripts (sourced, not run): target names, paths, tool installs.
# shellcheck shell=bash

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cross_dir="$repo/cross"
cross_target_dir="$repo/target/cross"
out_dir="$cross_target_dir/out"
# Cache for tools this project installs itself (the zig venv and zig's cache). It survives
# `cargo clean -p`, not `cargo clean`; JASIYO_CROSS_TOOLS moves it (e.g. to share it
# between clones).
tools_dir="${JASIYO_CROSS_TOOLS:-$repo/target/cross-tools}"
# zig 0.15.2 links musl's own allocator (mallocng). zig 0.16+ replace it with a Zig allocator
# whose calloc writes every page: the agent idled at 30 MiB RSS with ziglang 0.17.1 against
# 24 MiB with 0.15.2, and calloc'd memory that is never touched stays free only with mallocng.
zig_version=${JASIYO_CROSS_ZIG_VERSION:-0.15.2}

all_triples=(aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf x86_64-unknown-linux-musl)

# Accepts a Rust triple or a short name (aarch64/arm64, armv7/arm, x86_64/amd64) and prints the triple.
triple_of() {
  case "$1" in
    aarch64-unknown-linux-musl | aarch64 | arm64) echo aarch64-unknown-linux-musl ;;
    armv7-unknown-linux-musleabihf | armv7 | arm | armhf) echo armv7-unknown-linux-musleabihf ;;
    x86_64-unknown-linux-musl | x86_64 | amd64 | x86) echo x86_64-unknown-linux-musl ;;
    *) echo "unknown target '$1' (one of: ${all_triples[*]})" >&2; return 1 ;;
  esac
}

# The image platform for a triple: "<architecture> <variant>" as in an image config.
# The architecture is also the tarball's name suffix (RouterOS architecture-name arm64, arm, x86).
platform_of() {
  case "$1" in
    aarch64-unknown-linux-musl) echo "arm64 v8" ;;
    armv7-unknown-linux-musleabihf) echo "arm v7" ;;
    x86_64-unknown-linux-musl) echo "amd64 -" ;;
  esac
}
image_arch_of() { set -- $(platform_of "$1"); echo "$1"; }

# zig's target name (the suffix of the cross/zigcc-* symlinks) for a triple.
zig_target_of() {
  case "$1" in
    aarch64-unknown-linux-musl) echo aarch64-linux-musl ;;
    armv7-unknown-linux-musleabihf) echo arm-linux-musleabihf ;;
    x86_64-unknown-linux-musl) echo x86_64-linux-musl ;;
  esac
}

# The qemu-user binary that runs a triple's programs (binfmt_misc may be absent: call it directly).
qemu_of() {
  case "$1" in
    aarch64-unknown-linux-musl) echo qemu-aarch64-static ;;
    armv7-unknown-linux-musleabihf) echo qemu-arm-static ;;
    x86_64-unknown-linux-musl) echo qemu-x86_64-static ;;
  esac
}

agent_bin_of() { echo "$out_dir/$1/jasiyo-agent"; }
image_tar_of() { echo "$out_dir/jasiyo-agent-$(image_arch_of "$1").tar"; }

# Installs the named Debian packages that are missing (apt-get update only when needed).
ensure_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "${p%%=*}" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "==> apt-get install ${missing[*]}" >&2
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Debian's Rust (rustc-web, cargo-web and the std source for build-std, all one version),
# plus a venv with zig from PyPI. JASIYO_CROSS_RUST_VERSION pins the Debian version, e.g.
# 1.85.0+dfsg3-1~deb12u3 (bookworm main) if bookworm-security's 1.96 is ever gone.
ensure_build_tools() {
  local pin=""
  [[ -n "${JASIYO_CROSS_RUST_VERSION:-}" ]] && pin="=$JASIYO_CROSS_RUST_VERSION"
  local have
  have=$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null || true)
  if [[ -n "$pin" && "$have" != "${pin#=}" ]]; then
    ensure_apt_force "rustc-web$pin" "cargo-web$pin" "rust-web-src$pin"
  else
    # One apt call for the three, so they come from the same release.
    ensure_apt rustc-web cargo-web rust-web-src
  fi
  ensure_apt python3-venv ca-certificates file binutils
  local v_rustc v_cargo v_src
  v_rustc=$(dpkg-query -W -f='${Version}' rustc-web)
  v_cargo=$(dpkg-query -W -f='${Version}' cargo-web)
  v_src=$(dpkg-query -W -f='${Version}' rust-web-src)
  if [[ "$v_rustc" != "$v_src" || "$v_rustc" != "$v_cargo" ]]; then
    echo "rustc-web $v_rustc, cargo-web $v_cargo and rust-web-src $v_src differ: build-std needs the exact std source" >&2
    echo "fix: apt-get install rustc-web=$v_rustc cargo-web=$v_rustc rust-web-src=$v_rustc" >&2
    return 1
  fi
  [[ -d /usr/lib/rustlib/src/rust/library ]] || { echo "rust-web-src did not install /usr/lib/rustlib/src/rust/library" >&2; return 1; }

  local venv="$tools_dir/zig-venv"
  if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('ziglang') != '$zig_version')" 2>/dev/null; then
    echo "==> venv with ziglang==$zig_version in $venv" >&2
    rm -rf "$venv"
    mkdir -p "$tools_dir"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "ziglang==$zig_version"
  fi
  export ZIG_PYTHON="$venv/bin/python"
  export ZIG_GLOBAL_CACHE_DIR="$tools_dir/zig-cache" ZIG_LOCAL_CACHE_DIR="$tools_dir/zig-cache"
}

ensure_apt_force() {
  echo "==> apt-get install $*" >&2
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends --allow-downgrades "$@" >&2
}

ensure_qemu() { ensure_apt qemu-user-static file binutils; }
