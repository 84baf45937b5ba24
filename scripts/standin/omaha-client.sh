#!/bin/bash
# standin-update-client - a small Omaha 3.0 client standing in for Flatcar's update_engine
# (which the stand-in cannot run): reads SERVER and GROUP the way update_engine does
# (/etc/flatcar/update.conf, then /usr/share/flatcar/update.conf; omaha_request_params.cc),
# the running version and board from /usr/share/flatcar/release and the machine id from
# /etc/machine-id; posts an update check shaped as omaha_request_action.cc builds it; on an
# offer reports download started (13/1), downloads codebase + the first package, checks its
# size and the postinstall sha256, reports download finished (14/1) and update complete (3/1),
# or an error (3/0 with errorcode 11 size / 10 hash mismatch). It writes no partition.
# Exits 0 whatever happens (like update_engine, it must never fail the boot).
set -uo pipefail
APPID='{e96281a6-d1af-4bde-9a0a-97b76e56dc57}'
say() { echo "standin-update: $*"; }

conf() { # KEY: the first file that sets it wins
  local f v
  for f in /etc/flatcar/update.conf /usr/share/flatcar/update.conf /usr/share/flatcar/release; do
    v=$(grep -m1 "^$1=" "$f" 2>/dev/null | cut -d= -f2-) && [ -n "$v" ] && { echo "$v"; return; }
  done
}
SERVER=$(conf SERVER) GROUP=$(conf GROUP) VERSION=$(conf FLATCAR_RELEASE_VERSION) BOARD=$(conf FLATCAR_RELEASE_BOARD)
MID=$(tr -dc 0-9a-f < /etc/machine-id 2>/dev/null | cut -c1-32)
case $SERVER in
  '' | disabled) say "no update server configured (SERVER=${SERVER:-unset}): not checking"; exit 0 ;;
  http://* | https://*) ;;
  *) say "SERVER=$SERVER is not a URL: not checking"; exit 0 ;;
esac

request() { # APP_BODY
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<request protocol="3.0" version="update_engine-0.4.10" updaterversion="update_engine-0.4.10" installsource="scheduler" ismachine="1">\n    <os version="Chateau" platform="CoreOS" sp="%s_x86_64"></os>\n    <app appid="%s" version="%s" track="%s" bootid="{%s}" oem="" oemversion="" alephversion="%s" machineid="%s" machinealias="" lang="en-US" board="%s" hardware_class="" delta_okay="false" >\n%s    </app>\n</request>\n' \
    "$VERSION" "$APPID" "$VERSION" "$GROUP" "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)" "$VERSION" "$MID" "$BOARD" "$1"
}
post() { # APP_BODY -> response on stdout
  request "$1" | curl -fsS --retry 3 --retry-delay 2 --retry-connrefused --max-time 20 -H 'Content-Type: text/xml' --data-binary @- "$SERVER"
}
event() { # TYPE RESULT [ERRORCODE]
  local code=''
  [ -n "${3:-}" ] && code=" errorcode=\"$3\""
  if post "        <event eventtype=\"$1\" eventresult=\"$2\"$code></event>
" | grep -q '<event status="ok"'; then say "event $1/$2${3:+ ($3)} acknowledged"; else say "event $1/$2 not acknowledged"; fi
}
attr() { # ELEMENT ATTRIBUTE < xml: the first element's attribute
  tr '\n' ' ' | grep -o "<$1 [^>]*" | head -n1 | grep -o " $2=\"[^\"]*\"" | head -n1 | cut -d'"' -f2
}

say "checking $SERVER for $GROUP updates (running $VERSION on $BOARD, machine-id $MID)"
RESPONSE=$(post '        <ping active="1"></ping>
        <updatecheck></updatecheck>
        <event eventtype="3" eventresult="2" previousversion="0.0.0.0"></event>
') || { say "update check failed"; exit 0; }
STATUS=$(attr updatecheck status <<< "$RESPONSE")
if [ "$STATUS" != ok ]; then say "UPDATE CHECK: ${STATUS:-no answer}"; exit 0; fi
NEW=$(attr manifest version <<< "$RESPONSE")
CODEBASE=$(attr url codebase <<< "$RESPONSE")
NAME=$(attr package name <<< "$RESPONSE")
SIZE=$(attr package size <<< "$RESPONSE")
SHA256=$(attr action sha256 <<< "$RESPONSE")
say "UPDATE CHECK: offer $NEW ($NAME, $SIZE bytes)"
event 13 1
FILE=/var/tmp/$NAME
if ! curl -fsS --retry 3 --max-time 300 -o "$FILE" "${CODEBASE%/}/$NAME"; then say "download failed"; event 3 0 9; exit 0; fi
GOT_SIZE=$(stat -c %s "$FILE")
GOT_SHA=$(sha256sum "$FILE" | cut -d' ' -f1)
WANT_SHA=$(printf '%s' "$SHA256" | base64 -d 2>/dev/null | od -An -tx1 | tr -d ' \n')
if [ "$GOT_SIZE" != "$SIZE" ]; then say "UPDATE PAYLOAD BAD: size $GOT_SIZE, expected $SIZE"; event 3 0 11; exit 0; fi
if [ "$GOT_SHA" != "$WANT_SHA" ]; then say "UPDATE PAYLOAD BAD: sha256 $GOT_SHA, expected $WANT_SHA"; event 3 0 10; exit 0; fi
say "UPDATE PAYLOAD OK: $NAME $GOT_SIZE bytes sha256 $GOT_SHA"
event 14 1
event 3 1
say "UPDATE EVENTS REPORTED ($VERSION -> $NEW; the stand-in writes no partition)"
exit 0
