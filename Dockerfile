# syntax=docker/dockerfile:1
# One image holds every program of the suite (gateway, the five services, the event relay,
# aiops, aiops-admin);
# docker-compose.yml and deploy/k8s pick the program with the container command.
#
#   docker build -t aiops:latest .
#   docker run --rm aiops:latest aiops-admin --help

# ---- build stage: Debian 12 with the -dev packages the Makefile links against --------------
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libevent-dev \
        libnng-dev libpq-dev libhiredis-dev libopenblas-dev libhpdf-dev libwslay-dev \
        libjansson-dev libssl-dev libcurl4-openssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Release build of every program into bin/ (`all` named explicitly: see Makefile); fail the
# image if a program is missing.
RUN make -j"$(nproc)" all \
 && for p in aiops-gateway aiops-ingest aiops-train aiops-explain aiops-report aiops-monitor \
             aiops-relay aiops aiops-admin; do test -x "bin/$p" || { echo "missing bin/$p" >&2; exit 1; }; done

# ---- runtime stage: shared libraries only, non-root ----------------------------------------
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# curl is only for the gateway's container health check; tini reaps children and forwards
# SIGTERM so the programs shut down cleanly.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libevent-2.1-7 libevent-pthreads-2.1-7 libnng1 libprotobuf-c1 libpq5 libhiredis0.14 \
        libopenblas0 libhpdf-2.3.0 libwslay1 libjansson4 libssl3 libcurl4 fonts-nanum \
        ca-certificates curl tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 aiops \
 && useradd --system --uid 10001 --gid aiops --home-dir /var/lib/aiops --create-home \
        --shell /usr/sbin/nologin aiops
COPY --from=build /src/bin/ /usr/local/bin/
# the web console's files: the gateway serves them from here (gateway/console.c)
COPY --from=build /src/web/ /usr/local/share/aiops/web/

# Containers must listen on every interface (the default bind is loopback). DISABLE_AUTH is
# deliberately never set here: the gateway refuses it on a non-loopback bind anyway.
# Each service runs SERVICE_WORKERS threads; one OpenBLAS thread per worker avoids
# oversubscribing the CPU limit (override per deployment if a service runs one big job).
ENV AIOPS_BIND=0.0.0.0 \
    AIOPS_PORT=8000 \
    LOG_LEVEL=info \
    OPENBLAS_NUM_THREADS=1

# Numeric user so Kubernetes can verify runAsNonRoot.
USER 10001:10001
WORKDIR /var/lib/aiops
# What the programs listen on in docker-compose.yml and deploy/k8s (EXPOSE documents it and
# publishes nothing): 8000 gateway HTTP + WebSocket; 7100 a service's RPC (nng REP);
# 7300 and 7301 the event relay's inlet (services publish) and outlet (gateways subscribe).
# The defaults are ipc:// sockets: a container must set RPC_LISTEN, EVENTS_IN_URL and
# EVENTS_OUT_URL to tcp:// addresses (see those files).
EXPOSE 8000 7100 7300 7301
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["aiops-gateway"]
