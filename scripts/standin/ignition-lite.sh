#!/bin/bash
# ignition-lite.sh - the minimal Ignition subset of the stand-in Flatcar release.
# Usage: ignition-lite.sh [-r ROOT] [-n] [-f 0|1] CONFIG.ign
#   -r ROOT  write files under ROOT (default /); units are always run on the real system
#   -n       write files and unit files, but do not run any unit
#   -f 0|1   first boot (default 1): units with ConditionFirstBoot=yes run only when 1
# Supported (spec 3.x; spec 2.x `enable` is accepted too):
#   storage.directories[]  path, mode
#   storage.files[]        path, contents.source (data:,<percent-encoded> | data:[<type>][;base64],<b64>
#                          | http(s)/tftp URL fetched with curl | absent = empty file),
#                          contents.compression "gzip", mode (decimal in JSON, default 420 = 0644),
#                          overwrite (false = keep an existing file)
#   storage.links[]        path, target, hard
#   systemd.units[]        name, contents, dropins[].contents -> ROOT/etc/systemd/system/;
#                          units with enabled:true run in config order: ExecStartPre=, ExecStart=,
#                          ExecStartPost= of their [Service] section (dropins appended), with
#                          Environment=, WorkingDirectory=, ConditionFirstBoot=, ConditionPathExists=
# Each command line is run by `bash -c` after systemd's `$$` -> `$` and `%%` -> `%`; a leading
# `-` ignores its failure (other prefixes @ + ! : are dropped). A failing command stops its
# unit (the next units still run), like systemd. Output goes to our stdout (the console).
# Exit status: 0 when the config was valid and every unit succeeded, 1 otherwise.
set -uo pipefail

ROOT=/ RUN_UNITS=1 FIRST_BOOT=1
while getopts "r:nf:" opt; do
  case $opt in
    r) ROOT=$OPTARG ;;
    n) RUN_UNITS= ;;
    f) FIRST_BOOT=$OPTARG ;;
    *) echo "usage: $0 [-r ROOT] [-n] [-f 0|1] CONFIG" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
CONFIG=${1:?usage: ignition-lite.sh [-r ROOT] [-n] [-f 0|1] CONFIG}
ROOT=${ROOT%/}
FAILED=0

log() { echo "ignition-lite: $*"; }
# Fields travel from jq as base64 words; "-" stands for the empty string.
b64() { [[ $1 == - ]] || printf '%s' "$1" | base64 -d; }

# Percent-decoding that keeps arbitrary bytes: protect backslashes, turn %XX into \xXX, printf %b.
percent_decode() {
  local s=${1//\\/\\\\}
  s=${s//%/\\x}
  printf '%b' "$s"
}

# fetch_source SOURCE: write the decoded contents of an Ignition source to stdout.
fetch_source() {
  local src=$1 meta payload
  case $src in
    "") return 0 ;;
    data:*)
      meta=${src#data:}; meta=${meta%%,*}; payload=${src#*,}
      if [[ $meta == *";base64" ]]; then printf '%s' "$payload" | base64 -d
      else percent_decode "$payload"; fi ;;
    http://* | https://* | tftp://*) curl -fsS --retry 5 --max-time 120 "$src" ;;
    *) log "unsupported source scheme: ${src%%:*}"; return 1 ;;
  esac
}

write_file() {
  local path=$1 src=$2 comp=$3 mode=$4 overwrite=$5 dest tmp
  dest=$ROOT$path
  if [[ -e $dest && $overwrite == false ]]; then log "keep existing $path"; return 0; fi
  mkdir -p "$(dirname "$dest")" && tmp="$dest.ign-tmp.$$" || return 1
  if [[ $comp == gzip ]]; then fetch_source "$src" | gzip -dc > "$tmp"
  else fetch_source "$src" > "$tmp"; fi || { rm -f "$tmp"; log "cannot write $path"; return 1; }
  chmod "$(printf '%o' "$mode")" "$tmp" && mv -f "$tmp" "$dest" || return 1
  log "wrote $path ($(printf '%o' "$mode"), $(wc -c < "$dest") bytes)"
}

# One jq pass lists everything as lines of space-separated base64 words (see b64):
#   d PATH MODE | f PATH SOURCE COMPRESSION MODE OVERWRITE | l PATH TARGET HARD
#   u NAME ENABLED CONTENTS TEXT DROPINS   (TEXT = contents + dropins; DROPINS = name:contents,...)
# (jq is slow to start under emulation: a few calls instead of one per field.)
PLAN_JQ='def e: if . == null or . == "" then "-" else @base64 end;
  (.storage.directories[]? | ["d", (.path|e), (.mode // 493 | tostring)]),
  (.storage.files[]? | ["f", (.path|e), (.contents.source|e), (.contents.compression // "none" | if . == "" then "none" else . end),
     (.mode // 420 | tostring), (.overwrite // true | tostring)]),
  (.storage.links[]? | ["l", (.path|e), (.target|e), (.hard // false | tostring)]),
  (.systemd.units[]? | ["u", (.name|e), ((.enabled // .enable // false) | tostring), (.contents|e),
     ([.contents // ""] + [.dropins[]?.contents // ""] | join("\n") | e),
     ([.dropins[]? | "\(.name|@base64):\(.contents|e)"] | join(",") | if . == "" then "-" else . end)])
  | join(" ")'

apply_storage() {
  local kind a b c d e
  while read -r kind a b c d e; do
    case $kind in
      d) mkdir -p "$ROOT$(b64 "$a")" && chmod "$(printf '%o' "$b")" "$ROOT$(b64 "$a")" || FAILED=1 ;;
      f) write_file "$(b64 "$a")" "$(b64 "$b")" "$c" "$d" "$e" || FAILED=1 ;;
      l) a=$(b64 "$a"); b=$(b64 "$b"); mkdir -p "$(dirname "$ROOT$a")"
         if [[ $c == true ]]; then ln -f "$ROOT$b" "$ROOT$a"; else ln -sfn "$b" "$ROOT$a"; fi || FAILED=1 ;;
    esac
  done <<< "$PLAN"
}

# write_unit_files: each unit (and its dropins) to ROOT/etc/systemd/system, like Ignition.
write_unit_files() {
  local dir=$ROOT/etc/systemd/system kind name enabled contents text dropins dropin
  while read -r kind name enabled contents text dropins; do
    [[ $kind == u ]] || continue
    name=$(b64 "$name"); mkdir -p "$dir"
    [[ $contents != - ]] && b64 "$contents" > "$dir/$name"
    [[ $dropins == - ]] && continue
    mkdir -p "$dir/$name.d"
    IFS=, read -r -a dropins <<< "$dropins"
    for dropin in "${dropins[@]}"; do b64 "${dropin#*:}" > "$dir/$name.d/$(b64 "${dropin%%:*}")"; done
  done <<< "$PLAN"
}

# unit_lines TEXT_B64: the unit's lines (contents, then dropins), continuation lines joined.
unit_lines() {
  b64 "$1" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta'
}

run_command() {
  local line=$1 ignore=
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
  local key=$1 value=$2 neg=
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
  local text=$1 name=$2 section='' key value wd=/ pre=() main=() post=() envs=()
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
  done < <(unit_lines "$text")
  log "starting $name"
  (
    for e in "${envs[@]}"; do eval "export $e"; done
    cd "$wd" 2>/dev/null || cd /
    for c in "${pre[@]}" "${main[@]}" "${post[@]}"; do run_command "$c" || exit 1; done
  ) && { log "finished $name"; return 0; }
  log "FAILED $name"; return 1
}

version=$(jq -r 'if type == "object" then .ignition.version // "?" else error("not an object") end' "$CONFIG" 2>/dev/null) ||
  { log "invalid JSON config: $CONFIG"; exit 1; }
[[ $version == 3.* || $version == 2.* ]] || log "warning: ignition.version $version is not 2.x/3.x"
PLAN=$(jq -r "$PLAN_JQ" "$CONFIG") || { log "cannot read $CONFIG"; exit 1; }
log "applying $CONFIG (spec $version, root $ROOT)"
apply_storage
write_unit_files
if [[ -n $RUN_UNITS ]]; then
  mapfile -t units < <(grep '^u ' <<< "$PLAN")
  for entry in "${units[@]}"; do
    read -r _ name enabled _ text _ <<< "$entry"
    [[ $enabled == true ]] && { run_unit "$text" "$(b64 "$name")" || FAILED=1; }
  done
fi
log "done (failed=$FAILED)"
exit "$FAILED"
