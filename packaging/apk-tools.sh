#!/usr/bin/env bash
# Prints the path of an apk-tools 3 binary (`apk`, the package manager of
# OpenWrt 25.12), building it from the source tarball on first use. No
# Debian release packages apk 3, so the source is kept beside the repository.
#
#   APK=$(packaging/apk-tools.sh)
#
# The build is cached by the tarball's SHA-256 in APK_TOOLS_CACHE, so a
# changed tarball is rebuilt and an unchanged one costs nothing; it never
# writes into the repository or next to the tarball (which may be read-only).
#
# Environment (all optional):
#   APK               use this apk command instead (nothing is built)
#   APK_TOOLS_TARBALL source tarball (default ../shared/tools/apk-tools-3.0.6.tar.gz
#                     relative to the repository root)
#   APK_TOOLS_CACHE   cache directory (default ${XDG_CACHE_HOME:-~/.cache}/hubagent-apk-tools)
# Build needs: cc, meson, ninja, pkg-config, OpenSSL, zlib and zstd headers
# (scripts/test-deps.sh installs them).
set -euo pipefail

if [ -n "${APK:-}" ]; then
	command -v "$APK" || { echo "apk-tools: APK=$APK is not a command" >&2; exit 1; }
	exit 0
fi

REPO=$(cd "$(dirname "$0")/.." && pwd)
TARBALL=${APK_TOOLS_TARBALL:-$REPO/../shared/tools/apk-tools-3.0.6.tar.gz}
CACHE=${APK_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hubagent-apk-tools}

[ -f "$TARBALL" ] || {
	echo "apk-tools: source tarball $TARBALL not found (set APK_TOOLS_TARBALL, or APK to an apk 3 binary)" >&2
	exit 1
}
sum=$(sha256sum "$TARBALL" | cut -c1-16)
out="$CACHE/$sum/apk"
if [ -x "$out" ]; then
	echo "$out"
	exit 0
fi

for tool in cc meson ninja pkg-config; do
	command -v "$tool" >/dev/null || {
		echo "apk-tools: '$tool' is missing (run scripts/test-deps.sh)" >&2
		exit 1
	}
done

mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$TARBALL" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1)
echo "apk-tools: building $(basename "$src") into $CACHE/$sum ..." >&2
# Static library build, no Lua/docs/help/tests: only the apk binary is needed.
if ! (cd "$src" && meson setup build -Dlua=disabled -Dhelp=disabled -Ddocs=disabled \
	-Dpython=disabled -Dtests=disabled -Ddefault_library=static && ninja -C build src/apk) \
	>"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	echo "apk-tools: build failed (log above)" >&2
	exit 1
fi
"$src/build/src/apk" --version >/dev/null
# Publish atomically: a parallel build of the same tarball may finish first.
mkdir -p "$work/out"
cp "$src/build/src/apk" "$work/out/apk"
mv -T "$work/out" "$CACHE/$sum" 2>/dev/null || [ -x "$out" ]
echo "$out"
