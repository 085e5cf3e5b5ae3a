# Sonde's image: sonde-agent, sonde-collector and sonde on Debian 12. Multi-stage: the build
# stage has the toolchain, the runtime stage only the shared libraries the binaries link.
#   docker build -t sonde:latest .
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
	make gcc clang llvm bpftool pkg-config binutils \
	libbpf-dev libelf-dev libdw-dev libdebuginfod-dev zlib1g-dev liblzma-dev libzstd-dev \
	libcurl4-openssl-dev libssl-dev libmicrohttpd-dev libgnutls28-dev libyaml-dev libiberty-dev \
	protobuf-c-compiler libprotobuf-c-dev ca-certificates git \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" all VERSION="$(git describe --always --dirty 2>/dev/null || echo image)"

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
	libbpf1 libelf1 libdw1 libdebuginfod1 zlib1g liblzma5 libzstd1 libcurl4 libssl3 \
	libmicrohttpd12 libgnutls30 libyaml-0-2 libprotobuf-c1 ca-certificates \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/sonde-agent /src/build/sonde-collector /src/build/sonde /usr/local/bin/
COPY deploy/config/agent.yaml deploy/config/collector.yaml /etc/sonde/
# the agent needs root's uid with the capabilities of docs/deploy.md; the collector runs as
# any user (the Kubernetes manifests run it as 65534)
ENTRYPOINT ["/usr/local/bin/sonde-agent"]
