#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# init.sh - /init of the stand-in Flatcar initramfs (busybox + bash). One image, two roles:
#   PXE boot (default): load drivers, DHCP, apply the Ignition config (ignition.config.url= or
#     /usr/share/oem/config.ign from an extra initrd), like Flatcar's PXE image      -> init-pxe.sh
#   disk boot (standin.boot=disk, set by the installed disk's boot loader): print BOOTED FROM
#     DISK, mount the partition labelled OEM at /usr/share/oem, apply its config.ign -> init-disk.sh
# Kernel arguments read here: standin.boot=pxe|disk, standin.after=idle|poweroff|reboot|shell
# (what to do once Ignition is done and nothing rebooted; default idle for PXE, poweroff for
# disk; a file /etc/standin/after written by Ignition wins), ignition.config.url=URL,
# BOOTIF=01-aa-bb-cc-dd-ee-ff (use only that NIC). Console lines start with "standin: [uptime]".
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=${TERM:-linux}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run /tmp /var/tmp /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
ln -sf /proc/self/fd /dev/fd            # bash process substitution (flatcar-install's tee >(...))
ln -sf /proc/self/fd/0 /dev/stdin; ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
hostname localhost

BOOT=pxe AFTER='' CONFIG_URL='' BOOTIF=''
export CONFIG_URL
read -r -a CMDLINE < /proc/cmdline
for arg in "${CMDLINE[@]}"; do
  case $arg in
    standin.boot=*) BOOT=${arg#*=} ;;
    standin.after=*) AFTER=${arg#*=} ;;
    ignition.config.url=*) CONFIG_URL=${arg#*=} ;;
    BOOTIF=*) BOOTIF=${arg#*=}; BOOTIF=${BOOTIF#01-}; BOOTIF=${BOOTIF//-/:}; BOOTIF=${BOOTIF,,} ;;
  esac
done
# shellcheck disable=SC1091,SC2034 # VERSION and CONFIG_URL are used by the sourced role scripts
VERSION=$(. /etc/os-release && echo "$VERSION_ID")

say() { echo "standin: [$(cut -d' ' -f1 /proc/uptime)] $*"; }

load_modules() {
  local m
  while read -r m; do insmod "/lib/modules/$KVER/$m" 2>/dev/null; done < /etc/standin/modules
  say "modules loaded"
}
KVER=$(cat /etc/standin/kver)

# net_up: DHCP on the BOOTIF NIC, else on each NIC in turn until one gets a lease. Sets IFACE, MAC.
net_up() {
  local n=0 i
  ip link set lo up
  nics() { for i in /sys/class/net/*; do [ "${i##*/}" != lo ] && [ -e "$i" ] && echo "${i##*/}"; done; }
  while [ -z "$(nics)" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  for i in /sys/class/net/*; do
    i=${i##*/}; [ "$i" = lo ] && continue
    [ -n "$BOOTIF" ] && [ "$(cat "/sys/class/net/$i/address")" != "$BOOTIF" ] && continue
    ip link set "$i" up
    if udhcpc -i "$i" -s /etc/standin/udhcpc.script -q -n -t 10 -T 1 > /dev/null 2>&1; then
      IFACE=$i MAC=$(cat "/sys/class/net/$i/address")
      say "network up: $IFACE $MAC $(ip -4 -o addr show dev "$IFACE" | awk '{print $4}')"
      return 0
    fi
  done
  say "no DHCP lease on any interface"; return 1
}

# finish DEFAULT: what to do when the work is done (standin.after, /etc/standin/after, DEFAULT).
finish() {
  local what=${AFTER:-$1}
  [ -s /etc/standin/after ] && what=$(tr -d ' \n' < /etc/standin/after)
  sync
  say "after: $what"
  case $what in
    poweroff) poweroff -f ;;
    reboot) reboot -f ;;
    shell) while :; do setsid cttyhack bash -l; sleep 1; done ;;
  esac
  while :; do sleep 3600; done
}

if [ "$BOOT" = disk ]; then
  # shellcheck source=init-disk.sh
  . /usr/lib/standin/init-disk.sh
else
  # shellcheck source=init-pxe.sh
  . /usr/lib/standin/init-pxe.sh
fi
say "init fell through"; while :; do sleep 3600; done
