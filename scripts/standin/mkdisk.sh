#!/bin/bash
# mkdisk.sh - build the stand-in flatcar_production_image.bin (raw disk), without root, loop
# devices or mounts: MBR (syslinux mbr.bin) with
#   1: FAT16, active, label EFI-SYSTEM: SYSLINUX (BIOS) + \EFI\BOOT\BOOTX64.EFI (UEFI), the kernel
#      and the stand-in initramfs, kernel command line with standin.boot=disk
#   2: ext4, label OEM (Flatcar's is btrfs; ext4 mounts on hosts and guests alike), holding only
#      a README: flatcar-install writes config.ign there
# Usage: [KARGS="..."] mkdisk.sh OUT.img KERNEL INITRD VERSION [OEM_MB]
set -euo pipefail
OUT=$1 KERNEL=$2 INITRD=$3 VERSION=$4 OEM_MB=${5:-8}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
MIB=1048576
BOOT_MB=$(( ($(stat -c %s "$KERNEL") + $(stat -c %s "$INITRD")) / MIB + 4 ))
BOOT_START=2048 BOOT_SECTORS=$((BOOT_MB * 2048))
OEM_START=$((BOOT_START + BOOT_SECTORS)) OEM_SECTORS=$((OEM_MB * 2048))
TOTAL_MB=$((1 + BOOT_MB + OEM_MB))
CMDLINE="console=tty0 console=ttyS0,115200n8 ${KARGS-quiet} standin.boot=disk"

cat > "$T/syslinux.cfg" <<CFG
SERIAL 0 115200
PROMPT 0
TIMEOUT 0
DEFAULT flatcar
LABEL flatcar
  LINUX /flatcar/vmlinuz-a
  INITRD /flatcar/initrd-a
  APPEND $CMDLINE
CFG
printf 'FLATCAR_VERSION=%s\nstand-in disk image built by railyard scripts/standin/mkdisk.sh\n' "$VERSION" > "$T/version.txt"

# 1) boot partition, built as a file; -h = hidden sectors = partition start
mkfs.vfat -F 16 -n EFI-SYSTEM -h "$BOOT_START" -C "$T/boot.img" $((BOOT_SECTORS / 2)) > /dev/null
syslinux --install "$T/boot.img"
mmd -i "$T/boot.img" ::/flatcar ::/EFI ::/EFI/BOOT
mcopy -i "$T/boot.img" "$KERNEL" ::/flatcar/vmlinuz-a
mcopy -i "$T/boot.img" "$INITRD" ::/flatcar/initrd-a
mcopy -i "$T/boot.img" "$T/syslinux.cfg" "$T/version.txt" ::/
mcopy -i "$T/boot.img" /usr/lib/SYSLINUX.EFI/efi64/syslinux.efi ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$T/boot.img" /usr/lib/syslinux/modules/efi64/ldlinux.e64 "$T/syslinux.cfg" ::/EFI/BOOT/

# 2) OEM partition: ext4 populated from a directory (mke2fs -d), no mount needed
mkdir "$T/oem"
printf 'railyard stand-in Flatcar %s OEM partition: flatcar-install -i writes config.ign here.\n' "$VERSION" > "$T/oem/README"
truncate -s "${OEM_MB}M" "$T/oem.img"
mkfs.ext4 -q -F -L OEM -d "$T/oem" "$T/oem.img"

# 3) the disk: MBR table, boot code, both partitions
rm -f "$OUT"; truncate -s "${TOTAL_MB}M" "$OUT"
printf 'label: dos\nlabel-id: 0x52a1f0c7\nstart=%s, size=%s, type=6, bootable\nstart=%s, size=%s, type=83\n' \
  "$BOOT_START" "$BOOT_SECTORS" "$OEM_START" "$OEM_SECTORS" | sfdisk -q "$OUT"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$OUT" bs=440 count=1 conv=notrunc status=none
dd if="$T/boot.img" of="$OUT" bs=512 seek="$BOOT_START" conv=notrunc status=none
dd if="$T/oem.img" of="$OUT" bs=512 seek="$OEM_START" conv=notrunc status=none
echo "disk: $OUT (${TOTAL_MB} MiB: boot ${BOOT_MB} MiB, OEM ${OEM_MB} MiB)" >&2
