#!/bin/bash
# standin-machine-id - give the installed stand-in a stable /etc/machine-id, as systemd does on
# Flatcar's first boot: when ROOT/etc/machine-id is missing or empty (or "uninitialized"), a
# random 128-bit id is written there; the installed root (ROOT, mounted from the ROOT
# partition) persists, so later boots keep it. An id the config wrote (Ignition) is kept.
# Usage: standin-machine-id [ROOT]   (default /)
set -uo pipefail
FILE=${1:-}/etc/machine-id
if ! grep -qE '^[0-9a-f]{32}$' "$FILE" 2>/dev/null; then
  mkdir -p "$(dirname "$FILE")"
  { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; echo; } > "$FILE"
  chmod 0444 "$FILE"
fi
echo "standin: machine-id $(cat "$FILE")"
