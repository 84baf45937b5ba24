#!/bin/bash
# mkinitramfs.sh - build a stand-in initramfs, for one of two roles:
#   pxe   flatcar_production_pxe_image.cpio.gz: the live system that installs
#   disk  /flatcar/initrd-a on the installed disk (Flatcar's initramfs is inside its kernel;
#         Debian's prebuilt kernel cannot carry ours): the disk-boot role only, without the
#         installer's tools, so the image stays small
# Both hold busybox-static with its applets, Debian's bash, curl, jq, util-linux blkid, Debian's
# real Ignition 2.14 (and the shadow tools it runs for users), dmsetup (dm-verity of USR-A), with
# the libraries ldd lists; the kernel modules for virtio/e1000/SATA/NVMe disks and NICs, ext4
# (OEM, ROOT), vfat (the ESP), dm-verity and efivarfs; /init (init.sh), standin-units and the
# systemctl/udevadm/setfiles shims. The PXE role adds GNU wget, gpgv, partx/lsblk/wipefs,
# kexec-tools (behind the stand-in's kexec wrapper), efibootmgr, flatcar-install, and zstd,
# openssl, GNU tee and blkdiscard (railyard's zstd image path, write-image.sh).
# Usage: mkinitramfs.sh [--role pxe|disk] OUT.cpio.{gz,zst} KPKG_DIR VERSION   (default role pxe;
#        the compressor follows OUT's suffix: gzip -9, or zstd -19)
#   KPKG_DIR: an unpacked linux-image .deb after `depmod -b` (holds lib/modules/KVER)
#        mkinitramfs.sh --list-binaries   (every host binary either role copies: build-release's cache key)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MODULES="virtio_pci virtio_net virtio_blk virtio_scsi e1000 e1000e sd_mod ata_piix ahci nvme crc32c_generic ext4 vfat nls_cp437 nls_ascii nls_utf8 dm_mod dm_verity efivarfs"
# One line per binary; copied with the libraries ldd lists, to the same path, or "source:destination".
BINARIES_COMMON="/bin/bash /usr/bin/curl /usr/bin/jq /usr/sbin/blkid /sbin/dmsetup
  /usr/sbin/useradd /usr/sbin/usermod /usr/sbin/groupadd
  /usr/lib/dracut/modules.d/30ignition/ignition:/usr/bin/ignition"
BINARIES_PXE="/usr/bin/wget /usr/bin/gpgv /usr/bin/partx /usr/bin/lsblk /usr/sbin/wipefs /usr/bin/efibootmgr
  /sbin/kexec:/usr/lib/standin/kexec
  /usr/bin/zstd /usr/bin/openssl /usr/bin/tee /usr/sbin/blkdiscard"
# The stand-in's own programs: "file:destination:role" (role all, pxe or disk).
OWN_FILES="init.sh:/init:all init-pxe.sh:/usr/lib/standin/init-pxe.sh:all init-disk.sh:/usr/lib/standin/init-disk.sh:all
  udhcpc.script:/etc/standin/udhcpc.script:all standin-units.sh:/usr/bin/standin-units:all
  systemctl:/usr/bin/systemctl:all udevadm:/usr/bin/udevadm:all setfiles:/usr/sbin/setfiles:all
  flatcar-install:/usr/bin/flatcar-install:pxe kexec:/usr/sbin/kexec:pxe
  machine-id.sh:/usr/bin/standin-machine-id:disk omaha-client.sh:/usr/bin/standin-update-client:disk"
ROLE=pxe
if [[ ${1:-} == --list-binaries ]]; then
  for b in /bin/busybox $BINARIES_COMMON $BINARIES_PXE; do echo "${b%%:*}"; done
  exit 0
fi
[[ ${1:-} == --role ]] && { ROLE=$2; shift 2; }
[[ $ROLE == pxe || $ROLE == disk ]] || { echo "mkinitramfs: --role pxe|disk" >&2; exit 2; }
OUT=$(realpath -m "$1") KPKG=$2 VERSION=$3
KVER=$(ls "$KPKG/lib/modules")
BINARIES=$BINARIES_COMMON
[[ $ROLE == pxe ]] && BINARIES+=" $BINARIES_PXE"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$T"/{bin,sbin,etc/standin,etc/ssl,etc/selinux,proc,sys,dev,run,tmp,root,mnt,lib/modules,lib64} \
  "$T"/{usr/bin,usr/sbin,usr/lib/standin,usr/share/oem,usr/share/flatcar,var/tmp,home/core}

# busybox and its applets (real binaries copied below take precedence on PATH: /usr/bin first)
cp /bin/busybox "$T/bin/busybox"
for app in $("$T/bin/busybox" --list); do [ "$app" = busybox ] || ln -sf busybox "$T/bin/$app"; done

# dynamically linked tools, with the libraries ldd lists (same paths as on the build host)
copy_with_libs() {
  local bin=$1 dest=${2:-$1} lib
  mkdir -p "$T$(dirname "$dest")"; cp -L "$bin" "$T$dest"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    [ -e "$T$lib" ] || { mkdir -p "$T$(dirname "$lib")"; cp -L "$lib" "$T$lib"; }
  done
  # a program resolves /usr/bin/X, /bin/X, /usr/sbin/X or /sbin/X the same way (Debian is
  # usr-merged; we are not)
  local d name=${dest##*/}
  [[ $dest == */lib/* ]] && return 0
  for d in /bin /sbin /usr/bin /usr/sbin; do [ "$d/$name" = "$dest" ] || ln -sf "$dest" "$T$d/$name"; done
}
for b in $BINARIES; do copy_with_libs "${b%%:*}" "${b#*:}"; done
printf 'hosts: files dns\n' > "$T/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' > "$T/etc/hosts"
printf 'root:x:0:0:root:/root:/bin/bash\ncore:x:500:500:Flatcar Admin:/home/core:/bin/bash\n' > "$T/etc/passwd"
printf 'root:x:0:\nwheel:x:10:root,core\ncore:x:500:\n' > "$T/etc/group"
printf 'root:*:1::::::\ncore:*:1::::::\n' > "$T/etc/shadow"
printf 'root:*::\nwheel:*::root,core\ncore:*::\n' > "$T/etc/gshadow"
printf 'SELINUX=permissive\nSELINUXTYPE=mcs\n' > "$T/etc/selinux/config"   # Flatcar's; see setfiles

# kernel modules in load order (modprobe --show-depends prints dependencies first)
MODDIR=$KPKG/lib/modules/$KVER
for m in $MODULES; do modprobe -d "$KPKG" -S "$KVER" --show-depends "$m"; done |
  awk '$1=="insmod"{print $2}' | awk '!seen[$0]++' | while read -r ko; do
    rel=${ko#"$MODDIR"/}; mkdir -p "$T/lib/modules/$KVER/$(dirname "$rel")"
    cp "$ko" "$T/lib/modules/$KVER/$rel"; echo "$rel"
  done > "$T/etc/standin/modules"
cp "$MODDIR"/modules.{order,builtin,builtin.modinfo} "$T/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$T" "$KVER"
echo "$KVER" > "$T/etc/standin/kver"
echo "$ROLE" > "$T/etc/standin/role"

for f in $OWN_FILES; do
  IFS=: read -r src dest role <<< "$f"
  [[ $role == all || $role == "$ROLE" ]] && install -D -m 0755 "$HERE/$src" "$T$dest"
done
cat > "$T/etc/os-release" <<OS
NAME="Flatcar Container Linux by Kinvolk"
ID=flatcar
ID_LIKE=coreos
VERSION=$VERSION
VERSION_ID=$VERSION
BUILD_ID=railyard-standin
PRETTY_NAME="Flatcar Container Linux stand-in $VERSION (railyard test fixture)"
VARIANT_ID=railyard-standin
OS
printf 'FLATCAR_RELEASE_VERSION=%s\nFLATCAR_RELEASE_BOARD=amd64-usr\n' "$VERSION" > "$T/usr/share/flatcar/release"
printf 'GROUP=stable\n' > "$T/usr/share/flatcar/update.conf"

case $OUT in
  *.zst) compress=(zstd -19 -q -T0 -c) ;;
  *) compress=(gzip -9n) ;;
esac
(cd "$T" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 --reproducible) | "${compress[@]}" > "$OUT"
echo "initramfs ($ROLE): $OUT ($(stat -c %s "$OUT") bytes, modules: $(wc -l < "$T/etc/standin/modules"))" >&2
