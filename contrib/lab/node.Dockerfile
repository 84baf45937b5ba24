# A QEMU lab node for the docker-compose lab: runs scripts/lab/node.sh, the node runner the
# E2E suite uses (e2e/lib/node-run.ts), so what runs here is tested by `npm run test:e2e`.
# BASE: a Node 20 image with Node in /usr/local (default: the official one).
ARG BASE=node:20-bookworm-slim
FROM ${BASE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends qemu-system-x86 qemu-utils ipxe-qemu seabios ovmf \
      iproute2 busybox-static \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# The node runner is TypeScript run through tsx, a dev dependency (railyard itself runs compiled):
# every locked package, no install scripts (nothing here needs better-sqlite3 or a build).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY e2e/lib ./e2e/lib
COPY scripts/lab ./scripts/lab
ENTRYPOINT ["/app/scripts/lab/node.sh", "--uplink", "eth0"]
