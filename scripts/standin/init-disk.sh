#!/bin/bash
# init-disk.sh - disk-boot role of the stand-in initramfs (sourced by /init; see init.sh).
# Reads the command line the way Flatcar's initramfs does:
#   verity.usr=PARTUUID=<g> + verity.usrhash=<h>  dm-verity over that partition (USR-A's layout:
#                        ext2 of USR_BLOCKS 4 KiB blocks, hash tree right after it); a wrong
#                        partition or hash fails the boot, as on Flatcar
#   root=LABEL=ROOT      mounted rw on /sysroot (persists: /etc, /var, /home, /opt)
#   flatcar.first_boot=  detected|1|yes: a first boot. With standin.bootloader=syslinux (the
#                        disk's own boot loader cannot test for files) /init does GRUB's test
#                        for /flatcar/first_boot on the ESP itself.
# On a first boot: /etc seeded like Flatcar's baselayout (root, core), the OEM config.ign copied
# to /usr/lib/ignition/user.ign, the real Ignition run with --root=/sysroot (a failure stops the
# boot here), then /flatcar/first_boot removed from the ESP (bootengine's ignition-quench).
# Every boot: the stand-in's programs bind-mounted into /sysroot (/usr, /bin, /lib...),
# /etc/machine-id made once (standin-machine-id, systemd's part), standin-units runs the
# enabled units chrooted there, then standin-update-client (update_engine's part) checks the
# update server once. Then RAILYARD FIRST BOOT DONE (or RAILYARD BOOT DONE), and power off
# unless /etc/standin/after says otherwise.
# shellcheck disable=SC2154 # VERSION, CMDLINE come from init.sh
USR_BLOCKS=512
say "BOOTED FROM DISK (Flatcar stand-in $VERSION)"
say "cmdline: $(cat /proc/cmdline)"
load_modules

# part_where KEY VALUE: the partition whose blkid KEY (PART_ENTRY_UUID, LABEL, ...) is VALUE.
part_where() {
  local p dev n=0
  while ((n < 50)); do
    for p in /sys/class/block/*/partition; do
      [ -e "$p" ] || continue
      dev=/dev/$(basename "$(dirname "$p")")
      [ "$(blkid -p -o value -s "$1" "$dev" 2>/dev/null)" = "$2" ] && { echo "$dev"; return 0; }
    done
    sleep 0.1; n=$((n + 1))
  done
  return 1
}

fatal() {
  say "FATAL: $*"
  say "the boot stops here (Flatcar would drop to its emergency shell)"
  finish poweroff
}

# resolve SPEC: a device for LABEL=, PARTUUID=, PARTLABEL= or a /dev path.
resolve() {
  case $1 in
    LABEL=*) part_where LABEL "${1#LABEL=}" ;;
    PARTUUID=*) local u=${1#PARTUUID=}; part_where PART_ENTRY_UUID "${u,,}" ;;
    PARTLABEL=*) part_where PART_ENTRY_NAME "${1#PARTLABEL=}" ;;
    /dev/*) echo "$1" ;;
    *) return 1 ;;
  esac
}

setup_usr() {
  local spec hash dev
  spec=$(cmdline_arg verity.usr) hash=$(cmdline_arg verity.usrhash)
  [ -n "$spec" ] || fatal "no verity.usr= on the command line"
  [[ $hash =~ ^[0-9a-f]{64}$ ]] || fatal "no valid verity.usrhash= on the command line"
  dev=$(resolve "$spec") || fatal "verity.usr=$spec: no such partition"
  # no udev here: libdevmapper makes /dev/mapper/usr itself
  DM_DISABLE_UDEV=1 dmsetup create usr --readonly --table \
    "0 $((USR_BLOCKS * 8)) verity 1 $dev $dev 4096 4096 $USR_BLOCKS $USR_BLOCKS sha256 $hash -" ||
    fatal "dm-verity setup on $dev failed"
  DM_DISABLE_UDEV=1 dmsetup mknodes usr
  mkdir -p /run/standin/usr
  mount -o ro /dev/mapper/usr /run/standin/usr 2>/dev/null || fatal "verity.usrhash does not match $dev (usr does not mount)"
  [ "$(DM_DISABLE_UDEV=1 dmsetup status usr | awk '{print $4}')" = V ] || fatal "dm-verity reports corruption on $dev"
  # shellcheck disable=SC1091
  say "usr: $dev verified by dm-verity, $(. /run/standin/usr/lib/os-release && echo "$NAME $VERSION_ID")"
}

# GRUB's first-boot test, when the boot loader could not do it.
first_boot() {
  local v esp
  v=$(cmdline_arg flatcar.first_boot)
  case $v in detected | 1 | yes | true) return 0 ;; esac
  [ "$(cmdline_arg standin.bootloader)" = syslinux ] || return 1
  esp=$(part_where PART_ENTRY_NAME EFI-SYSTEM) || return 1
  mkdir -p /run/standin/esp && mount -o ro "$esp" /run/standin/esp || return 1
  local found=1
  [ -e /run/standin/esp/flatcar/first_boot ] && found=0
  umount /run/standin/esp
  return $found
}

# ignition-quench: remove the first-boot flag file from the ESP.
quench() {
  local esp
  esp=$(part_where PART_ENTRY_NAME EFI-SYSTEM) || { say "no EFI-SYSTEM partition"; return 1; }
  mkdir -p /run/standin/esp && mount "$esp" /run/standin/esp || return 1
  rm -f /run/standin/esp/flatcar/first_boot
  umount /run/standin/esp && say "removed /flatcar/first_boot from $esp"
}

# What Flatcar's baselayout and tmpfiles put into a fresh /etc before Ignition runs.
seed_etc() {
  local r=/sysroot
  mkdir -p "$r/etc/selinux" "$r/home/core" "$r/root" "$r/var/lib" "$r/opt"
  [ -e "$r/etc/passwd" ] || printf 'root:x:0:0:root:/root:/bin/bash\ncore:x:500:500:Flatcar Admin:/home/core:/bin/bash\n' > "$r/etc/passwd"
  [ -e "$r/etc/group" ] || printf 'root:x:0:\nwheel:x:10:root,core\nusers:x:100:\nsudo:x:150:core\ndocker:x:233:core\ncore:x:500:\n' > "$r/etc/group"
  [ -e "$r/etc/shadow" ] || printf 'root:*:1::::::\ncore:*:1::::::\n' > "$r/etc/shadow"
  [ -e "$r/etc/gshadow" ] || printf 'root:*::\nwheel:*::root,core\nusers:*::\nsudo:*::core\ndocker:*::core\ncore:*::\n' > "$r/etc/gshadow"
  chmod 0640 "$r/etc/shadow" "$r/etc/gshadow"
  [ -e "$r/etc/selinux/config" ] || printf 'SELINUX=permissive\nSELINUXTYPE=mcs\n' > "$r/etc/selinux/config"
  chown 500:500 "$r/home/core"
}

setup_usr
ROOT_DEV=$(resolve "$(cmdline_arg root)") || fatal "root=$(cmdline_arg root): no such partition"
mkdir -p /sysroot
mount -o rw "$ROOT_DEV" /sysroot || fatal "cannot mount $ROOT_DEV on /sysroot"
say "root: $ROOT_DEV mounted on /sysroot"
OEM_DEV=$(part_where LABEL OEM) || OEM_DEV=''
mkdir -p /usr/share/oem && ln -sfn /usr/share/oem /oem
if [ -n "$OEM_DEV" ] && mount "$OEM_DEV" /usr/share/oem; then say "OEM partition $OEM_DEV mounted on /usr/share/oem"
else say "no OEM partition found"; fi

FIRST_BOOT=0
first_boot && FIRST_BOOT=1
if [ "$FIRST_BOOT" = 1 ]; then
  seed_etc
  mkdir -p /usr/lib/ignition
  if [ -f /usr/share/oem/config.ign ]; then
    cp /usr/share/oem/config.ign /usr/lib/ignition/user.ign
    say "OEM config.ign sha256=$(sha256sum < /usr/share/oem/config.ign | cut -d' ' -f1) first_boot=1"
  else
    say "no config.ign on the OEM partition"
  fi
  net_up || say "continuing without network"
  run_ignition /sysroot
  status=$?
  say "IGNITION DONE status=$status"
  [ "$status" = 0 ] || fatal "Ignition failed on the first boot"
  quench || fatal "cannot remove /flatcar/first_boot"
else
  say "not a first boot (no flatcar.first_boot): Ignition does not run"
  net_up || say "continuing without network"
fi

# The installed root, with the stand-in's programs (Flatcar: /usr from USR-A) and the kernel's
# file systems; the enabled units run chrooted there.
for d in usr bin sbin lib lib64; do
  mkdir -p "/sysroot/$d" && mount --rbind "/$d" "/sysroot/$d"
done
for d in proc sys dev run; do mkdir -p "/sysroot/$d" && mount --rbind "/$d" "/sysroot/$d"; done
mkdir -p /sysroot/oem && mount --bind /usr/share/oem /sysroot/oem
cp /etc/resolv.conf /sysroot/etc/resolv.conf 2>/dev/null
standin-machine-id /sysroot # systemd's part: the first-boot report (a unit) carries it
chroot /sysroot /usr/bin/standin-units -f "$FIRST_BOOT"
mkdir -p /sysroot/var/tmp
chroot /sysroot /usr/bin/standin-update-client # update_engine's part: check railyard for an update (omaha-client.sh)
[ -s /sysroot/etc/standin/after ] && cp /sysroot/etc/standin/after /etc/standin/after
sync
umount -l /sysroot 2>/dev/null
[ -n "$OEM_DEV" ] && umount /usr/share/oem 2>/dev/null
if [ "$FIRST_BOOT" = 1 ]; then say "RAILYARD FIRST BOOT DONE"; else say "RAILYARD BOOT DONE"; fi
finish poweroff
