# certdock's image: one static binary with every lego DNS provider, the
# CA certificates, Go's embedded tzdata and a static busybox (DEPLOY_HOOK
# and CERTDOCK_ON_FAILURE run through `sh -c`, as in the original image),
# on an empty base. Build it with the classic builder or BuildKit:
#
#   docker build -t certdock .
#
# The base images are build arguments, so a machine without a registry can
# build from local images (the end-to-end tests do exactly that; what users
# build is unchanged):
#
#   GO_IMAGE       an image with a Go toolchain on PATH, a shell and
#                  /etc/ssl/certs/ca-certificates.crt (golang:1.26-bookworm)
#   BUSYBOX_IMAGE  an image whose /bin/busybox is static (busybox:1.37-musl)
#   GOPROXY        where modules come from (a local mirror, for instance)
ARG GO_IMAGE=golang:1.26-bookworm
ARG BUSYBOX_IMAGE=busybox:1.37-musl

FROM ${BUSYBOX_IMAGE} AS busybox

FROM ${GO_IMAGE} AS build
ARG GOPROXY=https://proxy.golang.org,direct
ARG VERSION=
# No cgo: the binary must run on an empty base. timetzdata embeds the zone
# database, so TZ works without /usr/share/zoneinfo.
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly GOPROXY=${GOPROXY}
WORKDIR /src
COPY . .
RUN go build -trimpath -tags timetzdata -ldflags "-s -w -X main.version=${VERSION}" -o /out/certdock ./cmd/certdock \
 && test -s /etc/ssl/certs/ca-certificates.crt \
 && mkdir -p /out/etc/letsencrypt /out/tmp \
 && chmod 1777 /out/tmp

FROM scratch
COPY --from=busybox /bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ /
# /healthz and /metrics on loopback by default: the HEALTHCHECK reaches
# them inside the container and nothing is exposed. Set
# CERTDOCK_LISTEN=:9180 to let Prometheus scrape /metrics.
ENV CERTDOCK_DIR=/etc/letsencrypt CERTDOCK_LISTEN=127.0.0.1:9180 PATH=/bin:/
VOLUME /etc/letsencrypt
HEALTHCHECK --interval=30s --timeout=10s --start-period=5m --retries=3 CMD ["/certdock", "health"]
ENTRYPOINT ["/certdock"]
CMD ["run"]
