# otelcol-jeeves container image. No Docker engine runs on the project's machines, so
# scripts/image-smoke.sh mirrors these steps (static build, the image's env, health check) and
# `make test` runs it.
FROM golang:1.26-bookworm AS build
# The build's Go is go1.27.3 (see docs/security.md); the go command fetches it from the module proxy.
ENV GOTOOLCHAIN=go1.27.3
WORKDIR /src
COPY . .
RUN cd cmd/otelcol-jeeves && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/otelcol-jeeves .
# The durable export queue's directory. Distroless has no shell to create it, so it is made here and
# copied owned by the nonroot user; a named volume mounted on it starts with that owner.
RUN install -d -m 0750 /out/var/lib/otelcol-jeeves/queue

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/otelcol-jeeves /otelcol-jeeves
COPY configs/otelcol-jeeves.yaml /etc/otelcol-jeeves/config.yaml
COPY configs/otelcol-jeeves-tls.yaml configs/otelcol-jeeves-auth.yaml /etc/otelcol-jeeves/
COPY --from=build --chown=65532:65532 /out/var/lib/otelcol-jeeves /var/lib/otelcol-jeeves
# In a container the listeners that other hosts use must bind every interface.
ENV JEEVES_OTLP_GRPC_ENDPOINT=0.0.0.0:4317 \
    JEEVES_OTLP_HTTP_ENDPOINT=0.0.0.0:4318 \
    JEEVES_PROMETHEUS_ENDPOINT=0.0.0.0:8889 \
    JEEVES_HEALTH_ENDPOINT=0.0.0.0:13133 \
    JAEGER_OTLP_ENDPOINT=jaeger:4317 \
    JEEVES_STORAGE_DIR=/var/lib/otelcol-jeeves/queue
# Kept spans waiting for Jaeger; mount a volume here so they survive the container.
VOLUME ["/var/lib/otelcol-jeeves/queue"]
EXPOSE 4317 4318 8889 13133
USER 65532:65532
ENTRYPOINT ["/otelcol-jeeves"]
CMD ["--config=/etc/otelcol-jeeves/config.yaml"]
