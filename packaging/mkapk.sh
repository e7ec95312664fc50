#!/usr/bin/env bash
# Makes one OpenWrt 25.12 package (apk v3, "ADB" format) of hubagent with
# apk-tools' own `apk mkpkg`, laid out the way OpenWrt's package-pack.mk lays
# out its packages, so OpenWrt's /lib/functions.sh, sysupgrade and `apk`
# treat it like one of their own:
#   - files: /usr/bin/hubagent, the procd init script, the UCI config (0600),
#     /lib/upgrade/keep.d/hubagent, and /lib/apk/packages/hubagent.{list,
#     conffiles,conffiles_static} (what default_postinst/default_prerm and
#     sysupgrade read);
#   - scripts: post-install, post-upgrade and pre-deinstall built like
#     OpenWrt's (source /lib/functions.sh, default_postinst/default_prerm,
#     then the package's own part), the package part and the conffiles taken
#     from the feed Makefile packaging/openwrt/Makefile so the two cannot drift.
# Signed with APK_SIGN_KEY (an OpenWrt-style ECDSA P-256 private key in PEM)
# when it is set, unsigned otherwise.
#
#   packaging/mkapk.sh BINARY OPENWRT_ARCH OUTPUT.apk
#
# Environment: APK (apk command, required), APK_VERSION, APK_RELEASE, DATE
# (file times; see packaging/version.sh), APK_SIGN_KEY (optional).
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 BINARY OPENWRT_ARCH OUTPUT.apk" >&2; exit 2; }
BINARY=$1
ARCH=$2
OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
OW="$HERE/openwrt"
: "${APK:?APK must name the apk command (see packaging/apk-tools.sh)}"
[ -n "${APK_VERSION:-}" ] || { echo "mkapk: no apk version (APK_VERSION is empty; see packaging/version.sh)" >&2; exit 1; }
APK_RELEASE=${APK_RELEASE:-1}
VERSION_R="$APK_VERSION-r$APK_RELEASE"
"$APK" version --check "$VERSION_R" >/dev/null || { echo "mkapk: '$VERSION_R' is not a valid apk version" >&2; exit 1; }

NAME=hubagent
# OpenWrt's dependency names: libc (every OpenWrt package carries it) and
# ca-bundle (/etc/ssl/certs/ca-certificates.crt, for notifications to partner
# clouds over HTTPS). The feed Makefile's DEPENDS must say the same.
DEPENDS="libc ca-bundle"
LICENSE=Apache-2.0
URL=https://github.com/hubagent/hubagent
MAINTAINER="hubagent maintainers <hubagent@users.noreply.github.com>"
DESCRIPTION="Home gateway agent: local appliances to partner clouds"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"

# make_define NAME: the body of `define NAME` ... `endef` in the feed
# Makefile, with make's `$$` turned into the shell's `$`.
make_define() {
	awk -v n="define $1" '$0 == n { f = 1; next } f && $0 == "endef" { f = 0; exit } f { print }' "$OW/Makefile" |
		sed 's/\$\$/$/g'
}

# --- files (modes as OpenWrt's INSTALL_BIN / INSTALL_CONF / INSTALL_DATA) ---
install -d -m 0755 "$ROOT/usr/bin" "$ROOT/etc/init.d" "$ROOT/etc/config" \
	"$ROOT/lib/upgrade/keep.d" "$ROOT/lib/apk/packages"
install -m 0755 "$BINARY" "$ROOT/usr/bin/hubagent"
install -m 0755 "$OW/hubagent.init" "$ROOT/etc/init.d/hubagent"
install -m 0600 "$OW/hubagent.uci" "$ROOT/etc/config/hubagent"
install -m 0644 "$OW/hubagent.keep" "$ROOT/lib/upgrade/keep.d/hubagent"

# The package's file list (what default_postinst scans for init scripts),
# then its conffiles with their packaged SHA-256 (what sysupgrade compares).
(cd "$ROOT" && find . \( -type f -o -type l \) -printf '/%P\n' | LC_ALL=C sort) >"$WORK/list"
install -m 0644 "$WORK/list" "$ROOT/lib/apk/packages/$NAME.list"
make_define Package/hubagent/conffiles | sed '/^[[:space:]]*$/d' >"$WORK/conffiles"
[ -s "$WORK/conffiles" ] || { echo "mkapk: no conffiles in $OW/Makefile" >&2; exit 1; }
: >"$WORK/conffiles_static"
while read -r f; do
	[ -f "$ROOT$f" ] || { echo "mkapk: conffile $f is not in the package" >&2; exit 1; }
	echo "$f $(sha256sum <"$ROOT$f" | cut -d' ' -f1)" >>"$WORK/conffiles_static"
done <"$WORK/conffiles"
install -m 0644 "$WORK/conffiles" "$ROOT/lib/apk/packages/$NAME.conffiles"
install -m 0644 "$WORK/conffiles_static" "$ROOT/lib/apk/packages/$NAME.conffiles_static"

# Same time stamp on every entry: a rebuild of one commit gives the same files.
find "$ROOT" -exec touch -h -d "${DATE:-@0}" {} +

# --- scripts ---
make_define Package/hubagent/postinst | sed '/^[[:space:]]*#!/d' >"$WORK/postinst-pkg"
{
	echo '#!/bin/sh'
	echo '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0'
	echo '[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0'
	echo '. "${IPKG_INSTROOT}/lib/functions.sh"'
	echo 'export root="${IPKG_INSTROOT}"'
	echo "export pkgname=\"$NAME\""
	echo 'add_group_and_user'
	echo 'default_postinst'
	cat "$WORK/postinst-pkg"
} >"$WORK/post-install"
{
	echo '#!/bin/sh'
	echo 'export PKG_UPGRADE=1'
	sed '1d' "$WORK/post-install"
} >"$WORK/post-upgrade"
{
	echo '#!/bin/sh'
	echo '[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0'
	echo '. "${IPKG_INSTROOT}/lib/functions.sh"'
	echo 'export root="${IPKG_INSTROOT}"'
	echo "export pkgname=\"$NAME\""
	echo 'default_prerm'
} >"$WORK/pre-deinstall"
for s in post-install post-upgrade pre-deinstall; do
	sh -n "$WORK/$s" || { echo "mkapk: $s: syntax error" >&2; exit 1; }
done

# apk records owner names; outside root, map ourselves to root in a user
# namespace so the files are root:root like OpenWrt's fakeroot builds.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else unshare --map-root-user "$@"; fi
}

mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"
as_root "$APK" mkpkg \
	--info "name:$NAME" \
	--info "version:$VERSION_R" \
	--info "description:$DESCRIPTION" \
	--info "arch:$ARCH" \
	--info "license:$LICENSE" \
	--info "origin:$NAME" \
	--info "url:$URL" \
	--info "maintainer:$MAINTAINER" \
	--info "depends:$DEPENDS" \
	--script "post-install:$WORK/post-install" \
	--script "post-upgrade:$WORK/post-upgrade" \
	--script "pre-deinstall:$WORK/pre-deinstall" \
	--files "$ROOT" \
	--output "$OUT"

if [ -n "${APK_SIGN_KEY:-}" ]; then
	[ -r "$APK_SIGN_KEY" ] || { echo "mkapk: APK_SIGN_KEY $APK_SIGN_KEY is not readable" >&2; exit 1; }
	# --allow-untrusted: adbsign must read the unsigned package; without it
	# apk 3.0.6 writes a truncated file and still exits 0, hence the verify.
	"$APK" adbsign --allow-untrusted --sign-key "$APK_SIGN_KEY" "$OUT"
	mkdir -m 0700 "$WORK/keys"
	openssl pkey -in "$APK_SIGN_KEY" -pubout -out "$WORK/keys/hubagent.pem" 2>/dev/null ||
		{ echo "mkapk: cannot read the public key from $APK_SIGN_KEY" >&2; exit 1; }
	"$APK" verify --keys-dir "$WORK/keys" "$OUT" >/dev/null ||
		{ rm -f "$OUT"; echo "mkapk: $OUT does not verify after signing with $APK_SIGN_KEY" >&2; exit 1; }
fi
