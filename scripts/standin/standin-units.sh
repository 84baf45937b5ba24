#!/bin/bash
# standin-units - starts the units Ignition enabled, in place of systemd (the stand-in has none).
# Usage: standin-units [-f 0|1]     (-f: first boot, for ConditionFirstBoot=; default 1)
# Enabled units: `enable NAME` lines of /etc/systemd/system-preset/*.preset (Ignition 2.x writes
# 20-ignition.preset; the first line naming a unit wins, as in systemd) and NAME links in
# /etc/systemd/system/*.wants/. Masked units (linked to /dev/null) never run. They run one at a
# time in that order (presets by file name, then .wants links): no dependency ordering, After=,
# Wants=, Type= and [Install] are not read. Per unit, from /etc/systemd/system/NAME (or
# /usr/lib/systemd/system/NAME) and its NAME.d/*.conf drop-ins in name order:
#   [Unit]    ConditionFirstBoot=, ConditionPathExists= (with !) are honoured; others ignored
#   [Service] ExecStartPre=, ExecStart= (several; an empty one resets), ExecStartPost=,
#             Environment=, WorkingDirectory=
# Each command line is given to `bash -c` after systemd's `$$` -> `$` and `%%` -> `%`; a leading
# `-` ignores its failure (other prefixes @ + ! : are dropped). A failing command stops its unit;
# later units still run. stdin is /dev/null, output goes to the console.
# Exit status: 0 when every unit that ran succeeded.
set -uo pipefail
FIRST_BOOT=1
while getopts "f:" opt; do
  case $opt in
    f) FIRST_BOOT=$OPTARG ;;
    *) echo "usage: $0 [-f 0|1]" >&2; exit 2 ;;
  esac
done
FAILED=0
log() { echo "standin-units: $*"; }

unit_file() {
  local d
  for d in /etc/systemd/system /usr/lib/systemd/system; do [[ -e $d/$1 ]] && { echo "$d/$1"; return 0; }; done
  return 1
}

# enabled_units: unit names in start order, each once.
enabled_units() {
  local f verb name
  declare -A seen=()
  for f in /etc/systemd/system-preset/*.preset; do
    [[ -e $f ]] || continue
    while read -r verb name _; do
      [[ $verb == enable || $verb == disable ]] || continue
      [[ -n $name && -z ${seen[$name]:-} ]] || continue
      seen[$name]=$verb
      [[ $verb == enable ]] && echo "$name"
    done < "$f"
  done
  for f in /etc/systemd/system/*.wants/*; do
    [[ -e $f || -L $f ]] || continue
    name=${f##*/}
    [[ -z ${seen[$name]:-} ]] && { seen[$name]=enable; echo "$name"; }
  done
}

# unit_text NAME: the unit's lines, then its drop-ins', continuation lines joined.
unit_text() {
  local main=$1 d
  cat "$main"; echo
  for d in "/etc/systemd/system/${main##*/}.d"/*.conf; do [[ -e $d ]] && { cat "$d"; echo; }; done
}

run_command() {
  local line=$1 ignore=''
  while [[ $line == [-@+!:]* ]]; do [[ $line == -* ]] && ignore=1; line=${line:1}; done
  line=${line//\$\$/\$}; line=${line//%%/%}
  log "exec: $line"
  bash -c "$line" < /dev/null
  local rc=$?
  [[ $rc == 0 ]] && return 0
  [[ -n $ignore ]] && { log "exit $rc ignored (-)"; return 0; }
  log "exit $rc"; return 1
}

condition_ok() {
  local key=$1 value=$2 neg=''
  [[ $value == '!'* ]] && { neg=1; value=${value:1}; }
  case $key in
    ConditionFirstBoot)
      local want=0
      [[ $value =~ ^(yes|true|on|1)$ ]] && want=1
      [[ $want == "$FIRST_BOOT" ]] ;;
    ConditionPathExists) if [[ -n $neg ]]; then [[ ! -e $value ]]; else [[ -e $value ]]; fi ;;
    *) return 0 ;;
  esac
}

run_unit() {
  local name=$1 file section='' key value wd=/ pre=() main=() post=() envs=() line
  file=$(unit_file "$name") || { log "$name: no unit file"; return 1; }
  [[ $(readlink "$file") == /dev/null ]] && { log "$name is masked"; return 0; }
  while IFS= read -r line; do
    line=${line#"${line%%[![:space:]]*}"}
    case $line in
      '['*']') section=$line; continue ;;
      '' | '#'* | ';'*) continue ;;
    esac
    key=${line%%=*}; key=${key%"${key##*[![:space:]]}"}; value=${line#*=}; value=${value#"${value%%[![:space:]]*}"}
    case "$section/$key" in
      "[Unit]/Condition"*) condition_ok "$key" "$value" || { log "$name: $key=$value not met, skipped"; return 0; } ;;
      "[Service]/ExecStartPre") pre+=("$value") ;;
      "[Service]/ExecStart") if [[ -z $value ]]; then main=(); else main+=("$value"); fi ;;
      "[Service]/ExecStartPost") post+=("$value") ;;
      "[Service]/Environment") envs+=("$value") ;;
      "[Service]/WorkingDirectory") wd=${value#-} ;;
    esac
  done < <(unit_text "$file" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
  log "starting $name"
  (
    for e in "${envs[@]}"; do eval "export $e"; done
    cd "$wd" 2> /dev/null || cd /
    for c in "${pre[@]}" "${main[@]}" "${post[@]}"; do run_command "$c" || exit 1; done
  ) && { log "finished $name"; return 0; }
  log "FAILED $name"; return 1
}

mapfile -t UNITS < <(enabled_units)
log "enabled: ${UNITS[*]:-(none)}"
for u in "${UNITS[@]}"; do run_unit "$u" || FAILED=1; done
exit "$FAILED"
