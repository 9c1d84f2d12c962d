#!/bin/sh
# Removes what install.sh installed.
#
#   sudo ./uninstall.sh           # keeps /etc/jasiyo-agent (secrets) and the journal in /var/lib
#   sudo ./uninstall.sh --purge   # removes those too (the journal holds commands not yet reported!)
set -eu
root=${ROOT:-}
purge=false
[ "${1:-}" = "--purge" ] && purge=true

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl disable --now jasiyo-agent.service 2>/dev/null || true
fi
rm -f "$root/etc/systemd/system/jasiyo-agent.service" "$root/usr/local/bin/jasiyo-agent"
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl reset-failed jasiyo-agent.service 2>/dev/null || true
fi
if $purge; then
  # DynamicUser keeps the state in /var/lib/private/jasiyo-agent behind a symlink.
  rm -rf "$root/etc/jasiyo-agent" "$root/var/lib/jasiyo-agent" "$root/var/lib/private/jasiyo-agent"
  echo "removed jasiyo-agent, its settings and its journal"
else
  echo "removed jasiyo-agent; kept $root/etc/jasiyo-agent and $root/var/lib/jasiyo-agent (--purge removes them)"
fi
