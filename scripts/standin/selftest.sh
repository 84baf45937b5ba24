#!/bin/bash
# selftest.sh - QEMU smoke test of the stand-in Flatcar release (not run by the unit tests).
# BIOS (SeaBIOS + QEMU's iPXE ROM), user-mode networking with restrict=on and one guestfwd to
# testserver.py on 127.0.0.1, which plays both the upstream mirror and railyard:
#   1. PXE: stand-in kernel + initramfs + a hand-made extra cpio (usr/share/oem/config.ign) whose
#      unit runs an installer script: flatcar-install -b <mirror> -V current -k <test key> -i
#      target.ign to a blank qcow2 /dev/vda, POST installed, reboot;
#      then /boot.ipxe says `sanboot --no-describe --drive 0x80`: BOOTED FROM DISK, the target
#      Ignition's phone-home unit POSTs first-boot with the sha256 of config.ign; power off.
#   2. power cycle: the disk boots again (RAILYARD BOOT DONE) and first-boot is not re-sent.
#   3. UEFI (OVMF, iPXE's EFI ROM): the same install, then OVMF boots the disk (\EFI\BOOT\BOOTX64.EFI).
#   4. corrupted image (one byte flipped in the .bz2): signature verification fails, the disk's
#      first MiBs are wiped, install-failed is POSTed with the reason.
#   Before them, "host": flatcar-install itself on this host against a loop device (root only).
# Usage: selftest.sh [WORKDIR]     (KEEP=1 keeps WORKDIR; prints a timeline; exit 0 = all good)
#   5. url: ignition.config.url= + BOOTIF= + standin.after=poweroff on the kernel command line.
#   PHASES="host bios cycle uefi corrupt url" (default all) picks phases; cycle needs bios.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=${1:-$(mktemp -d /tmp/standin-selftest.XXXXXX)}
mkdir -p "$W/state"; W=$(cd "$W" && pwd)
MAC=52:54:00:5a:00:01 GUEST_IP=10.0.2.100 TOKEN=selftest-token
QEMU_PID='' SERVER_PID='' LOOP='' T0=$SECONDS FAILURES=0
PHASES=" ${PHASES:-host bios cycle uefi corrupt url} "
want() { [[ $PHASES == *" $1 "* ]]; }

log() { printf '[%4ds] %s\n' "$((SECONDS - T0))" "$*"; }
fail() { log "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  [[ -n $QEMU_PID ]] && kill "$QEMU_PID" 2>/dev/null
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null
  [[ -n $LOOP ]] && { partx -d "$LOOP" 2>/dev/null; losetup -d "$LOOP"; }
  [[ -n ${KEEP:-} ]] && { echo "kept $W"; return; }
  rm -rf "$W"
}
trap cleanup EXIT

# --- release (cached build) copied into the served tree, so phase 3 may corrupt it ---------
log "building (or reusing) the stand-in release"
eval "$("$HERE/build-release.sh" "$W/www")"
log "release $STANDIN_CURRENT ($STANDIN_VERSIONS), key $STANDIN_FINGERPRINT"
read -r -a VERSION_LIST <<< "$STANDIN_VERSIONS"

python3 "$HERE/testserver.py" --root "$W/www" --state "$W/state" > "$W/server.log" 2>&1 &
for _ in $(seq 50); do [[ -s $W/state/server.port ]] && break; sleep 0.1; done
SERVER_PID=$(cat "$W/state/server.pid")   # the server's own PID (python3 may be a shim)
PORT=$(cat "$W/state/server.port")
URL=http://$GUEST_IP:$PORT
log "test server on 127.0.0.1:$PORT (guests: $URL), pid $SERVER_PID"

# --- the Ignition configs: target (goes to the OEM partition) and installer (extra cpio) -----
mkdir -p "$W/ign"
cat > "$W/ign/phone-home" <<EOF
#!/bin/bash
# first-boot report, as railyard's target Ignition would install it
h=\$(sha256sum /usr/share/oem/config.ign | cut -d' ' -f1)
curl -fsS --retry 5 --max-time 20 -X POST -H 'Content-Type: application/json' \\
  -H 'Authorization: Bearer $TOKEN' -d "{\"event\":\"first-boot\",\"configSha256\":\"\$h\"}" \\
  $URL/api/v1/machines/$MAC/events
EOF
cat > "$W/ign/install.sh" <<EOF
#!/bin/bash
# the installer, as railyard's installer Ignition would run it
set -uo pipefail
report() {
  curl -fsS --retry 5 --max-time 20 -X POST -H 'Content-Type: application/json' \\
    -H 'Authorization: Bearer $TOKEN' "\$@" $URL/api/v1/machines/$MAC/events
}
report -d '{"event":"install-started"}'
if flatcar-install -d /dev/vda -b $URL/$STANDIN_BASE_PATH -V current -k /etc/railyard/key.asc \\
    -i /etc/railyard/target.ign 2> >(tee /tmp/install.err >&2); then
  printf '{"event":"installed"}' > /tmp/ev.json
  report --data-binary @/tmp/ev.json
  udevadm settle
  systemctl reboot
else
  report -d "{\"event\":\"install-failed\",\"reason\":\$(tail -n 8 /tmp/install.err | jq -Rs .)}"
  systemctl poweroff
fi
EOF
python3 - "$W/ign" "$W/www/test-signing-key.asc" <<'EOF'
import base64, json, sys, urllib.parse
d, keyfile = sys.argv[1], sys.argv[2]
def b64(p): return "data:;base64," + base64.b64encode(open(p, "rb").read()).decode()
def pct(b): return "data:," + urllib.parse.quote(b, safe="")
target = {"ignition": {"version": "3.3.0"},
  "storage": {"files": [{"path": "/opt/railyard/phone-home", "mode": 493, "contents": {"source": b64(f"{d}/phone-home")}}]},
  "systemd": {"units": [{"name": "railyard-phone-home.service", "enabled": True, "contents":
    "[Unit]\nDescription=Report first boot to railyard\nConditionFirstBoot=yes\nAfter=network-online.target\n"
    "[Service]\nType=oneshot\nExecStart=/opt/railyard/phone-home\n[Install]\nWantedBy=multi-user.target\n"}]}}
tj = json.dumps(target, indent=1).encode()
open(f"{d}/target.ign", "wb").write(tj)
installer = {"ignition": {"version": "3.3.0"},
  "storage": {"files": [
    {"path": "/opt/railyard/install.sh", "mode": 493, "contents": {"source": b64(f"{d}/install.sh")}},
    {"path": "/etc/railyard/key.asc", "mode": 420, "contents": {"source": pct(open(keyfile, "rb").read())}},
    {"path": "/etc/railyard/target.ign", "mode": 384, "contents": {"source": pct(tj)}}]},
  "systemd": {"units": [{"name": "railyard-install.service", "enabled": True, "contents":
    "[Unit]\nAfter=network-online.target\n[Service]\nType=oneshot\nExecStart=/opt/railyard/install.sh\n"
    "[Install]\nWantedBy=multi-user.target\n"}]}}
open(f"{d}/installer.ign", "w").write(json.dumps(installer))
EOF
mkdir -p "$W/cpio/usr/share/oem" "$W/www/test"
cp "$W/ign/installer.ign" "$W/cpio/usr/share/oem/config.ign"
(cd "$W/cpio" && find usr | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$W/www/test/installer.cpio.gz"
TARGET_SHA=$(sha256sum < "$W/ign/target.ign" | cut -d' ' -f1)
log "target.ign sha256 $TARGET_SHA"

B=$URL/$STANDIN_BASE_PATH/current
cat > "$W/state/boot-install.ipxe" <<EOF
#!ipxe
kernel $B/flatcar_production_pxe.vmlinuz initrd=flatcar_production_pxe_image.cpio.gz initrd=installer.cpio.gz console=ttyS0,115200n8 flatcar.first_boot=1
initrd $B/flatcar_production_pxe_image.cpio.gz
initrd $URL/test/installer.cpio.gz
boot
EOF
printf '#!ipxe\nsanboot --no-describe --drive 0x80\n' > "$W/state/boot-after-installed.ipxe"

# --- QEMU helpers ---------------------------------------------------------------------------
start_qemu() { # DISK SERIAL_LOG [uefi]
  local fw=()
  if [[ ${3:-} == uefi ]]; then
    cp /usr/share/OVMF/OVMF_VARS.fd "$W/vars.fd"
    fw=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd"
      -drive "if=pflash,format=raw,unit=1,file=$W/vars.fd")
  fi
  qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -no-user-config -nodefaults -display none "${fw[@]}" \
    -machine pc,graphics=off -serial "file:$2" \
    -netdev "user,id=n0,restrict=on,bootfile=$URL/boot.ipxe,guestfwd=tcp:$GUEST_IP:$PORT-cmd:busybox nc 127.0.0.1 $PORT" \
    -device "virtio-net-pci,netdev=n0,mac=$MAC" \
    -drive "file=$1,if=virtio,format=qcow2" -boot order=n > "$W/qemu.out" 2>&1 &
  QEMU_PID=$!
  QEMU_T0=$SECONDS
}
wait_marker() { # LOG REGEX TIMEOUT -> prints seconds since QEMU start
  local end=$((SECONDS + $3))
  while ((SECONDS < end)); do
    grep -qaE "$2" "$1" 2>/dev/null && { echo $((SECONDS - QEMU_T0)); return 0; }
    kill -0 "$QEMU_PID" 2>/dev/null || { grep -qaE "$2" "$1" && { echo $((SECONDS - QEMU_T0)); return 0; }; return 1; }
    sleep 0.5
  done
  return 1
}
wait_exit() { # TIMEOUT
  local end=$((SECONDS + $1))
  while kill -0 "$QEMU_PID" 2>/dev/null; do ((SECONDS < end)) || { kill "$QEMU_PID"; QEMU_PID=''; return 1; }; sleep 0.5; done
  wait "$QEMU_PID" 2>/dev/null || true; QEMU_PID=''
}
step() { # LOG LABEL REGEX TIMEOUT
  local t
  if t=$(wait_marker "$1" "$3" "$4"); then log "  +${t}s  $2"; else fail "no '$3' within $4 s (see $1)"; return 1; fi
}
events() { jq -c "select(.path == \"/api/v1/machines/$MAC/events\" and (.body | type) == \"object\") | .body" "$W/state/events.jsonl" 2>/dev/null; }
first_event() { events | jq -s -c "map(select(.event == \"$1\"))[0]"; }
has_event() { (($(events | jq -s "map(select(.event == \"$1\")) | length") > 0)); }

# --- host: flatcar-install against a loop device, with this host's tools ------------------------
if want host && [[ $(id -u) == 0 ]]; then
  log "host: flatcar-install -V 9999.1.0 to a loop device"
  truncate -s 64M "$W/loop.img"; LOOP=$(losetup -f --show "$W/loop.img")
  if PATH=$HERE:$PATH flatcar-install -d "$LOOP" -b "http://127.0.0.1:$PORT/$STANDIN_BASE_PATH" -V "${VERSION_LIST[1]:-$STANDIN_CURRENT}" \
      -i "$W/ign/target.ign" -k "$W/www/test-signing-key.asc" > "$W/host-install.log" 2>&1; then
    mkdir -p "$W/mnt"; oem=$(blkid -o device -t LABEL=OEM "$LOOP"p* 2>/dev/null | head -n1)
    if [[ -n $oem ]] && mount -o ro "$oem" "$W/mnt"; then
      if cmp -s "$W/mnt/config.ign" "$W/ign/target.ign"; then log "  ok: $oem (OEM) holds config.ign"; else fail "host: config.ign differs"; fi
      umount "$W/mnt"
    else fail "host: no OEM partition on $LOOP"; fi
  else fail "host: flatcar-install failed (see $W/host-install.log)"; fi
  partx -d "$LOOP" 2>/dev/null; losetup -d "$LOOP"; LOOP=''
fi

# --- phase 1: install, then first boot from disk ----------------------------------------------
if want bios; then
cp "$W/state/boot-install.ipxe" "$W/state/boot.ipxe"
qemu-img create -q -f qcow2 "$W/target.qcow2" 2G
log "phase 1: PXE install to a blank disk, then sanboot"
start_qemu "$W/target.qcow2" "$W/serial1.log"
step "$W/serial1.log" "iPXE fetched the boot script" 'boot.ipxe\.\.\. ok|boot\.ipxe.*ok' 120 || true
step "$W/serial1.log" "PXE initramfs /init running" 'Flatcar stand-in .* PXE initramfs' 180 &&
  step "$W/serial1.log" "Ignition started (installer config)" 'IGNITION START' 60 &&
  step "$W/serial1.log" "flatcar-install done" 'Success! Flatcar' 300 &&
  step "$W/serial1.log" "BOOTED FROM DISK" 'BOOTED FROM DISK' 180 &&
  step "$W/serial1.log" "RAILYARD FIRST BOOT DONE" 'RAILYARD FIRST BOOT DONE' 120
wait_exit 60 || fail "QEMU did not power off after the first boot"
log "  QEMU exited at +$((SECONDS - QEMU_T0))s"
got=$(first_event first-boot | jq -r .configSha256)
if [[ $got == "$TARGET_SHA" ]]; then log "  first-boot report has the right sha256"; else fail "first-boot sha256 '$got' != $TARGET_SHA"; fi
has_event installed || fail "no installed event"
qemu-img convert -O raw "$W/target.qcow2" "$W/disk.raw"
read -r oem_start oem_size < <(sfdisk -J "$W/disk.raw" | jq -r '.partitiontable.partitions[] | select(.name == "OEM") | "\(.start) \(.size)"')
dd if="$W/disk.raw" of="$W/oem.img" bs=512 skip="$oem_start" count="$oem_size" status=none
debugfs -R 'cat /config.ign' "$W/oem.img" 2>/dev/null > "$W/oem-config.ign"
if cmp -s "$W/oem-config.ign" "$W/ign/target.ign"; then log "  disk: OEM partition holds config.ign = target.ign"
else fail "config.ign on disk differs"; fi
rm -f "$W/disk.raw" "$W/oem.img"
fi

# --- phase 2: power cycle: boots from disk again, no new first-boot ----------------------------
if want bios && want cycle; then
log "phase 2: power cycle of the installed node"
start_qemu "$W/target.qcow2" "$W/serial2.log"
step "$W/serial2.log" "BOOTED FROM DISK" 'BOOTED FROM DISK' 180 &&
  step "$W/serial2.log" "RAILYARD BOOT DONE (not first boot)" 'RAILYARD BOOT DONE' 120
wait_exit 60 || fail "QEMU did not power off"
grep -qa 'flatcar-install' "$W/serial2.log" && fail "installed again on the second boot"
n=$(events | jq -s 'map(select(.event == "first-boot")) | length')
if [[ $n == 1 ]]; then log "  still exactly one first-boot report"; else fail "$n first-boot reports"; fi
fi

# --- phase 3: UEFI: OVMF + iPXE EFI ROM install; OVMF boots the installed disk ------------------
if want uefi; then
log "phase 3: UEFI (OVMF) install, then boot from disk"
before=$(events | jq -s 'map(select(.event == "first-boot")) | length')
cp "$W/state/boot-install.ipxe" "$W/state/boot.ipxe"
printf '#!ipxe\nexit\n' > "$W/state/boot-after-installed.ipxe"
qemu-img create -q -f qcow2 "$W/target4.qcow2" 2G
start_qemu "$W/target4.qcow2" "$W/serial4.log" uefi
step "$W/serial4.log" "PXE initramfs /init running" 'Flatcar stand-in .* PXE initramfs' 240 &&
  step "$W/serial4.log" "flatcar-install done" 'Success! Flatcar' 300 &&
  step "$W/serial4.log" "BOOTED FROM DISK" 'BOOTED FROM DISK' 240 &&
  step "$W/serial4.log" "RAILYARD FIRST BOOT DONE" 'RAILYARD FIRST BOOT DONE' 120
wait_exit 60 || fail "QEMU did not power off after the UEFI first boot"
after=$(events | jq -s 'map(select(.event == "first-boot" and .configSha256 == "'"$TARGET_SHA"'")) | length')
if ((after == before + 1)); then log "  UEFI first-boot report has the right sha256"; else fail "no UEFI first-boot report"; fi
printf '#!ipxe\nsanboot --no-describe --drive 0x80\n' > "$W/state/boot-after-installed.ipxe"
fi

# --- phase 4: corrupted image: signature check fails, disk wiped ------------------------------
if want corrupt; then
log "phase 4: corrupted image (one byte flipped)"
IMG=$W/www/$STANDIN_BASE_PATH/$STANDIN_CURRENT/flatcar_production_image.bin.bz2
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$IMG"
cp "$W/state/boot-install.ipxe" "$W/state/boot.ipxe"
qemu-img create -q -f qcow2 "$W/target3.qcow2" 2G
start_qemu "$W/target3.qcow2" "$W/serial3.log"
step "$W/serial3.log" "Ignition started (installer config)" 'IGNITION START' 180 &&
  step "$W/serial3.log" "gpgv: BAD signature" 'BAD signature' 300 &&
  step "$W/serial3.log" "disk wiped" 'wiping the partition table' 60
wait_exit 120 || fail "QEMU did not power off after the failed install"
reason=$(first_event install-failed | jq -r .reason)
if [[ $reason == *"signature verification failed"* ]]; then log "  install-failed reported: $(grep -a 'GPG signature' <<< "$reason")"
else fail "no install-failed with the reason: '$reason'"; fi
qemu-img convert -O raw "$W/target3.qcow2" "$W/disk3.raw"
if [[ $(head -c 4194304 "$W/disk3.raw" | tr -d '\0' | wc -c) == 0 ]]; then log "  disk: first 4 MiB are zero (no partition table, no boot code)"
else fail "the failed disk still has data in its first 4 MiB"; fi
rm -f "$W/disk3.raw"
fi

# --- phase 5: ignition.config.url, BOOTIF, standin.after ---------------------------------------
if want url; then
log "phase 5: ignition.config.url= + BOOTIF= + standin.after=poweroff"
jq -n --arg cmd "/usr/bin/curl -fsS -X POST -d '{\"event\":\"url-config\"}' $URL/api/v1/machines/$MAC/events" \
  '{ignition: {version: "3.3.0"}, systemd: {units: [{name: "u.service", enabled: true,
    contents: ("[Service]\nExecStart=" + $cmd + "\n")}]}}' > "$W/www/test/url.ign"
cat > "$W/state/boot.ipxe" <<EOF
#!ipxe
kernel $B/flatcar_production_pxe.vmlinuz initrd=flatcar_production_pxe_image.cpio.gz console=ttyS0,115200n8 ignition.config.url=$URL/test/url.ign BOOTIF=01-${MAC//:/-} standin.after=poweroff
initrd $B/flatcar_production_pxe_image.cpio.gz
boot
EOF
qemu-img create -q -f qcow2 "$W/target5.qcow2" 1G
start_qemu "$W/target5.qcow2" "$W/serial5.log"
step "$W/serial5.log" "Ignition from ignition.config.url" 'IGNITION DONE status=0' 180 &&
  step "$W/serial5.log" "standin.after=poweroff" 'after: poweroff' 30
wait_exit 60 || fail "QEMU did not power off (standin.after=poweroff)"
if has_event url-config; then log "  url-config event arrived"; else fail "no url-config event"; fi
fi

{ grep -a 'HEAD ' "$W/state/access.log" || true; } | sort | uniq -c | sed 's/^/  server saw: /'
if ((FAILURES == 0)); then log "selftest: all phases passed"; echo "1 passed, 0 failed"; exit 0; fi
log "selftest: $FAILURES failure(s); logs in $W"; KEEP=1; echo "0 passed, 1 failed"; exit 1
