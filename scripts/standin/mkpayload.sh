#!/bin/bash
# mkpayload.sh - the stand-in update payloads of one version, laid out like
# https://update.release.flatcar-linux.net/<board>/<version>/: flatcar_production_update.gz
# and one extension payload, flatcar-standin.gz, each with a sha256sum-format .sha256.
# Not real update_engine payloads: "CrAU" (the payload magic) and a version line, then random
# bytes; nothing in the stand-in applies them (see README.md, differences).
# Usage: mkpayload.sh OUTDIR VERSION
set -euo pipefail
OUT=$1 VERSION=$2
mkdir -p "$OUT"
payload() { # NAME SIZE
  { printf 'CrAU'; printf '\nrailyard stand-in %s %s\n' "$1" "$VERSION"; head -c "$2" /dev/urandom; } > "$OUT/$1"
  (cd "$OUT" && sha256sum "$1" > "$1.sha256")
}
payload flatcar_production_update.gz 1048576
payload flatcar-standin.gz 4096
echo "update payloads: $OUT" >&2
