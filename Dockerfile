# syntax=docker/dockerfile:1
# Build stage: a static binary, no cgo (modernc.org/sqlite is pure Go).
# The version is required, so a release image never reports "dev":
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t exactql .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION
RUN test -n "$VERSION" || { echo 'VERSION is required: docker build --build-arg VERSION="$(git describe --tags --always --dirty)" .' >&2; exit 1; }
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/exactql ./cmd/exactql \
 && test "$(/out/exactql version)" = "exactql ${VERSION}" \
 && mkdir -p /out/data

# Run stage: the binary only, as a non-root user. Orchestrators probe
# /healthz (liveness) and /readyz (readiness); there is no HEALTHCHECK.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION
LABEL org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/exactql /exactql
COPY --from=build --chown=65532:65532 /out/data /data
ENV EXACTQL_ADDR=:8080 \
    EXACTQL_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/exactql"]
CMD ["serve"]
