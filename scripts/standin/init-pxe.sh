#!/bin/bash
# init-pxe.sh - PXE role of the stand-in initramfs (sourced by /init; see init.sh).
# Flatcar's PXE image reads an Ignition config from ignition.config.url= or from
# /usr/share/oem/config.ign (an extra cpio unpacked over this one) and copies it to
# /usr/lib/ignition/user.ign; so do we, then apply it with ignition-lite.
# shellcheck disable=SC2154 # VERSION, CONFIG_URL come from init.sh
say "Flatcar stand-in $VERSION PXE initramfs"
load_modules
net_up || say "continuing without network"
mkdir -p /usr/lib/ignition
if [ -n "$CONFIG_URL" ]; then
  curl -fsS --retry 5 --max-time 60 -o /usr/lib/ignition/user.ign "$CONFIG_URL" || say "cannot fetch $CONFIG_URL"
elif [ -f /usr/share/oem/config.ign ]; then
  cp /usr/share/oem/config.ign /usr/lib/ignition/user.ign
fi
if [ -s /usr/lib/ignition/user.ign ]; then
  say "IGNITION START sha256=$(sha256sum < /usr/lib/ignition/user.ign | cut -d' ' -f1)"
  ignition-lite -f 1 /usr/lib/ignition/user.ign
  say "IGNITION DONE status=$?"
else
  say "no Ignition config"
fi
finish idle
