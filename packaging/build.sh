#!/usr/bin/env bash
# Builds hubagent and its installer packages. Run from anywhere; used by the
# root Makefile.
#
#   packaging/build.sh build      host binary -> dist/hubagent
#   packaging/build.sh binaries   static binaries for ARCHES -> dist/hubagent_linux_<arch>
#   packaging/build.sh packages   binaries + .deb, .ipk and .apk for ARCHES -> dist/
#
# Environment (all optional):
#   ARCHES       goarch list: amd64 arm64 armv7 (default: all three)
#   FORMATS      deb ipk apk (default: all three; apk = OpenWrt 25.12's apk v3)
#   DIST         output directory (default: dist)
#   VERSION, COMMIT, DATE, PKG_VERSION, APK_VERSION, APK_RELEASE   see packaging/version.sh
#   APK          apk 3 command for the .apk (default: built by packaging/apk-tools.sh)
#   APK_SIGN_KEY ECDSA P-256 private key (PEM) to sign the .apk with (default: unsigned)
#   MAIN_PKG     Go package of the CLI (default ./cmd/hubagent)
#   SRC_DIR      directory `go build` runs in (default: the repository root)
#   PG_ARCHES    arches whose binary carries the relay's PostgreSQL driver (fleet
#                registries; about 4 MB). Default: amd64. The others are built
#                with -tags nopostgres: gateways never run a fleet relay.
#   GATEWAY_ARCHES arches built with -tags gateway: without the relay's server
#                side (relay serve/token/keys/hubs/remove/audit) and the
#                conformance kit, which relay operators and partner engineers
#                run, not routers: 0.7 MB less on arm64 (docs/performance.md).
#                Default: arm64 armv7 (OpenWrt and SBC gateways); amd64 stays
#                the full build for relay hosts and development.
#   GO           go command (default: go)
#   TAGS         Go build tags (default: nethttpomithttp2 -- no HTTP/2, which the
#                profile does not use [§7.1]: 0.5 MB less; see docs/performance.md)
#   NFPM         nfpm command (default: go tool nfpm)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

MODE=${1:-packages}
ARCHES=${ARCHES:-amd64 arm64 armv7}
FORMATS=${FORMATS:-deb ipk apk}
DIST=${DIST:-dist}
MAIN_PKG=${MAIN_PKG:-./cmd/hubagent}
SRC_DIR=${SRC_DIR:-$REPO}
GO=${GO:-go}
PG_ARCHES=${PG_ARCHES:-amd64}
GATEWAY_ARCHES=${GATEWAY_ARCHES-arm64 armv7}
TAGS=${TAGS-nethttpomithttp2}
mkdir -p "$DIST"
DIST=$(cd "$DIST" && pwd)

eval "$(packaging/version.sh)"
export VERSION COMMIT DATE PKG_VERSION APK_VERSION APK_RELEASE
LDFLAGS="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"

# goarch name -> GOARCH GOARM, Debian arch, OpenWrt package arches.
goarch_of() { case "$1" in amd64) echo amd64 ;; arm64) echo arm64 ;; armv7) echo arm ;; *) return 1 ;; esac; }
goarm_of() { case "$1" in armv7) echo 7 ;; *) echo "" ;; esac; }
deb_arch_of() { case "$1" in amd64) echo amd64 ;; arm64) echo arm64 ;; armv7) echo armhf ;; esac; }
ipk_arches_of() {
	case "$1" in
	amd64) echo x86_64 ;;
	arm64) echo aarch64_cortex-a53 aarch64_generic ;;
	armv7) echo arm_cortex-a7_neon-vfpv4 ;;
	esac
}

build_one() { # out GOARCH GOARM arch
	local out=$1 goarch=$2 goarm=$3 arch=$4 tags=$TAGS
	case " $PG_ARCHES " in *" $arch "*) ;; *) tags="${tags:+$tags,}nopostgres" ;; esac
	case " $GATEWAY_ARCHES " in *" $arch "*) tags="${tags:+$tags,}gateway" ;; esac
	echo ">> go build $MAIN_PKG  GOOS=linux GOARCH=$goarch${goarm:+ GOARM=$goarm}${tags:+ -tags $tags}  version=$VERSION"
	(cd "$SRC_DIR" && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
		"$GO" build -trimpath -buildvcs=false -tags "$tags" -ldflags "$LDFLAGS" -o "$out" "$MAIN_PKG")
}

size_table() {
	echo
	printf '%-8s %12s %8s %8s  %s\n' arch bytes MB MiB binary
	local a f
	for a in $ARCHES; do
		f="$DIST/hubagent_linux_$a"
		awk -v a="$a" -v b="$(stat -c %s "$f")" -v f="${f#"$REPO"/}" \
			'BEGIN { printf "%-8s %12d %8.2f %8.2f  %s\n", a, b, b / 1e6, b / 1048576, f }'
	done
	echo
}

# nfpm: the tool dependency of go.mod, or the command in $NFPM.
nfpm() {
	if [ -n "${NFPM:-}" ]; then
		$NFPM "$@"
	else
		# Never let the caller's GOFLAGS (e.g. -mod=mod) make the tool build rewrite go.mod/go.sum.
		GOFLAGS=-mod=readonly "$GO" tool nfpm "$@"
	fi
}

case "$MODE" in
build)
	(cd "$SRC_DIR" && CGO_ENABLED=0 "$GO" build -trimpath -buildvcs=false -tags "$TAGS" -ldflags "$LDFLAGS" -o "$DIST/hubagent" "$MAIN_PKG")
	echo "built $DIST/hubagent ($VERSION)"
	exit 0
	;;
binaries | packages) ;;
*)
	echo "usage: $0 build|binaries|packages" >&2
	exit 2
	;;
esac

# apk-tools first: a missing tarball or build tool fails before the Go builds.
if [ "$MODE" = packages ]; then
	case " $FORMATS " in
	*" apk "*)
		[ -n "$APK_VERSION" ] || { echo "no apk version for '$VERSION'; set APK_VERSION (see packaging/version.sh)" >&2; exit 1; }
		APK=$(packaging/apk-tools.sh)
		export APK
		;;
	esac
fi

for a in $ARCHES; do
	goarch_of "$a" >/dev/null || { echo "unknown arch '$a' (want amd64, arm64, armv7)" >&2; exit 2; }
	build_one "$DIST/hubagent_linux_$a" "$(goarch_of "$a")" "$(goarm_of "$a")" "$a"
done
size_table

[ "$MODE" = packages ] || exit 0

if [ ! -f packaging/hubagent.toml ]; then
	echo "packaging/hubagent.toml is missing (the example configuration)" >&2
	exit 1
fi

for a in $ARCHES; do
	export PKG_BINARY="$DIST/hubagent_linux_$a"
	for fmt in $FORMATS; do
		case "$fmt" in
		deb)
			export PKG_ARCH; PKG_ARCH=$(deb_arch_of "$a")
			out="$DIST/hubagent_${PKG_VERSION}_${PKG_ARCH}.deb"
			nfpm package --config packaging/nfpm-deb.yaml --packager deb --target "$out" >/dev/null
			echo "package  ${out#"$REPO"/}"
			;;
		ipk)
			for PKG_ARCH in $(ipk_arches_of "$a"); do
				export PKG_ARCH
				out="$DIST/hubagent_${PKG_VERSION}_${PKG_ARCH}.ipk"
				nfpm package --config packaging/nfpm-ipk.yaml --packager ipk --target "$out" >/dev/null
				echo "package  ${out#"$REPO"/}"
			done
			;;
		apk)
			# Same OpenWrt architectures as the .ipk.
			for PKG_ARCH in $(ipk_arches_of "$a"); do
				out="$DIST/hubagent_${APK_VERSION}-r${APK_RELEASE}_${PKG_ARCH}.apk"
				packaging/mkapk.sh "$PKG_BINARY" "$PKG_ARCH" "$out"
				echo "package  ${out#"$REPO"/}${APK_SIGN_KEY:+ (signed)}"
			done
			;;
		*)
			echo "unknown format '$fmt' (want deb, ipk, apk)" >&2
			exit 2
			;;
		esac
	done
done
