# syntax=docker/dockerfile:1
# The PaveWatch image: one `pavewatch` binary (ingest, wear, gateway, simulate), the road network
# (data/) and the built map page (web/dist), on Debian 12, running as a non-root user.
#
#   docker build -t pavewatch:0.1.0 .
#   docker run --rm pavewatch:0.1.0 gateway --help
#
# The Helm chart (helm/pavewatch) runs this image; its default image.repository is `pavewatch`
# and its tag the chart's appVersion, the CMake project version. Checked statically by the
# ops_dockerfile test (tests/ops/check_dockerfile.py): no Docker engine runs in CI.

ARG DEBIAN_IMAGE=debian:12-slim
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: the same Debian packages as scripts/setup, from the one list scripts/packages.txt ----
FROM ${DEBIAN_IMAGE} AS build
ARG BUILD_TYPE=RelWithDebInfo
ARG DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY scripts/packages.txt scripts/packages.txt
# (man1 exists for the JRE's update-alternatives, which slim images lack.)
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update -qq \
    && grep -vE '^\s*(#|$)' scripts/packages.txt \
       | xargs apt-get install -y -qq --no-install-recommends \
    && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt ./
COPY pipeline/ pipeline/
COPY state/ state/
COPY services/ services/
# As scripts/build: CMake + Ninja with ccache (cached across builds with BuildKit), the service
# binary only; then the debug information goes, the image does not need it.
ENV CCACHE_DIR=/root/.cache/ccache CCACHE_BASEDIR=/src CCACHE_NOHASHDIR=1
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S /src -B /src/build -G Ninja \
        -DCMAKE_BUILD_TYPE="${BUILD_TYPE}" \
        -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
        -DPAVEWATCH_BUILD_TESTS=OFF -DPAVEWATCH_BUILD_BENCH=OFF \
    && ninja -C /src/build pavewatch \
    && strip --strip-debug -o /src/pavewatch /src/build/services/app/pavewatch

# ---- web: the map page (Node.js >= 20.19, which Debian 12 does not ship; this image is Debian 12) ----
FROM ${NODE_IMAGE} AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run --silent build

# ---- runtime: only the shared libraries the binary links (see `ldd pavewatch`) ----
FROM ${DEBIAN_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="pavewatch" \
      org.opencontainers.image.description="PaveWatch real-time road pavement monitoring: ingest, wear, gateway, simulate" \
      org.opencontainers.image.version="${VERSION}"
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends \
        ca-certificates \
        libc6 \
        libgcc-s1 \
        libstdc++6 \
        librdkafka1 \
        libsasl2-2 \
        libssl3 \
        libprometheus-cpp-core1.0 \
        libboost-json1.81.0 \
        libboost-program-options1.81.0 \
        libtcmalloc-minimal4 \
        libsnappy1v5 \
        liblz4-1 \
        libzstd1 \
        libbz2-1.0 \
        zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 pavewatch \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/pavewatch --no-create-home \
        --shell /usr/sbin/nologin pavewatch \
    && mkdir -p /var/lib/pavewatch \
    && chown 10001:10001 /var/lib/pavewatch

COPY --from=build /src/pavewatch /usr/local/bin/pavewatch
WORKDIR /opt/pavewatch
COPY data/ data/
COPY --from=web /src/web/dist/ web/dist/

# The defaults --network data/almaty_roads.geojson and --web-root web/dist resolve here; wear's
# state goes to a volume at /var/lib/pavewatch (the chart mounts a PersistentVolumeClaim there).
ENV PAVEWATCH_STATE_DIR=/var/lib/pavewatch/wear
USER 10001:10001
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/pavewatch"]
CMD ["--help"]
