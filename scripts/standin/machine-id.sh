#!/bin/bash
# standin-machine-id - give the installed stand-in a stable /etc/machine-id, as systemd does on
# Flatcar's first boot (there /etc persists; the stand-in's root is in RAM, so the id is kept
# on the OEM partition, mounted at /usr/share/oem, and restored on every boot).
# Usage: standin-machine-id [STORE_DIR]   (default /usr/share/oem)
set -uo pipefail
STORE=${1:-/usr/share/oem}/.standin-machine-id
if [ -s "$STORE" ]; then
  cp "$STORE" /etc/machine-id
else
  od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > /etc/machine-id
  echo >> /etc/machine-id
  cp /etc/machine-id "$STORE" 2>/dev/null || true
fi
echo "standin: machine-id $(cat /etc/machine-id)"
