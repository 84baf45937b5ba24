# PostgreSQL 15 (Debian's postgresql-15) for the compose lab's PostgreSQL variant
# (contrib/lab/postgres.yml). The entrypoint creates the cluster on first start, with the
# `railyard` role's password from POSTGRES_PASSWORD (SCRAM), and runs it in the foreground.
# BASE: any Debian bookworm image (default: the official slim one).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
USER postgres
ENV PGDATA=/var/lib/postgresql/data
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
