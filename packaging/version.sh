#!/bin/sh
# Prints the version stamp of a build as shell assignments, for eval:
#   VERSION      what `hubagent version` prints (git describe, else 0.0.0-dev)
#   COMMIT       short commit id, else "unknown"
#   DATE         build date, UTC, RFC 3339 (SOURCE_DATE_EPOCH honoured)
#   PKG_VERSION  VERSION made valid and correctly ordered for dpkg and opkg
# Any of them already set in the environment is kept (e.g. `make packages VERSION=1.2.3`).
set -eu
cd "$(dirname "$0")/.."

if [ -z "${VERSION:-}" ]; then
	VERSION=$(git describe --tags --always --dirty 2>/dev/null || true)
	[ -n "$VERSION" ] || VERSION=0.0.0-dev
fi
if [ -z "${COMMIT:-}" ]; then
	COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || true)
	[ -n "$COMMIT" ] || COMMIT=unknown
fi
if [ -z "${DATE:-}" ]; then
	if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
		DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
	else
		DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	fi
fi
if [ -z "${PKG_VERSION:-}" ]; then
	# v1.2.3            -> 1.2.3
	# v1.2.3-rc1        -> 1.2.3~rc1            (pre-release sorts before 1.2.3)
	# v1.2.3-4-gabc1234 -> 1.2.3+4.gabc1234     (commits after a tag sort after it)
	# ...-dirty         -> ....dirty
	# abc1234 (no tag)  -> 0.0.0~git.abc1234
	# 0.0.0-dev         -> 0.0.0~dev
	v=${VERSION#v}
	case "$v" in
	[0-9]*) ;;
	*) v="0.0.0~git.$v" ;;
	esac
	v=$(printf '%s' "$v" | sed -E 's/^([0-9][0-9.]*)-([0-9]+-g)/\1+\2/; s/^([0-9][0-9.]*)-/\1~/; s/-/./g; s/[^A-Za-z0-9.+~]/./g')
	PKG_VERSION=$v
fi

printf 'VERSION=%s\nCOMMIT=%s\nDATE=%s\nPKG_VERSION=%s\n' "$VERSION" "$COMMIT" "$DATE" "$PKG_VERSION"
