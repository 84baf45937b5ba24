#!/bin/bash
# build-release.sh - build (once, cached) the stand-in Flatcar release: a fake upstream laid
# out like https://stable.release.flatcar-linux.net, made from Debian packages only.
# Usage: build-release.sh [OUTDIR]
#   Builds into the cache ${RAILYARD_FIXTURE_CACHE:-/var/cache/railyard-fixtures}/<inputs-hash>/
#   unless that entry exists, then copies the release tree into OUTDIR if given (tests may then
#   corrupt or re-point their copy; never modify the cache). Prints shell assignments on stdout:
#     STANDIN_RELEASE_DIR  root to serve over HTTP (holds stable/amd64-usr/..., and update/amd64-usr/<v>/
#                          with the update payloads, as the update server lays them out)
#     STANDIN_BASE_PATH    stable/amd64-usr   (flatcar-install -b http://HOST/$STANDIN_BASE_PATH)
#     STANDIN_VERSIONS     "9999.0.0 9999.1.0"; STANDIN_CURRENT = where current/ points
#     STANDIN_KEY          armored public test key; STANDIN_FINGERPRINT its primary fingerprint
#     STANDIN_SECRET_KEY   armored secret test key (cache only; to sign extra test files)
# Environment: STANDIN_VERSIONS (default "9999.0.0 9999.1.0"), STANDIN_CURRENT (default the
# first version), RAILYARD_FIXTURE_CACHE. Logs go to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VERSIONS=${STANDIN_VERSIONS:-9999.0.0 9999.1.0}
read -r -a VERSION_LIST <<< "$VERSIONS"
CURRENT=${STANDIN_CURRENT:-${VERSION_LIST[0]}}
CACHE=${RAILYARD_FIXTURE_CACHE:-/var/cache/railyard-fixtures}
CHANNEL=stable BOARD=amd64-usr
BINARIES=$("$HERE/mkinitramfs.sh" --list-binaries | tr '\n' ' ')
SYSLINUX_FILES="/usr/lib/syslinux/mbr/gptmbr.bin /usr/lib/SYSLINUX.EFI/efi64/syslinux.efi /usr/lib/syslinux/modules/efi64/ldlinux.e64"
# Per-version artifacts, built into each version directory and signed: one line per file.
ARTIFACTS="flatcar_production_image.bin.bz2 flatcar_production_pxe.vmlinuz flatcar_production_pxe_image.cpio.gz"
# The last version's disk image ships an OEM grub.cfg, as Flatcar's OEM images do
# (build_library/oem/*/grub.cfg); the first one has none, like the generic image.
OEM_GRUB_CFG_TEXT='# Flatcar GRUB settings (railyard stand-in: the grub.cfg of an OEM image)

set oem_id="standin"
set linux_append="standin.oem_append=1"
'

log() { echo "build-release: $*" >&2; }
die() { log "$*"; exit 1; }

check_tools() {
  local t missing=()
  for t in busybox bash cpio gzip bzip2 zstd depmod modprobe sgdisk veritysetup mke2fs mkfs.vfat mcopy syslinux mkfs.ext4 \
    gpg gpgv jq curl wget flock apt-get dpkg-deb sha512sum; do
    command -v "$t" > /dev/null || missing+=("$t")
  done
  for t in $BINARIES $SYSLINUX_FILES; do [[ -e $t ]] || missing+=("$t"); done
  ((${#missing[@]} == 0)) || die "missing: ${missing[*]} (install the packages in $HERE/packages.txt)"
}

kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'
}

# The cache key: our build scripts, the exact binaries copied into the images (with their
# libraries), the kernel package and version, the versions to build.
inputs_hash() {
  local kpkg=$1 kver=$2 b
  {
    # every file of ours that goes into the images (all but the docs and the self test)
    (cd "$HERE" && find . -maxdepth 1 -type f ! -name README.md ! -name selftest.sh ! -name testserver.py \
      ! -name packages.txt -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    for b in $BINARIES; do ldd "$b" 2>/dev/null | grep -o '/[^ ]*'; echo "$b"; done | sort -u | xargs sha256sum
    # shellcheck disable=SC2086 # a list of paths
    sha256sum $SYSLINUX_FILES
    echo "$kpkg $kver $VERSIONS $CURRENT $CHANNEL $BOARD"
  } | sha256sum | cut -c1-16
}

fetch_kernel() {
  local kpkg=$1 kver=$2 deb
  mkdir -p "$CACHE/debs"
  deb=$(ls "$CACHE/debs/${kpkg}_${kver}_amd64.deb" 2>/dev/null || true)
  if [[ -z $deb ]]; then
    log "downloading $kpkg $kver"
    (cd "$CACHE/debs" && apt-get download "$kpkg=$kver" >&2) || die "apt-get download $kpkg failed"
    deb=$CACHE/debs/${kpkg}_${kver}_amd64.deb
  fi
  echo "$deb"
}

gen_key() {
  local gh=$1 uid="railyard stand-in release signing key (TEST ONLY) <standin-test@railyard.invalid>"
  local gpg=(gpg --homedir "$gh" --batch --quiet --pinentry-mode loopback --passphrase '')
  "${gpg[@]}" --quick-gen-key "$uid" rsa4096 cert never
  FPR=$("${gpg[@]}" --with-colons --list-keys | awk -F: '/^fpr/{print $10; exit}')
  "${gpg[@]}" --quick-add-key "$FPR" rsa4096 sign 10y
}

sign_artifact() {
  local gh=$1 f=$2 dir base
  dir=$(dirname "$f") base=$(basename "$f")
  gpg --homedir "$gh" --batch --quiet --yes --digest-algo SHA512 --detach-sign -o "$f.sig" "$f"
  (
    cd "$dir"
    echo "# MD5 HASH"; md5sum "$base"
    echo "# SHA1 HASH"; sha1sum "$base"
    echo "# SHA512 HASH"; sha512sum "$base"
  ) > "$f.DIGESTS"
  gpg --homedir "$gh" --batch --quiet --yes --digest-algo SHA512 --clearsign -o "$f.DIGESTS.asc" "$f.DIGESTS"
}

write_version_txt() {
  local v=$1 hash=$2 major minor patch
  IFS=. read -r major minor patch <<< "$v"
  printf 'FLATCAR_BUILD=%s\nFLATCAR_BRANCH=%s\nFLATCAR_PATCH=%s\nFLATCAR_VERSION=%s\nFLATCAR_VERSION_ID=%s\nFLATCAR_BUILD_ID="standin-%s"\nFLATCAR_SDK_VERSION=%s.0.0\n' \
    "$major" "$minor" "$patch" "$v" "$v" "$hash" "$major"
}

build() {
  local dest=$1 deb=$2 hash=$3 v vdir
  WORK=$(mktemp -d "$CACHE/.work.XXXXXX")
  trap cleanup EXIT
  local work=$WORK
  log "unpacking $(basename "$deb")"
  mkdir -p "$work/kpkg" "$work/gnupg" && chmod 700 "$work/gnupg"
  dpkg-deb -x "$deb" "$work/kpkg"
  depmod -b "$work/kpkg" "$(ls "$work/kpkg/lib/modules")"
  log "generating the test signing key"
  gen_key "$work/gnupg"
  local root=$work/out/release
  mkdir -p "$root/$CHANNEL/$BOARD" "$work/out/keys"
  for v in "${VERSION_LIST[@]}"; do
    vdir=$root/$CHANNEL/$BOARD/$v; mkdir -p "$vdir"
    log "building $v"
    cp "$work/kpkg/boot/vmlinuz-"* "$vdir/flatcar_production_pxe.vmlinuz"
    "$HERE/mkinitramfs.sh" --role pxe "$vdir/flatcar_production_pxe_image.cpio.gz" "$work/kpkg" "$v"
    "$HERE/mkinitramfs.sh" --role disk "$work/initrd-disk.cpio.zst" "$work/kpkg" "$v"
    oem_cfg=''
    if [[ $v == "${VERSION_LIST[-1]}" && ${#VERSION_LIST[@]} -gt 1 ]]; then
      oem_cfg=$work/oem-grub.cfg; printf '%s' "$OEM_GRUB_CFG_TEXT" > "$oem_cfg"
    fi
    OEM_GRUB_CFG=$oem_cfg "$HERE/mkdisk.sh" "$work/disk.img" "$vdir/flatcar_production_pxe.vmlinuz" \
      "$work/initrd-disk.cpio.zst" "$v"
    # -1: 100k blocks decompress ~25 % faster than -9's 900k (measured: 0.64 vs 0.85 s here) at
    # the same size, since the payload (kernel, zstd initramfs) is already compressed
    bzip2 -1 -c "$work/disk.img" > "$vdir/flatcar_production_image.bin.bz2"
    write_version_txt "$v" "$hash" > "$vdir/version.txt"
    for f in $ARTIFACTS; do
      sign_artifact "$work/gnupg" "$vdir/$f"
    done
    "$HERE/mkpayload.sh" "$root/update/$BOARD/$v" "$v" # the update server's tree (update payloads)
  done
  ln -s "$CURRENT" "$root/$CHANNEL/$BOARD/current"
  gpg --homedir "$work/gnupg" --batch --armor --export "$FPR" > "$root/test-signing-key.asc"
  echo "$FPR" > "$root/test-signing-key.fingerprint"
  gpg --homedir "$work/gnupg" --batch --pinentry-mode loopback --passphrase '' --armor \
    --export-secret-keys "$FPR" > "$work/out/keys/test-signing-key.secret.asc"
  echo "$hash" > "$work/out/inputs-hash"
  mv "$work/out" "$dest"
  cleanup
}

WORK=''
cleanup() {
  [[ -n $WORK ]] || return 0
  gpgconf --homedir "$WORK/gnupg" --kill all 2>/dev/null
  rm -rf "$WORK"; WORK=''
}

emit() {
  local root=$1 keys=$2
  printf 'STANDIN_RELEASE_DIR=%q\nSTANDIN_BASE_PATH=%q\nSTANDIN_VERSIONS=%q\nSTANDIN_CURRENT=%q\n' \
    "$root" "$CHANNEL/$BOARD" "$VERSIONS" "$(readlink "$root/$CHANNEL/$BOARD/current")"
  printf 'STANDIN_KEY=%q\nSTANDIN_FINGERPRINT=%q\nSTANDIN_SECRET_KEY=%q\n' \
    "$root/test-signing-key.asc" "$(cat "$root/test-signing-key.fingerprint")" "$keys/test-signing-key.secret.asc"
}

# Entries unused for STANDIN_CACHE_DAYS (default 3) days go; so do stale build dirs.
prune_cache() {
  local keep=$1 e
  for e in "$CACHE"/[0-9a-f]*[0-9a-f] "$CACHE"/.work.*; do
    [[ -d $e && $e != "$keep" ]] || continue
    if [[ $e == */.work.* ]] || [[ -z $(find "$e/last-used" -mtime "-${STANDIN_CACHE_DAYS:-3}" 2>/dev/null) ]]; then
      log "pruning $e"; rm -rf "$e"
    fi
  done
}

main() {
  local out=${1:-} kpkg kver hash entry start=$SECONDS
  check_tools
  mkdir -p "$CACHE"
  kpkg=$(kernel_package); [[ -n $kpkg ]] || die "no linux-image-amd64 in apt lists (run apt-get update)"
  kver=$(apt-cache show --no-all-versions "$kpkg" | awk '/^Version:/{print $2; exit}')
  hash=$(inputs_hash "$kpkg" "$kver")
  entry=$CACHE/$hash
  exec 9> "$CACHE/.lock"
  flock 9
  if [[ -f $entry/inputs-hash ]]; then
    log "cache hit: $entry"
  else
    build "$entry" "$(fetch_kernel "$kpkg" "$kver")" "$hash"
    log "built $entry in $((SECONDS - start)) s"
  fi
  touch "$entry/last-used"
  prune_cache "$entry"
  flock -u 9
  if [[ -n $out ]]; then
    mkdir -p "$out"
    cp -a --reflink=auto "$entry/release/." "$out/"
    emit "$(cd "$out" && pwd)" "$entry/keys"
  else
    emit "$entry/release" "$entry/keys"
  fi
}

main "$@"
