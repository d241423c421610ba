#!/usr/bin/env bash
# disk-cleanup.sh — emergency cleanup when / is above 95 %.
# Run as root on the affected host: sudo ./disk-cleanup.sh
# Safe to run repeatedly. Does NOT touch application data under /srv.
set -euo pipefail

echo "before:"; df -h /

# 1. Old temp files (older than 2 days)
find /tmp /var/tmp -mindepth 1 -mtime +2 -print0 | xargs -0 rm -rf --

# 2. Build caches left by CI jobs
rm -rf /var/lib/ci-runner/builds/*/cache

# 3. Systemd journal: keep one week
journalctl --vacuum-time=7d

# 4. Unused container images
if command -v docker >/dev/null; then
  docker image prune -af --filter "until=168h"
fi

# 5. Rotated logs
find /var/log -name '*.gz' -mtime +14 -delete

echo "after:"; df -h /
# If still above 90 %, page the owning team: do not delete anything under /srv yourself.
