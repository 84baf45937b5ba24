#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# init.sh - /init of the stand-in Flatcar initramfs (busybox + bash). One image, two roles:
#   PXE boot (no root= on the command line): load drivers, DHCP, run the real Ignition on the
#     config (ignition.config.url= or /usr/share/oem/config.ign from an extra initrd) with / as
#     its root, then the enabled units, like Flatcar's PXE image                   -> init-pxe.sh
#   disk boot (root=LABEL=ROOT, as Flatcar's GRUB or railyard's kexec passes it): verify USR-A
#     through dm-verity, mount ROOT, on a first boot run Ignition on the OEM config.ign, then the
#     enabled units inside the installed root                                       -> init-disk.sh
# Kernel arguments read here: standin.boot=pxe|disk (overrides the guess), standin.after=
# idle|poweroff|reboot|shell (what to do once the work is done; default idle for PXE, poweroff
# for disk; a file /etc/standin/after written by Ignition wins), ignition.config.url=URL (read
# by Ignition itself), BOOTIF=01-aa-bb-cc-dd-ee-ff (use only that NIC), console= (each one gets
# /init's output), standin.kexec_load_disabled=1 (PXE: refuse kexec_load, as a locked-down
# kernel would). Console lines start with "standin: [uptime]".
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

BOOT='' AFTER='' BOOTIF='' KEXEC_LOAD_DISABLED='' CONSOLES=()
read -r -a CMDLINE < /proc/cmdline
for arg in "${CMDLINE[@]}"; do
  case $arg in
    standin.boot=*) BOOT=${arg#*=} ;;
    standin.after=*) AFTER=${arg#*=} ;;
    standin.kexec_load_disabled=*) KEXEC_LOAD_DISABLED=${arg#*=} ;;
    root=*) BOOT=${BOOT:-disk} ;;
    console=*) c=${arg#console=}; CONSOLES+=("/dev/${c%%,*}") ;;
    BOOTIF=*) BOOTIF=${arg#*=}; BOOTIF=${BOOTIF#01-}; BOOTIF=${BOOTIF//-/:}; BOOTIF=${BOOTIF,,} ;;
  esac
done
BOOT=${BOOT:-pxe}
# /dev/console is the last console= only: copy our output to the others too (Flatcar's GRUB
# passes console=ttyS0,115200n8 console=tty0, and systemd prints on both).
if ((${#CONSOLES[@]} > 1)); then
  exec > >(exec tee -a "${CONSOLES[@]:0:${#CONSOLES[@]}-1}") 2>&1
fi
# shellcheck disable=SC1091,SC2034 # VERSION is used by the sourced role scripts
VERSION=$(. /etc/os-release && echo "$VERSION_ID")

say() { echo "standin: [$(cut -d' ' -f1 /proc/uptime)] $*"; }

# cmdline_arg NAME: the value of the last NAME= on the kernel command line (empty if none).
cmdline_arg() {
  local a v=''
  for a in "${CMDLINE[@]}"; do [[ ${a%%=*} == "$1" && $a == *=* ]] && v=${a#*=}; done
  printf '%s' "$v"
}

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

# run_ignition ROOT: Debian's real Ignition (2.14), stage by stage as Flatcar's initramfs runs
# it (fetch-offline, fetch when it needs the network, kargs, disks, mount, files, umount), on
# /usr/lib/ignition/user.ign or ignition.config.url=. Its full log goes to /run/ignition.log;
# the console gets warnings, errors and one line per stage. Returns the first failing status.
run_ignition() {
  local root=$1 stage rc
  for stage in fetch-offline fetch kargs disks mount files umount; do
    [[ $stage == fetch && ! -e /run/ignition/neednet ]] && continue
    ignition --platform=metal --stage="$stage" --root="$root" --log-to-stdout >> /run/ignition.log 2>&1
    rc=$?
    if ((rc != 0)); then
      grep -a -E 'CRITICAL|ERROR' /run/ignition.log | tail -n 5 | sed 's/^/ignition: /'
      say "ignition stage $stage failed ($rc)"
      return "$rc"
    fi
  done
  grep -a -E '^WARNING' /run/ignition.log | tail -n 5 | sed 's/^/ignition: /'
  return 0
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
