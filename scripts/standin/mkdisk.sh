#!/bin/bash
# mkdisk.sh - build the stand-in flatcar_production_image.bin (raw disk), without root, loop
# devices or mounts, in Flatcar's GPT layout (flatcar/scripts build_library/disk_layout.json:
# numbers, labels, type GUIDs, the fixed USR-A/USR-B partition GUIDs, USR-A's gptprio
# attributes priority=1 successful=1):
#   1 EFI-SYSTEM  FAT (label EFI-SYSTEM): /flatcar/vmlinuz-a (64-hex dm-verity root hash of USR-A
#                 at byte 64, as Flatcar's build writes it), /flatcar/initrd-a (the stand-in
#                 initramfs: Flatcar's is inside its kernel), /flatcar/first_boot, SYSLINUX for
#                 BIOS (gptmbr.bin + legacy-BIOS-bootable attribute) and \EFI\BOOT\BOOTX64.EFI
#   2 BIOS-BOOT   empty (GRUB's core.img lives here on Flatcar)
#   3 USR-A       ext2 "usr" image + dm-verity hash tree right after it (veritysetup format)
#   4 USR-B       empty
#   6 OEM         ext4 (Flatcar: btrfs), label OEM; OEM_GRUB_CFG=FILE adds it as grub.cfg
#   7 OEM-CONFIG  empty
#   9 ROOT        ext4, label ROOT, empty (the installed system's / : Ignition writes here)
# Usage: [KARGS="..."] [OEM_GRUB_CFG=FILE] mkdisk.sh OUT.img KERNEL INITRD VERSION
# Files on the ESP and the OEM partition are listed in ESP_FILES / OEM_FILES below: one line
# per file ("source:destination").
set -euo pipefail
OUT=$1 KERNEL=$2 INITRD=$3 VERSION=$4
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
MIB=1048576
USR_A_GUID=7130c94a-213a-4e5a-8e26-6cce9662f132 USR_B_GUID=e03dd35c-7c2d-4a47-b3fe-27f15780a57c
USR_FS_MB=2 USR_MB=3 OEM_MB=8 ROOT_MB=16 SMALL_MB=1
VERITY_OFFSET=$((USR_FS_MB * MIB)) # the hash tree follows the filesystem (Flatcar: its e2size)

# --- 3) USR-A: a small ext2 /usr with the release files, then the verity hash tree ------------
mkdir -p "$T/usr/lib" "$T/usr/share/flatcar"
printf 'NAME="Flatcar Container Linux by Kinvolk"\nID=flatcar\nVERSION_ID=%s\nVARIANT_ID=railyard-standin\n' \
  "$VERSION" > "$T/usr/lib/os-release"
printf 'FLATCAR_RELEASE_VERSION=%s\nFLATCAR_RELEASE_BOARD=amd64-usr\n' "$VERSION" > "$T/usr/share/flatcar/release"
truncate -s "${USR_FS_MB}M" "$T/usr-fs.img"
mke2fs -q -F -t ext2 -b 4096 -L USR-A -U clear -E root_owner=0:0 -d "$T/usr" "$T/usr-fs.img"
truncate -s "${USR_MB}M" "$T/usr-a.img"
dd if="$T/usr-fs.img" of="$T/usr-a.img" conv=notrunc status=none
USR_HASH=$(veritysetup format --hash-offset="$VERITY_OFFSET" --data-blocks=$((VERITY_OFFSET / 4096)) \
  --no-superblock --salt=- "$T/usr-a.img" "$T/usr-a.img" | awk '/^Root hash:/{print $3}')
[[ $USR_HASH =~ ^[0-9a-f]{64}$ ]] || { echo "mkdisk: veritysetup gave no root hash" >&2; exit 1; }

# The kernel as Flatcar ships it: the root hash at byte 64 (Flatcar's GRUB reads it from there).
# Debian's kernel keeps its PE header at 0x40; only EFI firmware loading the kernel itself
# reads that header, and nothing boots this copy that way (SYSLINUX and kexec use the setup
# header at 0x1f1), so the stand-in kernel can carry the hash.
cp "$KERNEL" "$T/vmlinuz-a"
printf '%s' "$USR_HASH" | dd of="$T/vmlinuz-a" bs=1 seek=64 conv=notrunc status=none

# GRUB's first-boot command line (build_library/grub.cfg). SYSLINUX cannot test for
# /flatcar/first_boot, read the hash from the kernel or source the OEM grub.cfg: its config
# carries the hash, and standin.bootloader=syslinux tells the stand-in's init to do GRUB's
# first_boot test itself (a kexec'd command line carries flatcar.first_boot=detected instead).
CMDLINE="mount.usr=/dev/mapper/usr verity.usr=PARTUUID=$USR_A_GUID rootflags=rw mount.usrflags=ro consoleblank=0 root=LABEL=ROOT console=ttyS0,115200n8 console=tty0${KARGS:+ $KARGS} standin.bootloader=syslinux verity.usrhash=$USR_HASH"
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
: > "$T/first_boot"
printf 'railyard stand-in Flatcar %s OEM partition: flatcar-install -i writes config.ign here.\n' "$VERSION" > "$T/oem-readme"

ESP_FILES=(
  "$T/vmlinuz-a:/flatcar/vmlinuz-a"
  "$INITRD:/flatcar/initrd-a"
  "$T/first_boot:/flatcar/first_boot"
  "$T/syslinux.cfg:/syslinux.cfg"
  "$T/version.txt:/version.txt"
  "/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi:/EFI/BOOT/BOOTX64.EFI"
  "/usr/lib/syslinux/modules/efi64/ldlinux.e64:/EFI/BOOT/ldlinux.e64"
  "$T/syslinux.cfg:/EFI/BOOT/syslinux.cfg"
)
OEM_FILES=("$T/oem-readme:/README")
[[ -n ${OEM_GRUB_CFG:-} ]] && OEM_FILES+=("$OEM_GRUB_CFG:/grub.cfg")

# --- 1) the ESP, built as a file; -h = hidden sectors = partition start ----------------------
BOOT_START=2048
esp_bytes=0
for f in "${ESP_FILES[@]}"; do esp_bytes=$((esp_bytes + $(stat -L -c %s "${f%%:*}"))); done
BOOT_MB=$((esp_bytes / MIB + 4))
mkfs.vfat -n EFI-SYSTEM -h "$BOOT_START" -C "$T/boot.img" $((BOOT_MB * 1024)) > /dev/null
syslinux --install "$T/boot.img"
declare -A made=()
for f in "${ESP_FILES[@]}"; do
  dest=${f#*:} dir=''
  IFS=/ read -r -a parts <<< "${dest%/*}"
  for part in "${parts[@]}"; do
    [[ -n $part ]] || continue
    dir+=/$part
    [[ -n ${made[$dir]:-} ]] || { mmd -i "$T/boot.img" "::$dir"; made[$dir]=1; }
  done
  mcopy -i "$T/boot.img" -o "${f%%:*}" "::$dest"
done

# --- 6) OEM and 9) ROOT: ext filesystems populated from directories (mke2fs -d) ---------------
mkdir -p "$T/oem" "$T/root"
for f in "${OEM_FILES[@]}"; do install -D -m 0644 "${f%%:*}" "$T/oem/${f#*:}"; done
truncate -s "${OEM_MB}M" "$T/oem.img"; mkfs.ext4 -q -F -L OEM -d "$T/oem" "$T/oem.img"
truncate -s "${ROOT_MB}M" "$T/root.img"; mkfs.ext4 -q -F -L ROOT -d "$T/root" "$T/root.img"

# --- the disk: GPT in Flatcar's numbering, SYSLINUX's GPT boot code, the partitions ----------
# name:number:MiB:type GUID[:partition GUID[:attribute bits]]
PARTS=(
  "EFI-SYSTEM:1:$BOOT_MB:C12A7328-F81F-11D2-BA4B-00A0C93EC93B::2"
  "BIOS-BOOT:2:$SMALL_MB:21686148-6449-6E6F-744E-656564454649"
  "USR-A:3:$USR_MB:5DFBF5F4-2848-4BAC-AA5E-0D9A20B745A6:$USR_A_GUID:48,56"
  "USR-B:4:$USR_MB:5DFBF5F4-2848-4BAC-AA5E-0D9A20B745A6:$USR_B_GUID"
  "OEM:6:$OEM_MB:0FC63DAF-8483-4772-8E79-3D69D8477DE4"
  "OEM-CONFIG:7:$SMALL_MB:C95DC21A-DF0E-4340-8D7B-26CBFA9A03E0"
  "ROOT:9:$ROOT_MB:3884DD41-8582-4404-B9A8-E9B84F2DF50E"
)
TOTAL_MB=2 # GPT headers, alignment
for p in "${PARTS[@]}"; do IFS=: read -r _ _ mb _ <<< "$p"; TOTAL_MB=$((TOTAL_MB + mb)); done
rm -f "$OUT"; truncate -s "${TOTAL_MB}M" "$OUT"
args=(--disk-guid=00000000-0000-0000-0000-000000000001)
for p in "${PARTS[@]}"; do
  IFS=: read -r name num mb type guid attrs <<< "$p"
  args+=(-n "$num:0:+${mb}M" -t "$num:$type" -c "$num:$name")
  [[ -n $guid ]] && args+=(-u "$num:$guid")
  for bit in ${attrs//,/ }; do args+=(-A "$num:set:$bit"); done
done
sgdisk "${args[@]}" "$OUT" > /dev/null 2>&1 || { echo "mkdisk: sgdisk failed" >&2; exit 1; }
dd if=/usr/lib/syslinux/mbr/gptmbr.bin of="$OUT" bs=440 count=1 conv=notrunc status=none
start_of() { sgdisk -i "$1" "$OUT" | awk '/^First sector:/{print $3}'; }
[[ $(start_of 1) == "$BOOT_START" ]] || { echo "mkdisk: ESP does not start at $BOOT_START" >&2; exit 1; }
for img in 1:boot 3:usr-a 6:oem 9:root; do
  dd if="$T/${img#*:}.img" of="$OUT" bs=512 seek="$(start_of "${img%%:*}")" conv=notrunc status=none
done
echo "disk: $OUT (${TOTAL_MB} MiB, GPT: ESP ${BOOT_MB} MiB; usr hash $USR_HASH)" >&2
