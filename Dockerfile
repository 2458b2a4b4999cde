# otelcol-jeeves container image. No Docker engine runs on the project's machines, so
# scripts/image-smoke.sh mirrors these steps (static build, the image's env, health check) and
# `make test` runs it. Build from the repository root, naming the commit (the build context has no
# .git, see .dockerignore):
#   docker build --build-arg JEEVES_COMMIT=$(git rev-parse --short=12 HEAD) -t otelcol-jeeves:0.1.0 .
#
# Both base images are pinned by digest (the tag beside it says what it is; the digest decides which
# image it is). How they were chosen and how to bump them: docs/security.md#image.
# golang:1.27.2-bookworm: no registry was reachable when this was pinned and no golang:1.27.3 digest
# could be verified in public sources, so the image's go1.27.2 only starts the build and GOTOOLCHAIN
# below makes the go command fetch go1.27.3 from the module proxy (checked against the checksum
# database).
FROM golang:1.27.2-bookworm@sha256:5cf287a799e6b94384bad13d16b14904c531f51ba65792237e122ce42b392f61 AS build
# The build's Go is go1.27.3 (see docs/security.md); the go command fetches it from the module proxy.
ENV GOTOOLCHAIN=go1.27.3
WORKDIR /src
COPY . .
# The commit `--version` reports (scripts/build-collector.sh; "unknown" when not given).
ARG JEEVES_COMMIT
RUN CGO_ENABLED=0 ./scripts/build-collector.sh /out/otelcol-jeeves -ldflags="-s -w"
# The durable export queue's directory. Distroless has no shell to create it, so it is made here and
# copied owned by the nonroot user; a named volume mounted on it starts with that owner.
RUN install -d -m 0750 /out/var/lib/otelcol-jeeves/queue

# gcr.io/distroless/static-debian12:nonroot.
FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=build /out/otelcol-jeeves /otelcol-jeeves
COPY configs/otelcol-jeeves.yaml /etc/otelcol-jeeves/config.yaml
COPY configs/otelcol-jeeves-tls.yaml configs/otelcol-jeeves-auth.yaml configs/otelcol-jeeves-cloud.yaml /etc/otelcol-jeeves/
COPY --from=build --chown=65532:65532 /out/var/lib/otelcol-jeeves /var/lib/otelcol-jeeves
# In a container the listeners that other hosts use must bind every interface.
ENV JEEVES_OTLP_GRPC_ENDPOINT=0.0.0.0:4317 \
    JEEVES_OTLP_HTTP_ENDPOINT=0.0.0.0:4318 \
    JEEVES_PROMETHEUS_ENDPOINT=0.0.0.0:8889 \
    JEEVES_HEALTH_ENDPOINT=0.0.0.0:13133 \
    JEEVES_HEALTH_STATUS_ENDPOINT=0.0.0.0:13134 \
    JAEGER_OTLP_ENDPOINT=jaeger:4317 \
    JEEVES_STORAGE_DIR=/var/lib/otelcol-jeeves/queue
# The Go heap's soft limit agrees with the memory limiter's default (limit_mib 1024,
# JEEVES_MEMORY_LIMIT_MIB): give the container 1280 MiB (docs/operations.md#memory).
ENV GOMEMLIMIT=1088MiB
# Kept spans waiting for Jaeger; mount a volume here so they survive the container.
VOLUME ["/var/lib/otelcol-jeeves/queue"]
EXPOSE 4317 4318 8889 13133 13134
USER 65532:65532
ENTRYPOINT ["/otelcol-jeeves"]
CMD ["--config=/etc/otelcol-jeeves/config.yaml"]
