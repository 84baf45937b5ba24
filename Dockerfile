# railyard container image. Build: docker build -t railyard .
# Run (host networking: PXE and TFTP want the site LAN, not a NAT):
#   docker run -d --name railyard --network host \
#     -e RAILYARD_PUBLIC_URL=http://10.0.0.5:8080 \
#     -v railyard-data:/var/lib/railyard -v /srv/railyard/etc:/etc/railyard:ro railyard

# BASE: the Node 20 image both stages start from. The default is the official one; a build
# without registry access passes a local equivalent (same layout: Node in /usr/local), e.g.
#   docker build --build-arg BASE=railyard-test/node:20-bookworm -t railyard .
ARG BASE=node:20-bookworm-slim

# Build stage: compiles the TypeScript to dist/ (tsc, a dev dependency), then drops the dev
# dependencies. better-sqlite3 compiles natively when no prebuilt binary fits, so the
# toolchain lives here and never reaches the final image.
FROM ${BASE} AS build
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Build native modules against this image's Node headers (the repo's .npmrc names Debian's /usr).
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: npm's prepare step (the build) would run before the sources are here;
# better-sqlite3's own install step (its native module) runs through npm rebuild.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.js ./scripts/
COPY server ./server
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE}
# ipxe: Debian's undionly.kpxe, ipxe.efi and snponly.efi, copied (-L: ipxe.efi is a symlink
# into /boot) into the TFTP root the baked config names. libcap2-bin: setcap, so the
# non-root user may bind TFTP's port 69 (CAP_NET_BIND_SERVICE on the node binary). zstd and
# lbzip2: the mirror's image derivation worker (dist/server/mirror/derive-worker.js) pipes
# the release's .bz2 through them.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ipxe libcap2-bin zstd lbzip2 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /usr/share/railyard/tftp \
 && cp -L /usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/ipxe.efi /usr/lib/ipxe/snponly.efi /usr/share/railyard/tftp/ \
 && setcap cap_net_bind_service=+ep /usr/local/bin/node \
 && groupadd --system --gid 999 railyard \
 && useradd --system --no-log-init --uid 999 --gid railyard --home-dir /var/lib/railyard \
      --shell /usr/sbin/nologin railyard \
 && mkdir -p /etc/railyard /var/lib/railyard \
 && chown railyard:railyard /var/lib/railyard

WORKDIR /app
# What railyard runs: the compiled build, production dependencies, its own files. No
# TypeScript sources (so bin/railyard.js runs dist/ as it is), no tsx, no compiler.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY assets ./assets
COPY examples ./examples
COPY contrib/docker/railyard.yaml /etc/railyard/railyard.yaml
RUN ln -s /app/bin/railyard.js /usr/local/bin/railyard

ENV NODE_ENV=production
USER railyard
VOLUME ["/etc/railyard", "/var/lib/railyard"]
EXPOSE 8080/tcp 69/udp
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["railyard"]
CMD ["serve", "--config", "/etc/railyard/railyard.yaml"]
