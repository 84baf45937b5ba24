#!/bin/bash
# init-disk.sh - disk-boot role of the stand-in initramfs (sourced by /init; see init.sh).
# Mounts the partition labelled OEM at /usr/share/oem (/oem links there), as Flatcar did, and
# applies its config.ign with ignition-lite: storage.files go to the RAM root and enabled units
# run on every boot; ConditionFirstBoot=yes units only on the first (until the marker file
# .standin-first-boot-done exists on the OEM partition). railyard's phone-home unit in the
# target config does the reporting; then RAILYARD FIRST BOOT DONE (or RAILYARD BOOT DONE).
# shellcheck disable=SC2154 # VERSION comes from init.sh
say "BOOTED FROM DISK (Flatcar stand-in $VERSION)"
load_modules

find_oem() {
  local p dev
  for p in /sys/class/block/*/partition; do
    [ -e "$p" ] || continue
    dev=/dev/$(basename "$(dirname "$p")")
    [ "$(blkid -p -o value -s LABEL "$dev" 2>/dev/null)" = OEM ] && { echo "$dev"; return 0; }
  done
  return 1
}
OEM_DEV='' n=0
until OEM_DEV=$(find_oem) || [ $n -ge 50 ]; do sleep 0.1; n=$((n + 1)); done
mkdir -p /usr/share/oem && ln -sfn /usr/share/oem /oem
if [ -n "$OEM_DEV" ] && mount "$OEM_DEV" /usr/share/oem; then
  say "OEM partition $OEM_DEV mounted on /usr/share/oem"
else
  say "no OEM partition found"
fi
FIRST_BOOT=1
[ -e /usr/share/oem/.standin-first-boot-done ] && FIRST_BOOT=0
net_up || say "continuing without network"
standin-machine-id /usr/share/oem # before Ignition: the first-boot report carries it
if [ -f /usr/share/oem/config.ign ]; then
  say "OEM config.ign sha256=$(sha256sum < /usr/share/oem/config.ign | cut -d' ' -f1) first_boot=$FIRST_BOOT"
  ignition-lite -f "$FIRST_BOOT" /usr/share/oem/config.ign
  say "IGNITION DONE status=$?"
else
  say "no config.ign on the OEM partition"
fi
standin-update-client # update_engine's part: check railyard for an update (omaha-client.sh)
if [ -n "$OEM_DEV" ]; then
  [ "$FIRST_BOOT" = 1 ] && date -u +%FT%TZ > /usr/share/oem/.standin-first-boot-done
  sync; umount /usr/share/oem
fi
if [ "$FIRST_BOOT" = 1 ]; then say "RAILYARD FIRST BOOT DONE"; else say "RAILYARD BOOT DONE"; fi
finish poweroff
