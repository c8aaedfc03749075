# syntax=docker/dockerfile:1
# The one binary: `server`, `worker`, or everything (dev only). cgo is on for
# github.com/mattn/go-sqlite3.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/partneraccess .

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin partneraccess \
 && mkdir -p /data && chown partneraccess /data
COPY --from=build /out/partneraccess /usr/local/bin/partneraccess
USER 10001
ENV DATA_DIR=/data HTTP_ADDR=0.0.0.0:8080 METRICS_ADDR=0.0.0.0:9090
VOLUME /data
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/partneraccess"]
CMD ["server"]
