# The service's image (`make image`): the static binary on an empty base — no shell, no package
# manager, nothing to exec into but the binary — run as a non-root user. The context is the folder
# `make image` fills (bin/image): the binary (CGO_ENABLED=0; SQLite is modernc's pure Go), the
# build host's CA bundle (HTTPS to GitHub, GitLab and the SDK registry) and an empty tmp/.
# Nothing is pulled: FROM scratch builds offline.
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY openwrt-ppa /openwrt-ppa
# Go's os.TempDir; the chart mounts an emptyDir here and keeps the root filesystem read-only.
COPY --chown=65532:65532 tmp /tmp
ENV TMPDIR=/tmp
# 65532: the conventional "nonroot" uid/gid of distroless images, owning nothing in the image.
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["/openwrt-ppa"]
CMD ["serve", "--listen", ":8080", "--data", "/data"]
