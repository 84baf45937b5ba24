#!/bin/bash
# base-image.sh - build (once, cached) the local base images for the compose lab test: no
# container registry is reachable here, so `debian:bookworm-slim` and `node:20-bookworm-slim`
# are stood in for by a `debootstrap --variant=minbase bookworm` root file system from
# Debian's mirror, and the same plus the host's Node 20 runtime laid out like the official
# node image (/usr/local/bin/node, /usr/local/lib/node_modules/npm, /usr/local/include/node).
# Usage: base-image.sh
#   Builds into ${RAILYARD_FIXTURE_CACHE:-/var/cache/railyard-fixtures}/lab-compose/base/<hash>/
#   unless that entry exists. Prints shell assignments on stdout:
#     COMPOSE_BASE_KEY     the entry's hash (label the imported images with it)
#     COMPOSE_BASE_DEBIAN  debian.tar: the root file system, for `docker import`
#     COMPOSE_BASE_NODE    node.tar: the same plus Node, npm and Node's headers
#     COMPOSE_BASE_ENV     space-separated KEY=VALUE pairs to set on the node image (ENV)
# If the host sets NODE_EXTRA_CA_CERTS (a TLS-intercepting egress proxy), that CA file goes
# into both images and NODE_EXTRA_CA_CERTS points at it, so `npm ci` in image builds trusts
# the same CAs as the host. Environment: COMPOSE_BASE_MIRROR (default http://deb.debian.org/debian).
# Logs go to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${RAILYARD_FIXTURE_CACHE:-/var/cache/railyard-fixtures}/lab-compose/base
MIRROR=${COMPOSE_BASE_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
NODE_BIN=$(readlink -f "$(command -v node)")
NODE_PREFIX=$(cd "$(dirname "$NODE_BIN")/.." && pwd)
CA=${NODE_EXTRA_CA_CERTS:-}
CA_IN_IMAGE=/usr/local/share/ca-certificates/host-extra-ca.crt

log() { echo "base-image: $*" >&2; }
die() { log "$*"; exit 1; }

check() {
  [[ $(id -u) == 0 ]] || die "needs root (debootstrap)"
  command -v debootstrap > /dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  [[ $("$NODE_BIN" -p 'process.versions.node.split(".")[0]') == 20 ]] || die "$NODE_BIN is not Node 20"
  [[ -f $NODE_PREFIX/lib/node_modules/npm/package.json ]] || die "no npm under $NODE_PREFIX/lib/node_modules"
  [[ -f $NODE_PREFIX/include/node/node.h ]] || die "no Node headers under $NODE_PREFIX/include/node"
  [[ -z $CA || -f $CA ]] || die "NODE_EXTRA_CA_CERTS=$CA is not a file"
}

inputs_hash() {
  {
    sha256sum "$HERE/base-image.sh" "$NODE_BIN" "$NODE_PREFIX/lib/node_modules/npm/package.json"
    [[ -z $CA ]] || sha256sum "$CA"
    echo "$SUITE $MIRROR"
  } | sha256sum | cut -c1-16
}

# What the official slim images do: no docs, man pages or locales; apt cleans up after itself.
slim_config() {
  local root=$1
  cat > "$root/etc/dpkg/dpkg.cfg.d/docker-slim" << 'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat > "$root/etc/apt/apt.conf.d/docker-clean" << 'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
  rm -f "$root/etc/apt/sources.list"
  cat > "$root/etc/apt/sources.list.d/debian.sources" << EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/*/changelog* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
  : > "$root/etc/machine-id"
  rm -f "$root/etc/hostname" "$root/etc/resolv.conf"
  if [[ -n $CA ]]; then
    mkdir -p "$(dirname "$root$CA_IN_IMAGE")"
    cp "$CA" "$root$CA_IN_IMAGE"
  fi
}

# node:20-bookworm-slim's layout, from the host's Node.
add_node() {
  local root=$1
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/include"
  cp "$NODE_BIN" "$root/usr/local/bin/node"
  cp -a "$NODE_PREFIX/lib/node_modules/npm" "$root/usr/local/lib/node_modules/"
  cp -a "$NODE_PREFIX/include/node" "$root/usr/local/include/"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
}

build() {
  local entry=$1 work
  work=$(mktemp -d "$CACHE/.work.XXXXXX") && chmod 755 "$work"
  trap 'rm -rf "$work"' EXIT
  log "debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes)"
  debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$MIRROR" > "$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  slim_config "$work/rootfs"
  tar --numeric-owner --xattrs -C "$work/rootfs" -cf "$work/debian.tar" .
  add_node "$work/rootfs"
  tar --numeric-owner --xattrs -C "$work/rootfs" -cf "$work/node.tar" .
  rm -rf "$work/rootfs"
  echo "$2" > "$work/inputs-hash"
  mv "$work" "$entry"
  trap - EXIT
}

# Entries other than the current one go once unused for 7 days; stale build dirs always.
prune() {
  local keep=$1 e
  for e in "$CACHE"/* "$CACHE"/.work.*; do
    [[ -d $e && $e != "$keep" ]] || continue
    if [[ $e == */.work.* ]] || [[ -z $(find "$e/last-used" -mtime -7 2>/dev/null) ]]; then
      log "pruning $e"; rm -rf "$e"
    fi
  done
}

main() {
  local hash entry start=$SECONDS env
  check
  mkdir -p "$CACHE"
  hash=$(inputs_hash)
  entry=$CACHE/$hash
  exec 9> "$CACHE/.lock"
  flock 9
  if [[ -f $entry/inputs-hash ]]; then
    log "cache hit: $entry"
  else
    build "$entry" "$hash"
    log "built $entry in $((SECONDS - start)) s"
  fi
  touch "$entry/last-used"
  prune "$entry"
  flock -u 9
  env=""
  [[ -z $CA ]] || env="NODE_EXTRA_CA_CERTS=$CA_IN_IMAGE"
  printf 'COMPOSE_BASE_KEY=%q\nCOMPOSE_BASE_DEBIAN=%q\nCOMPOSE_BASE_NODE=%q\nCOMPOSE_BASE_ENV=%q\n' \
    "$hash" "$entry/debian.tar" "$entry/node.tar" "$env"
}

main "$@"
