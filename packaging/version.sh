#!/bin/sh
# Prints the version stamp of a build as shell assignments, for eval:
#   VERSION      what `hubagent version` prints (git describe, else 0.0.0-dev)
#   COMMIT       short commit id, else "unknown"
#   DATE         build date, UTC, RFC 3339 (SOURCE_DATE_EPOCH honoured)
#   PKG_VERSION  VERSION made valid and correctly ordered for dpkg and opkg
#   APK_VERSION  VERSION made valid and correctly ordered for apk 3 (OpenWrt
#                25.12), without the release
#   APK_RELEASE  OpenWrt's package release (the N of -rN; default 1): bump it
#                when the packaging changes but the program does not
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
	# A bare commit id (no tag yet) may start with a digit: it is never a
	# version number, whatever its first character.
	if printf '%s' "${v%-dirty}" | grep -Eqx '[0-9a-f]{7,40}'; then
		v="0.0.0~git.$v"
	fi
	case "$v" in
	[0-9]*) ;;
	*) v="0.0.0~git.$v" ;;
	esac
	v=$(printf '%s' "$v" | sed -E 's/^([0-9][0-9.]*)-([0-9]+-g)/\1+\2/; s/^([0-9][0-9.]*)-/\1~/; s/-/./g; s/[^A-Za-z0-9.+~]/./g')
	PKG_VERSION=$v
fi

if [ -z "${APK_VERSION:-}" ]; then
	# apk's grammar: number{.number}{letter}{_suffix{number}}{~hash}, see
	# apk-package(5); the release (-rN) is added by the packager.
	# v1.2.3            -> 1.2.3
	# v1.2.3-rc1        -> 1.2.3_rc1            (alpha, beta, pre, rc sort before 1.2.3)
	# v1.2.3-4-gabc1234 -> 1.2.3_p4~abc1234     (p = post-release: after 1.2.3)
	# v1.2.3-dev        -> 1.2.3_pre            (other pre-release words)
	# ...-dirty         -> dropped (apk has no way to say it; `hubagent version` still does)
	# abc1234 (no tag)  -> 0.0.0_git~abc1234
	# 0.0.0-dev         -> 0.0.0_pre
	v=${VERSION#v}
	v=${v%-dirty}
	if printf '%s' "$v" | grep -Eqx '[0-9a-f]{7,40}'; then
		v="0.0.0_git~$v"
	fi
	v=$(printf '%s' "$v" | sed -E 's/-([0-9]+)-g([0-9a-f]+)$/_p\1~\2/;
		s/-(alpha|beta|pre|rc)[.]?([0-9]*)/_\1\2/g; s/-[A-Za-z0-9.]+/_pre/; s/(_pre)+/_pre/g')
	if ! printf '%s' "$v" | grep -Eqx '[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(~[0-9a-f]+)?'; then
		# Empty: packaging/build.sh refuses to make an .apk without a version.
		echo "version.sh: cannot make an apk version of '$VERSION' (got '$v'); set APK_VERSION" >&2
		v=
	fi
	APK_VERSION=$v
fi
APK_RELEASE=${APK_RELEASE:-1}
case "$APK_RELEASE" in
'' | *[!0-9]*)
	echo "version.sh: APK_RELEASE must be a number, not '$APK_RELEASE'" >&2
	exit 1
	;;
esac

printf 'VERSION=%s\nCOMMIT=%s\nDATE=%s\nPKG_VERSION=%s\nAPK_VERSION=%s\nAPK_RELEASE=%s\n' \
	"$VERSION" "$COMMIT" "$DATE" "$PKG_VERSION" "$APK_VERSION" "$APK_RELEASE"
