# dnsmasq for the docker-compose lab (site DHCP and railyard's proxyDHCP).
# BASE: any Debian bookworm image (default: the official slim one).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends dnsmasq-base \
 && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["dnsmasq", "--keep-in-foreground", "--log-facility=-", "--user=root"]
