#!/usr/bin/env bash
# Runs the unit tests of selected packages as arm64 and armv7 binaries under
# qemu-user (go test -exec). A listed package that does not exist or has no
# Go files fails the run: a renamed package must not silently drop out of the
# architecture check.
#
#   packaging/test-qemu.sh
#
# Environment: QEMU_PKGS (default: device, store and the MQTT discovery parsers),
# QEMU_ARCHES (default "arm64 armv7"), GO (default go), GOTESTFLAGS (flags
# for go test; default -short: tests that re-execute the test binary as a
# child process cannot run without binfmt_misc, which a CI container rarely
# has, and they test nothing architecture-specific; they run natively in
# `go test ./...`).
# Needs: qemu-user-static (qemu-aarch64-static, qemu-arm-static).
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
QEMU_PKGS=${QEMU_PKGS:-./internal/device ./internal/store ./internal/localbus/hadiscovery ./internal/localbus/hatemplate}
QEMU_ARCHES=${QEMU_ARCHES:-arm64 armv7}

pkgs=()
for p in $QEMU_PKGS; do
	if [ -z "$(GOOS=linux GOARCH=arm64 "$GO" list -f '{{if or .GoFiles .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' "$p" 2>/dev/null)" ]; then
		echo "FAIL: QEMU_PKGS lists $p, which is not a Go package with files (moved or renamed? update the list)" >&2
		exit 1
	fi
	pkgs+=("$p")
done
[ "${#pkgs[@]}" -gt 0 ] || { echo "FAIL: QEMU_PKGS is empty" >&2; exit 1; }

for arch in $QEMU_ARCHES; do
	case "$arch" in
	arm64) goarch=arm64 goarm= qemu=qemu-aarch64-static ;;
	armv7) goarch=arm goarm=7 qemu=qemu-arm-static ;;
	*) echo "FAIL: unknown arch $arch (want arm64, armv7)" >&2; exit 1 ;;
	esac
	command -v "$qemu" >/dev/null || { echo "FAIL: $qemu not found (install qemu-user-static)" >&2; exit 1; }
	echo "== go test under $qemu (GOARCH=$goarch${goarm:+ GOARM=$goarm}): ${pkgs[*]}"
	# -trimpath: same build cache keys as `make packages`, so the
	# dependencies compiled there are reused.
	# shellcheck disable=SC2086
	CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
		"$GO" test -trimpath -exec "$qemu" ${GOTESTFLAGS--short} "${pkgs[@]}"
done
echo "test-qemu.sh: all passed"
