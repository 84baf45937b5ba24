#!/bin/bash
# init-pxe.sh - PXE role of the stand-in initramfs (sourced by /init; see init.sh).
# Flatcar's PXE image takes its Ignition config from ignition.config.url= or from
# /usr/share/oem/config.ign (an extra cpio unpacked over this one, copied to
# /usr/lib/ignition/user.ign as bootengine's ignition-setup does), runs Ignition on its RAM
# root and then systemd starts the enabled units. Here: the real Ignition with --root=/sysroot,
# a bind mount of the live root (Ignition 2.14 cannot relabel with --root=/), then
# standin-units for the units Ignition enabled.
# shellcheck disable=SC2154 # VERSION, KEXEC_LOAD_DISABLED come from init.sh
say "Flatcar stand-in $VERSION PXE initramfs"
load_modules
chown 500:500 /home/core
if [ "$KEXEC_LOAD_DISABLED" = 1 ]; then
  echo 1 > /proc/sys/kernel/kexec_load_disabled && say "kexec_load_disabled=1 (standin.kexec_load_disabled)"
fi
if [ -d /sys/firmware/efi ]; then
  mkdir -p /sys/firmware/efi/efivars
  mount -t efivarfs efivarfs /sys/firmware/efi/efivars 2>/dev/null || say "cannot mount efivarfs"
fi
net_up || say "continuing without network"
mkdir -p /usr/lib/ignition
[ -f /usr/share/oem/config.ign ] && cp /usr/share/oem/config.ign /usr/lib/ignition/user.ign
url=$(cmdline_arg ignition.config.url)
if [ -s /usr/lib/ignition/user.ign ] || [ -n "$url" ]; then
  if [ -s /usr/lib/ignition/user.ign ]; then
    say "IGNITION START sha256=$(sha256sum < /usr/lib/ignition/user.ign | cut -d' ' -f1)"
  else
    say "IGNITION START url=$url"
  fi
  mkdir -p /sysroot && mount --bind / /sysroot
  run_ignition /sysroot
  status=$?
  umount /sysroot
  say "IGNITION DONE status=$status"
  if [ "$status" = 0 ]; then
    standin-units -f 1
  else
    say "Ignition failed: no units started (Flatcar would stop in the emergency shell)"
  fi
else
  say "no Ignition config"
fi
finish idle
