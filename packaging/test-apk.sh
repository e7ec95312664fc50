#!/usr/bin/env bash
# Checks the OpenWrt 25.12 packages (apk v3) `make packages` left in dist/,
# with apk-tools 3 built from the kept source (packaging/apk-tools.sh). Run by
# packaging/test-packages.sh; fails loudly on the first problem.
#
#   packaging/test-apk.sh
#
# 1. each architecture: `apk adbdump` metadata, files, modes, owners, scripts;
#    the unpacked files; the feed Makefile lists the same files and modes.
# 2. x86_64 into a throwaway root (apk add --root --initdb): the scripts run
#    chrooted under busybox sh against stubs of OpenWrt's /lib/functions.sh,
#    /etc/rc.common and procd; upgrade (signed, key in /etc/apk/keys) keeps a
#    changed /etc/config/hubagent; apk del keeps it, apk del --purge not.
# 3. the post-install/pre-deinstall in an image root (IPKG_INSTROOT) under
#    busybox sh: enable/disable in that root only, nothing started.
# 4. signatures: the signed package verifies against its key only; a tampered
#    copy and an unsigned package are refused.
#
# Environment: DIST (default dist), APK (else built), the build variables of
# packaging/build.sh (for the upgrade build). Needs: busybox, jq, openssl,
# file; root, or unprivileged user namespaces (unshare -r).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
DIST=$(cd "${DIST:-dist}" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ARCHES="x86_64 aarch64_cortex-a53 aarch64_generic arm_cortex-a7_neon-vfpv4"
OW=packaging/openwrt

fail() {
	echo >&2
	echo "FAIL: $*" >&2
	exit 1
}
ok() { echo "ok   $*"; }
step() { echo; echo "== $*"; }
# apk with --root needs root (chown, chroot for scripts); otherwise map
# ourselves to root in a user namespace.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else unshare --map-root-user "$@"; fi; }

for t in busybox jq openssl file; do
	command -v "$t" >/dev/null || fail "$t is missing (run scripts/test-deps.sh)"
done
APK=$(packaging/apk-tools.sh)
export APK
ok "apk-tools: $("$APK" --version)"

# ---------------------------------------------------------------------------
step "4.1 apk packages: metadata, files, modes, owners, scripts (adbdump)"

machine_of() {
	case "$1" in
	x86_64) echo 'ELF 64-bit LSB executable, x86-64' ;;
	aarch64_*) echo 'ELF 64-bit LSB executable, ARM aarch64' ;;
	arm_*) echo 'ELF 32-bit LSB executable, ARM, EABI5' ;;
	esac
}
goarch_of() { case "$1" in x86_64) echo amd64 ;; aarch64_*) echo arm64 ;; arm_*) echo armv7 ;; esac; }

# entries JSON: "MODE USER:GROUP /PATH" for every directory and file, sorted.
entries() {
	jq -r '.paths[] as $d | ("d " + ($d.acl.mode | tostring) + " " + $d.acl.user + ":" + $d.acl.group + " /" + ($d.name // "")),
		($d.files[]? | ("f " + (.acl.mode | tostring) + " " + .acl.user + ":" + .acl.group + " /" + $d.name + "/" + .name))' "$1" |
		while read -r kind mode owner path; do printf '%s %o %s %s\n' "$kind" "$mode" "$owner" "$path"; done | LC_ALL=C sort
}
cat >"$TMP/want-files" <<'EOF'
f 600 root:root /etc/config/hubagent
f 644 root:root /lib/apk/packages/hubagent.conffiles
f 644 root:root /lib/apk/packages/hubagent.conffiles_static
f 644 root:root /lib/apk/packages/hubagent.list
f 644 root:root /lib/upgrade/keep.d/hubagent
f 755 root:root /etc/init.d/hubagent
f 755 root:root /usr/bin/hubagent
EOF
cat >"$TMP/want-list" <<'EOF'
/etc/config/hubagent
/etc/init.d/hubagent
/lib/upgrade/keep.d/hubagent
/usr/bin/hubagent
EOF

APKVER=""
for arch in $ARCHES; do
	n=$(find "$DIST" -maxdepth 1 -name "hubagent_*_$arch.apk" | wc -l)
	[ "$n" -eq 1 ] || fail "$n .apk files for $arch in $DIST; want exactly one (run make packages; stale build?)"
	pkg=$(find "$DIST" -maxdepth 1 -name "hubagent_*_$arch.apk")
	d="$TMP/apk-$arch"
	mkdir -p "$d/x"
	"$APK" adbdump --format json "$pkg" >"$d/dump.json" || fail "$pkg: apk adbdump failed"
	info() { jq -r ".info[\"$1\"] // \"\" | if type == \"array\" then join(\" \") else tostring end" "$d/dump.json"; }
	[ "$(info name)" = hubagent ] || fail "$pkg: name is '$(info name)'"
	v=$(info version)
	"$APK" version --check "$v" >/dev/null || fail "$pkg: version '$v' is not a valid apk version"
	[[ "$v" == *-r[0-9]* ]] || fail "$pkg: version '$v' has no OpenWrt release (-rN)"
	[ -z "$APKVER" ] || [ "$v" = "$APKVER" ] || fail "$pkg: version $v differs from the x86_64 package's $APKVER"
	APKVER=$v
	[ "$(basename "$pkg")" = "hubagent_${v}_$arch.apk" ] || fail "$pkg: file name does not say version $v and arch $arch"
	[ "$(info arch)" = "$arch" ] || fail "$pkg: arch is '$(info arch)', want $arch"
	[ "$(info license)" = Apache-2.0 ] || fail "$pkg: license is '$(info license)'"
	[ "$(info depends)" = "ca-bundle libc" ] || fail "$pkg: depends are '$(info depends)', want 'ca-bundle libc'"
	[ "$(info origin)" = hubagent ] || fail "$pkg: origin is '$(info origin)'"
	[ -n "$(info description)" ] && [ -n "$(info maintainer)" ] && [ -n "$(info url)" ] || fail "$pkg: description, maintainer or url empty"
	[ "$(info installed-size)" -gt 1000000 ] || fail "$pkg: installed-size $(info installed-size)"
	entries "$d/dump.json" >"$d/entries"
	grep '^f ' "$d/entries" | diff -u "$TMP/want-files" - >&2 || fail "$pkg: files/modes/owners differ (want -, got +)"
	bad_dirs=$(grep '^d ' "$d/entries" | grep -v '^d 755 root:root ' || true)
	[ -z "$bad_dirs" ] || fail "$pkg: directories not 0755 root:root: $bad_dirs"
	[ "$(jq -r '.scripts | keys | join(" ")' "$d/dump.json")" = "post-install post-upgrade pre-deinstall" ] ||
		fail "$pkg: scripts are '$(jq -r '.scripts | keys | join(" ")' "$d/dump.json")'"
	for s in post-install post-upgrade pre-deinstall; do
		jq -j ".scripts[\"$s\"]" "$d/dump.json" >"$d/$s"
		head -n1 "$d/$s" | grep -qx '#!/bin/sh' || fail "$pkg: $s does not start with #!/bin/sh"
		busybox sh -n "$d/$s" || fail "$pkg: $s: syntax error (busybox sh)"
	done
	grep -qx 'default_postinst' "$d/post-install" || fail "$pkg: post-install does not call default_postinst"
	grep -qx 'export PKG_UPGRADE=1' "$d/post-upgrade" || fail "$pkg: post-upgrade does not set PKG_UPGRADE=1"
	grep -qx 'default_prerm' "$d/pre-deinstall" || fail "$pkg: pre-deinstall does not call default_prerm"

	"$APK" extract --allow-untrusted --destination "$d/x" "$pkg" >/dev/null || fail "$pkg: apk extract failed"
	got=$(file -b "$d/x/usr/bin/hubagent")
	[[ "$got" == "$(machine_of "$arch")"* && "$got" == *"statically linked"* && "$got" == *", stripped"* ]] ||
		fail "$pkg: binary is '$got'"
	cmp -s "$d/x/usr/bin/hubagent" "$DIST/hubagent_linux_$(goarch_of "$arch")" || fail "$pkg: binary differs from dist/hubagent_linux_$(goarch_of "$arch")"
	cmp -s "$d/x/etc/init.d/hubagent" $OW/hubagent.init || fail "$pkg: init script is not $OW/hubagent.init"
	cmp -s "$d/x/etc/config/hubagent" $OW/hubagent.uci || fail "$pkg: UCI config is not $OW/hubagent.uci"
	[ "$(cat "$d/x/lib/upgrade/keep.d/hubagent")" = /etc/hubagent/ ] || fail "$pkg: keep.d entry"
	diff -u "$TMP/want-list" "$d/x/lib/apk/packages/hubagent.list" >&2 || fail "$pkg: hubagent.list (want -, got +)"
	[ "$(cat "$d/x/lib/apk/packages/hubagent.conffiles")" = /etc/config/hubagent ] || fail "$pkg: hubagent.conffiles"
	[ "$(cat "$d/x/lib/apk/packages/hubagent.conffiles_static")" = "/etc/config/hubagent $(sha256sum <$OW/hubagent.uci | cut -d' ' -f1)" ] ||
		fail "$pkg: hubagent.conffiles_static: $(cat "$d/x/lib/apk/packages/hubagent.conffiles_static")"
	ok "$(basename "$pkg"): $v $arch, depends ca-bundle libc, $(wc -l <"$d/entries") entries, modes and owners as wanted"
done
PKG1="$DIST/hubagent_${APKVER}_x86_64.apk"
X="$TMP/apk-x86_64/x"

# ---------------------------------------------------------------------------
step "4.2 feed Makefile ($OW/Makefile) in step with the package"
MK=$OW/Makefile
mk_define() { awk -v n="define $1" '$0 == n { f = 1; next } f && $0 == "endef" { exit } f { print }' "$MK"; }
# INSTALL_BIN/INSTALL_CONF/INSTALL_DATA lines -> "f MODE root:root /DEST SRC".
mk_define Package/hubagent/install | awk '
	$1 ~ /^\$\(INSTALL_(BIN|CONF|DATA)\)$/ {
		m = ($1 ~ /BIN/) ? 755 : ($1 ~ /CONF/) ? 600 : 644
		dst = $3; sub(/^\$\(1\)/, "", dst)
		if (dst ~ /\/$/) { n = split($2, p, "/"); dst = dst p[n] }
		print "f", m, "root:root", dst, $2
	}' >"$TMP/mk-install"
[ -s "$TMP/mk-install" ] || fail "$MK: no install lines found"
cut -d' ' -f1-4 "$TMP/mk-install" | LC_ALL=C sort >"$TMP/mk-files"
# OpenWrt's packer adds /lib/apk/packages/* itself.
grep -v ' /lib/apk/packages/' "$TMP/want-files" | diff -u - "$TMP/mk-files" >&2 ||
	fail "$MK installs other files or modes than the package has (package -, Makefile +)"
while read -r _ _ _ dst src; do
	case "$src" in
	./*) cmp -s "$OW/${src#./}" "$X$dst" || fail "$MK: $src is not what the package has at $dst" ;;
	esac
done <"$TMP/mk-install"
[ "$(mk_define Package/hubagent/conffiles)" = "$(cat "$X/lib/apk/packages/hubagent.conffiles")" ] ||
	fail "$MK: conffiles differ from the package's"
deps=$(sed -n 's/^[[:space:]]*DEPENDS:=//p' "$MK" | tr ' ' '\n' | sed -n 's/^+//p' | sort | tr '\n' ' ')
[ "$deps" = "ca-bundle " ] || fail "$MK: DEPENDS adds '$deps'; the package depends on ca-bundle (and OpenWrt's implicit libc)"
[ "$(sed -n 's/^PKG_LICENSE:=//p' "$MK")" = Apache-2.0 ] || fail "$MK: PKG_LICENSE"
mk_define Package/hubagent/postinst | sed '/^#!/d; s/\$\$/$/g' >"$TMP/mk-postinst"
[ "$(tail -n "$(wc -l <"$TMP/mk-postinst")" "$TMP/apk-x86_64/post-install")" = "$(cat "$TMP/mk-postinst")" ] ||
	fail "$MK: Package/hubagent/postinst is not the end of the package's post-install"
ok "$MK: $(wc -l <"$TMP/mk-files") files with the package's modes and contents, conffiles, DEPENDS, license, postinst"

# ---------------------------------------------------------------------------
step "4.3 x86_64 .apk into a throwaway root: install, upgrade, remove, purge"

# A root apk can chroot into to run the scripts: busybox (with the libraries
# it links) as /bin/sh, and the OpenWrt stubs.
make_root() { # DIR
	local r=$1 bb lib
	mkdir -p "$r/bin" "$r/lib/functions" "$r/etc/config" "$r/var/log" "$r/tmp"
	bb=$(readlink -f "$(command -v busybox)")
	cp "$bb" "$r/bin/busybox"
	for lib in $(ldd "$bb" 2>/dev/null | grep -o '/[^ ]*' || true); do
		mkdir -p "$r$(dirname "$lib")"
		cp -L "$lib" "$r$lib"
	done
	for a in sh grep ln rm mkdir cat tr basename; do ln -s busybox "$r/bin/$a"; done
	cp $OW/functions-stub.sh "$r/lib/functions.sh"
	cp $OW/rc.common-stub.sh "$r/etc/rc.common"
	cp $OW/procd-stub.sh "$r/lib/functions/procd-stub.sh"
	: >"$r/var/log/openwrt-stub.log"
}
# OpenWrt's libc and ca-bundle, as empty packages, so the dependencies resolve.
for dep in libc ca-bundle; do
	mkdir -p "$TMP/empty"
	as_root "$APK" mkpkg --info "name:$dep" --info "version:1-r1" --info "arch:x86_64" \
		--info "description:stand-in for OpenWrt's $dep" --files "$TMP/empty" --output "$TMP/$dep.apk"
done

R="$TMP/root"
make_root "$R"
LOG="$R/var/log/openwrt-stub.log"
apk_r() { as_root "$APK" --root "$R" --no-network --no-cache --arch x86_64 "$@"; }
installed_version() { awk '/^P:/ { p = substr($0, 3) } /^V:/ && p == "hubagent" { print substr($0, 3) }' "$R/lib/apk/db/installed" 2>/dev/null; }
log_has() { grep -qxF -- "$1" "$LOG" || { cat "$LOG" >&2; fail "$2: stub log lacks '$1'"; }; }
log_lacks() { ! grep -qxF -- "$1" "$LOG" || { cat "$LOG" >&2; fail "$2: stub log has '$1'"; }; }

apk_r add --initdb --allow-untrusted "$TMP/libc.apk" "$TMP/ca-bundle.apk" "$PKG1" >"$TMP/add.out" 2>&1 ||
	{ cat "$TMP/add.out" >&2; fail "apk add $PKG1 into $R"; }
grep -qi 'error\|warning' "$TMP/add.out" && { cat "$TMP/add.out" >&2; fail "apk add printed errors or warnings"; }
[ "$(installed_version)" = "$APKVER" ] || fail "installed version is '$(installed_version)', want $APKVER"
for e in "755 0 0 usr/bin/hubagent" "755 0 0 etc/init.d/hubagent" "600 0 0 etc/config/hubagent" \
	"644 0 0 lib/upgrade/keep.d/hubagent" "644 0 0 lib/apk/packages/hubagent.list"; do
	set -- $e
	[ "$(stat -c '%a %u %g' "$R/$4" 2>/dev/null)" = "$1 $2 $3" ] ||
		fail "/$4: want mode $1 owner $2:$3, got $(stat -c '%a %u:%g' "$R/$4" 2>&1)"
done
cmp -s "$R/usr/bin/hubagent" "$DIST/hubagent_linux_amd64" || fail "installed binary differs"
cmp -s "$R/etc/config/hubagent" $OW/hubagent.uci || fail "installed UCI config differs"
[ "$(cat "$R/lib/upgrade/keep.d/hubagent")" = /etc/hubagent/ ] || fail "installed keep.d entry"
"$R/usr/bin/hubagent" version >/dev/null 2>&1 || fail "installed hubagent version exited non-zero"
ok "installed $APKVER: binary 0755, init script 0755, UCI config 0600, keep.d 0644, all root:root"

# The post-install ran chrooted, under busybox sh, against the stubs.
log_has "default_postinst hubagent root=/ upgrade=0" "post-install"
log_has "rc.common hubagent enable" "post-install"
log_has "rc.common hubagent start" "post-install"
log_has "procd_set_param [command] [/usr/bin/hubagent] [run] [--data] [/etc/hubagent/data]" "post-install (start_service)"
log_has "procd_close_instance" "post-install (start_service)"
log_lacks "rc.common hubagent restart" "post-install"
[ "$(readlink "$R/etc/rc.d/S95hubagent")" = ../init.d/hubagent ] && [ "$(readlink "$R/etc/rc.d/K10hubagent")" = ../init.d/hubagent ] ||
	fail "post-install did not enable the service (/etc/rc.d/S95hubagent, K10hubagent)"
ok "post-install (busybox sh, chroot): default_postinst enabled (rc.d S95/K10) and started the service via procd"

# Upgrade: a newer build (release +1, new version stamp), signed; the key
# goes where users put it, /etc/apk/keys, and no --allow-untrusted.
echo "# local change (test-apk.sh)" >>"$R/etc/config/hubagent"
conf_sum=$(sha256sum <"$R/etc/config/hubagent")
openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/key.pem" 2>/dev/null
openssl pkey -in "$TMP/key.pem" -pubout -out "$TMP/key.pub.pem"
rel1=${APKVER##*-r}
APKVER2="${APKVER%-r*}-r$((rel1 + 1))"
[ "$("$APK" version -t "$APKVER2" "$APKVER")" = ">" ] || fail "$APKVER2 does not sort after $APKVER"
VSTAMP2="0.0.0-apkupgrade.$$"
echo "building $APKVER2 (x86_64 .apk, signed) ..."
ARCHES=amd64 FORMATS=apk DIST="$TMP/dist2" VERSION="$VSTAMP2" APK_VERSION="${APKVER%-r*}" APK_RELEASE=$((rel1 + 1)) \
	APK_SIGN_KEY="$TMP/key.pem" packaging/build.sh packages >"$TMP/build2.out" 2>&1 || { cat "$TMP/build2.out" >&2; fail "second build"; }
PKG2="$TMP/dist2/hubagent_${APKVER2}_x86_64.apk"
[ -f "$PKG2" ] || fail "second build made no $PKG2"
mkdir -p "$R/etc/apk/keys"
cp "$TMP/key.pub.pem" "$R/etc/apk/keys/hubagent.pem"
: >"$LOG"
apk_r add "$PKG2" >"$TMP/upgrade.out" 2>&1 || { cat "$TMP/upgrade.out" >&2; fail "apk add (upgrade, signed) $PKG2"; }
[ "$(installed_version)" = "$APKVER2" ] || fail "after upgrade the installed version is '$(installed_version)', want $APKVER2"
"$R/usr/bin/hubagent" version 2>&1 | grep -qF "$VSTAMP2" || fail "after upgrade, hubagent version does not print $VSTAMP2"
[ "$(sha256sum <"$R/etc/config/hubagent")" = "$conf_sum" ] || fail "upgrade changed the locally modified /etc/config/hubagent"
[ "$(stat -c %a "$R/etc/config/hubagent")" = 600 ] || fail "upgrade changed the config's mode"
# apk keeps the changed file and puts the packaged one beside it.
cmp -s "$R/etc/config/hubagent.apk-new" $OW/hubagent.uci || fail "upgrade left no /etc/config/hubagent.apk-new with the packaged config"
log_has "default_postinst hubagent root=/ upgrade=1" "post-upgrade"
log_lacks "rc.common hubagent enable" "post-upgrade"
log_has "rc.common hubagent start" "post-upgrade"
log_has "rc.common hubagent restart" "post-upgrade"
ok "upgraded to $APKVER2 (signed, key in /etc/apk/keys): changed config kept (+ .apk-new), service restarted, not re-enabled"

: >"$LOG"
apk_r del hubagent >"$TMP/del.out" 2>&1 || { cat "$TMP/del.out" >&2; fail "apk del hubagent"; }
[ -z "$(installed_version)" ] || fail "after apk del the installed version is '$(installed_version)'"
for f in usr/bin/hubagent etc/init.d/hubagent lib/upgrade/keep.d/hubagent lib/apk/packages/hubagent.list \
	etc/config/hubagent.apk-new etc/rc.d/S95hubagent etc/rc.d/K10hubagent; do
	[ ! -e "$R/$f" ] && [ ! -L "$R/$f" ] || fail "apk del left /$f"
done
[ "$(sha256sum <"$R/etc/config/hubagent")" = "$conf_sum" ] || fail "apk del did not keep the changed /etc/config/hubagent"
log_has "default_prerm hubagent root=/ upgrade=0" "pre-deinstall"
log_has "rc.common hubagent disable" "pre-deinstall"
log_has "rc.common hubagent stop" "pre-deinstall"
ok "apk del: files gone, service stopped and disabled, changed /etc/config/hubagent kept"

apk_r add "$PKG2" >"$TMP/add2.out" 2>&1 || { cat "$TMP/add2.out" >&2; fail "apk add again"; }
apk_r del --purge hubagent >"$TMP/purge.out" 2>&1 || { cat "$TMP/purge.out" >&2; fail "apk del --purge hubagent"; }
[ ! -e "$R/etc/config/hubagent" ] || fail "apk del --purge left the changed /etc/config/hubagent"
ok "apk del --purge: changed config removed too"

# ---------------------------------------------------------------------------
step "4.4 scripts in an image root (IPKG_INSTROOT, image builder) under busybox sh"
IMG="$TMP/image"
make_root "$IMG"
cp -a "$X/." "$IMG/"
ILOG="$IMG/var/log/openwrt-stub.log"
(cd "$TMP" && env -i PATH="$PATH" IPKG_INSTROOT="$IMG" busybox sh "$TMP/apk-x86_64/post-install") >"$TMP/img.out" 2>&1 ||
	{ cat "$TMP/img.out" "$ILOG" >&2; fail "post-install with IPKG_INSTROOT exited non-zero"; }
grep -qxF "default_postinst hubagent root=$IMG upgrade=0" "$ILOG" || { cat "$ILOG" >&2; fail "image post-install: no default_postinst in the image root"; }
grep -qxF "rc.common hubagent enable" "$ILOG" || { cat "$ILOG" >&2; fail "image post-install did not enable"; }
grep -q 'start\|procd_' "$ILOG" && { cat "$ILOG" >&2; fail "image post-install started the service"; }
[ "$(readlink "$IMG/etc/rc.d/S95hubagent")" = ../init.d/hubagent ] || fail "image post-install: no /etc/rc.d/S95hubagent in the image"
: >"$ILOG"
(cd "$TMP" && env -i PATH="$PATH" IPKG_INSTROOT="$IMG" busybox sh "$TMP/apk-x86_64/pre-deinstall") >"$TMP/img2.out" 2>&1 ||
	{ cat "$TMP/img2.out" "$ILOG" >&2; fail "pre-deinstall with IPKG_INSTROOT exited non-zero"; }
grep -qxF "rc.common hubagent disable" "$ILOG" && ! grep -q 'stop' "$ILOG" || { cat "$ILOG" >&2; fail "image pre-deinstall: want disable only"; }
[ ! -e "$IMG/etc/rc.d/S95hubagent" ] || fail "image pre-deinstall left /etc/rc.d/S95hubagent"
# Without OpenWrt's /lib/functions.sh (not an OpenWrt root) the scripts do nothing.
env -i PATH="$PATH" IPKG_INSTROOT="$TMP/empty" busybox sh "$TMP/apk-x86_64/post-install" || fail "post-install without /lib/functions.sh exited non-zero"
ok "image root: post-install only enables (rc.d in the image), pre-deinstall only disables; no start/stop"

# ---------------------------------------------------------------------------
step "4.5 signatures"
K="$TMP/keys-ours" O="$TMP/keys-other"
mkdir -p "$K" "$O"
cp "$TMP/key.pub.pem" "$K/hubagent.pem"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkey -pubout -out "$O/other.pem"
"$APK" verify --keys-dir "$K" "$PKG2" >/dev/null 2>&1 || fail "$PKG2 does not verify against its key"
"$APK" verify --keys-dir "$O" "$PKG2" >/dev/null 2>&1 && fail "$PKG2 verifies against another key"
"$APK" verify --keys-dir "$K" "$PKG1" >/dev/null 2>&1 && fail "unsigned $PKG1 verifies"
R3="$TMP/root3"
mkdir -p "$R3/etc/apk/keys"
cp "$TMP/key.pub.pem" "$R3/etc/apk/keys/hubagent.pem"
apk_r3() { as_root "$APK" --root "$R3" --no-network --no-cache --no-scripts --arch x86_64 "$@"; }
apk_r3 add --initdb --allow-untrusted "$TMP/libc.apk" "$TMP/ca-bundle.apk" >/dev/null 2>&1 || fail "root3: stand-in packages"
# What apk says when the bytes changed: a hash or signature mismatch, or, when
# the flipped byte lands in the compressed stream, a stream that no longer
# decodes or ends short (apk's segment reader reports a short read as
# ECONNABORTED). Which one depends on the byte, so several offsets are tried;
# each must be refused for one of these reasons and leave nothing behind.
TAMPER_RE='file integrity error\|BAD signature\|UNTRUSTED signature\|ADB [a-z ]*error\|file format is invalid\|unexpected end of file\|Software caused connection abort'
size=$(stat -c %s "$PKG2")
reasons=""
for k in 1 2 3 4 5 6 7; do
	off=$((size * k / 8))
	cp "$PKG2" "$TMP/tampered.apk"
	b=$(od -An -tu1 -j "$off" -N1 "$TMP/tampered.apk" | tr -d ' ')
	printf "$(printf '\\%03o' $(((b + 1) % 256)))" | dd of="$TMP/tampered.apk" bs=1 seek="$off" conv=notrunc status=none
	cmp -s "$PKG2" "$TMP/tampered.apk" && fail "tampering at byte $off did not change the file"
	"$APK" verify --keys-dir "$K" "$TMP/tampered.apk" >/dev/null 2>&1 && fail "a package tampered at byte $off verifies"
	apk_r3 add "$TMP/tampered.apk" >"$TMP/t.out" 2>&1 && fail "apk add installed a package tampered at byte $off"
	[ ! -e "$R3/usr/bin/hubagent" ] || fail "the package tampered at byte $off left /usr/bin/hubagent"
	why=$(grep -o "$TAMPER_RE" "$TMP/t.out" | head -n1) || true
	[ -n "$why" ] || { cat "$TMP/t.out" >&2; fail "package tampered at byte $off: refused for another reason"; }
	reasons="$reasons$off: $why; "
done
apk_r3 add "$PKG1" >"$TMP/u.out" 2>&1 && fail "apk add installed an unsigned package without --allow-untrusted"
apk_r3 add "$PKG2" >"$TMP/s.out" 2>&1 || { cat "$TMP/s.out" >&2; fail "apk add of the signed package with its key in /etc/apk/keys"; }
grep -q 'UNTRUSTED signature' "$TMP/u.out" || { cat "$TMP/u.out" >&2; fail "unsigned package: refused for another reason"; }
ok "signed package verifies against its key only; refused: unsigned (UNTRUSTED signature), tampered at 7 offsets (${reasons%; })"

echo
echo "test-apk.sh: all checks passed"
