#!/usr/bin/env bash
# One QEMU lab node: the E2E suite's node runner (e2e/lib/node-main.ts) from a shell.
# Prints the serial console, one "[seconds] line" per line; exits with QEMU's status.
#   scripts/lab/node.sh --mac 52:54:00:77:00:01 --disk /tmp/n1.qcow2 --slirp 8080
#   scripts/lab/node.sh --uplink eth0 --mac ... --disk ... --firmware uefi   (containers)
# --uplink IF: bridge IF into a new bridge with a new tap (needs CAP_NET_ADMIN and
# /dev/net/tun; for containers on a private network) and boot the node on that tap.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
args=()
while (($#)); do
  case $1 in
    --uplink)
      up=$2; shift 2
      ip link add lab-br0 type bridge stp_state 0 forward_delay 0
      ip link set "$up" master lab-br0
      ip tuntap add dev lab-tap0 mode tap
      ip link set lab-tap0 master lab-br0
      ip link set lab-tap0 up; ip link set lab-br0 up
      args+=(--tap lab-tap0) ;;
    *) args+=("$1"); shift ;;
  esac
done
exec node --import "file://$ROOT/node_modules/tsx/dist/loader.mjs" "$ROOT/e2e/lib/node-main.ts" "${args[@]}"
