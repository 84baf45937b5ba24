#!/bin/bash
# mkinitramfs.sh - build the stand-in flatcar_production_pxe_image.cpio.gz (also the initrd on
# the installed disk): busybox-static with its applets, Debian's bash, curl, GNU wget, gpgv, jq,
# zstd, openssl, GNU tee and util-linux blkid/partx/lsblk/wipefs/blkdiscard with the libraries ldd lists, the kernel modules for
# virtio/e1000/SATA/NVMe disks and NICs plus ext4 (for the OEM partition), /init (init.sh),
# ignition-lite, flatcar-install and the systemctl/udevadm shims.
# Usage: mkinitramfs.sh OUT.cpio.gz KPKG_DIR VERSION
#   KPKG_DIR: an unpacked linux-image .deb after `depmod -b` (holds lib/modules/KVER)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(realpath -m "$1") KPKG=$2 VERSION=$3
KVER=$(ls "$KPKG/lib/modules")
MODULES="virtio_pci virtio_net virtio_blk virtio_scsi e1000 e1000e sd_mod ata_piix ahci nvme crc32c_generic ext4"
BINARIES="/bin/bash /usr/bin/curl /usr/bin/wget /usr/bin/gpgv /usr/bin/jq /usr/sbin/blkid /usr/bin/partx /usr/bin/lsblk /usr/sbin/wipefs"
BINARIES+=" /usr/bin/zstd /usr/bin/openssl /usr/bin/tee /usr/sbin/blkdiscard" # railyard's zstd image path
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$T"/{bin,sbin,etc/standin,etc/ssl,proc,sys,dev,run,tmp,root,mnt,lib/modules,lib64,usr/bin,usr/sbin,usr/lib/standin,usr/share/oem,usr/share/flatcar,var/tmp}

# busybox and its applets (real binaries copied below take precedence on PATH: /usr/bin first)
cp /bin/busybox "$T/bin/busybox"
for app in $("$T/bin/busybox" --list); do [ "$app" = busybox ] || ln -sf busybox "$T/bin/$app"; done

# dynamically linked tools, with the libraries ldd lists (same paths as on the build host)
copy_with_libs() {
  local bin=$1 lib
  mkdir -p "$T$(dirname "$bin")"; cp -L "$bin" "$T$bin"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    [ -e "$T$lib" ] || { mkdir -p "$T$(dirname "$lib")"; cp -L "$lib" "$T$lib"; }
  done
}
for b in $BINARIES; do copy_with_libs "$b"; done
# a program resolves /usr/bin/X or /bin/X the same way (Debian is usr-merged; we are not)
for b in curl wget gpgv jq partx lsblk zstd openssl tee; do ln -sf "/usr/bin/$b" "$T/bin/$b"; done
for b in blkid wipefs blkdiscard; do ln -sf "/usr/sbin/$b" "$T/sbin/$b"; ln -sf "/usr/sbin/$b" "$T/usr/bin/$b"; done
ln -sf /bin/bash "$T/usr/bin/bash"
printf 'hosts: files dns\n' > "$T/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' > "$T/etc/hosts"
printf 'root:x:0:0:root:/root:/bin/bash\n' > "$T/etc/passwd"
printf 'root:x:0:\n' > "$T/etc/group"

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

# the stand-in's own programs
install -m 0755 "$HERE/init.sh" "$T/init"
install -m 0755 "$HERE/init-pxe.sh" "$HERE/init-disk.sh" "$T/usr/lib/standin/"
install -m 0755 "$HERE/udhcpc.script" "$T/etc/standin/udhcpc.script"
install -m 0755 "$HERE/ignition-lite.sh" "$T/usr/bin/ignition-lite"
install -m 0755 "$HERE/flatcar-install" "$HERE/systemctl" "$HERE/udevadm" "$T/usr/bin/"
install -m 0755 "$HERE/omaha-client.sh" "$T/usr/bin/standin-update-client"
install -m 0755 "$HERE/machine-id.sh" "$T/usr/bin/standin-machine-id"
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

(cd "$T" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 --reproducible) | gzip -9n > "$OUT"
echo "initramfs: $OUT ($(stat -c %s "$OUT") bytes, modules: $(wc -l < "$T/etc/standin/modules"))" >&2
