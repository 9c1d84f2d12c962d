#!/bin/sh
# Installs jasiyo-agent as a systemd service on a sidecar Linux box (Raspberry Pi, small x86
# machine) that reaches the router's API over the LAN.
#
#   sudo ./install.sh [path/to/jasiyo-agent]
#
# The binary defaults to ./jasiyo-agent beside this script (the sidecar tarball made by
# cross/sidecar/package), else target/cross/out/<this machine's musl triple>/jasiyo-agent.
# Keeps an existing /etc/jasiyo-agent/jasiyo-agent.env; starts the service once that file
# has a token. ROOT=/some/dir installs into a staging tree without touching systemd.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${ROOT:-}

bin=${1:-}
if [ -z "$bin" ]; then
  case $(uname -m) in
    x86_64) triple=x86_64-unknown-linux-musl ;;
    aarch64 | arm64) triple=aarch64-unknown-linux-musl ;;
    armv7l | armv8l) triple=armv7-unknown-linux-musleabihf ;;
    *) echo "no agent build for $(uname -m); pass the binary's path" >&2; exit 1 ;;
  esac
  for candidate in "$here/jasiyo-agent" "$here/../../target/cross/out/$triple/jasiyo-agent"; do
    [ -f "$candidate" ] && { bin=$candidate; break; }
  done
  [ -n "$bin" ] || { echo "no jasiyo-agent binary found; pass its path (cross/build $triple makes one)" >&2; exit 1; }
fi
"$bin" --version >/dev/null 2>&1 || { echo "$bin does not run on this machine" >&2; exit 1; }

install -d -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system"
install -m 0755 "$bin" "$root/usr/local/bin/jasiyo-agent.new"
mv "$root/usr/local/bin/jasiyo-agent.new" "$root/usr/local/bin/jasiyo-agent"
install -m 0644 "$here/jasiyo-agent.service" "$root/etc/systemd/system/jasiyo-agent.service"
install -d -m 0700 "$root/etc/jasiyo-agent"
env_file="$root/etc/jasiyo-agent/jasiyo-agent.env"
if [ ! -f "$env_file" ]; then
  install -m 0600 "$here/jasiyo-agent.env.example" "$env_file"
  echo "created $env_file from the template"
fi
echo "installed $("$root/usr/local/bin/jasiyo-agent" --version) to $root/usr/local/bin/jasiyo-agent"

if [ -n "$root" ] || [ ! -d /run/systemd/system ]; then
  echo "systemd is not running here (or ROOT is set): not enabling the service"
  exit 0
fi
systemctl daemon-reload
if grep -q '^JASIYO_TOKEN=..*' "$env_file" && grep -q '^JASIYO_ROUTER_ID=..*' "$env_file"; then
  systemctl enable jasiyo-agent.service
  systemctl restart jasiyo-agent.service
  echo "jasiyo-agent is running: journalctl -u jasiyo-agent -f"
else
  echo "next: fill in $env_file (JASIYO_CLOUD_URL, JASIYO_ROUTER_ID, JASIYO_TOKEN, JASIYO_ROUTEROS_*),"
  echo "then: systemctl enable --now jasiyo-agent"
fi
