#!/usr/bin/env bash
# Checks the packages `make packages` left in dist/. Fails loudly on the first
# problem. Never touches this machine's own package database or accounts:
# the .deb is installed into a throwaway root (dpkg --root, maintainer scripts
# run chroot-less with DPKG_ROOT set).
#
#   packaging/test-packages.sh
#
# Environment: DIST (default dist), MAX_ARM64_BYTES (default 25000000), and
# the build variables of packaging/build.sh (used for the upgrade build).
# Needs: dpkg, file, systemd (systemd-analyze, systemd-sysusers), passwd
# (userdel/groupdel), dash; busybox optional (procd test under OpenWrt's shell).
# Step 4 (packaging/test-apk.sh, the OpenWrt 25.12 apk v3 packages) needs
# busybox, jq, openssl and builds apk-tools from ../shared/tools (see
# packaging/apk-tools.sh).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
DIST=$(cd "${DIST:-dist}" && pwd)
MAX_ARM64_BYTES=${MAX_ARM64_BYTES:-25000000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

DEB_ARCHES="amd64 arm64 armhf"
IPK_ARCHES="x86_64 aarch64_cortex-a53 aarch64_generic arm_cortex-a7_neon-vfpv4"

fail() {
	echo >&2
	echo "FAIL: $*" >&2
	exit 1
}
ok() { echo "ok   $*"; }
step() { echo; echo "== $*"; }

# machine_of ARCH: what `file` must say about the binary.
machine_of() {
	case "$1" in
	amd64 | x86_64) echo 'ELF 64-bit LSB executable, x86-64' ;;
	arm64 | aarch64_*) echo 'ELF 64-bit LSB executable, ARM aarch64' ;;
	armhf | arm_*) echo 'ELF 32-bit LSB executable, ARM, EABI5' ;;
	esac
}
goarch_dir_of() {
	case "$1" in
	amd64 | x86_64) echo amd64 ;;
	arm64 | aarch64_*) echo arm64 ;;
	armhf | arm_*) echo armv7 ;;
	esac
}

check_binary() { # FILE ARCH
	local f=$1 arch=$2 desc want
	desc=$(file -b "$f")
	want=$(machine_of "$arch")
	[[ "$desc" == "$want"* ]] || fail "$f: file says '$desc', want '$want…'"
	[[ "$desc" == *"statically linked"* ]] || fail "$f: not statically linked: $desc"
	[[ "$desc" == *", stripped"* ]] || fail "$f: not stripped: $desc"
	if [ -f "$DIST/hubagent_linux_$(goarch_dir_of "$arch")" ]; then
		cmp -s "$f" "$DIST/hubagent_linux_$(goarch_dir_of "$arch")" ||
			fail "$f differs from $DIST/hubagent_linux_$(goarch_dir_of "$arch")"
	fi
	# The gateway arches ship without the relay's server side and the
	# conformance kit (packaging/build.sh GATEWAY_ARCHES); amd64 is the full
	# build relay hosts install.
	local tags gw=no want=no
	tags=$(go version -m "$f" | awk '$1 == "build" && $2 ~ /^-tags=/ { sub(/^-tags=/, "", $2); print $2 }')
	case ",$tags," in *,gateway,*) gw=yes ;; esac
	case " ${GATEWAY_ARCHES-arm64 armv7} " in *" $(goarch_dir_of "$arch") "*) want=yes ;; esac
	[ "$gw" = "$want" ] || fail "$f: built with tags '$tags'; gateway build wanted: $want"
	ok "$arch binary: ${desc%%, Go BuildID*} (tags $tags)"
}

# expect_entry LISTING MODE OWNER PATH: `tar -tv`-style listing has the entry.
expect_entry() {
	local listing=$1 mode=$2 owner=$3 path=$4
	awk -v m="$mode" -v o="$owner" -v p="$path" '$1 == m && $2 == o && $NF == p { found = 1 } END { exit !found }' "$listing" ||
		fail "$path: want $mode $owner; package has: $(grep -F " $path" "$listing" || echo nothing)"
}
# expect_files LISTING PATH...: the regular files are exactly these.
expect_files() {
	local listing=$1 got want
	shift
	got=$(awk '$1 ~ /^-/ { print $NF }' "$listing" | sort)
	want=$(printf '%s\n' "$@" | sort)
	[ "$got" = "$want" ] || fail "files in package: got [$(echo $got)], want [$(echo $want)]"
}

# ---------------------------------------------------------------------------
step "0. version stamps: dpkg/opkg and apk versions from git describe, ordered as dpkg orders them"
# dpkg --compare-versions is the oracle: every stamp must be a valid Debian
# version and sort in the order of the builds it names.
prev=""
for v in 920fa6e v1.2.3-rc1 v1.2.3 v1.2.3-4-g920fa6e v1.2.4; do
	pv=$(VERSION=$v COMMIT=x DATE=y packaging/version.sh | sed -n "s/^PKG_VERSION=//p" | tr -d "'\"")
	dpkg --validate-version "$pv" 2>/dev/null || fail "version $v: '$pv' is not a valid Debian version"
	if [ -n "$prev" ]; then
		dpkg --compare-versions "$prev" lt "$pv" || fail "version $v: '$pv' does not sort after '$prev'"
	fi
	prev=$pv
done
case "$(VERSION=920fa6e COMMIT=x DATE=y packaging/version.sh | sed -n 's/^PKG_VERSION=//p')" in
*0.0.0~git.920fa6e*) ok "a bare commit id, even one starting with a digit, is 0.0.0~git.<id>" ;;
*) fail "a bare commit id starting with a digit was taken for a version number" ;;
esac
ok "version stamps valid and ordered: untagged < rc < release < commits after it < next release"

step "1. packages exist, fields, files, modes, owners, conffiles, binaries"

first_deb=$(ls "$DIST"/hubagent_*_amd64.deb 2>/dev/null | head -n1) || true
[ -n "$first_deb" ] || fail "no amd64 .deb in $DIST (run make packages first)"
VERSION1=$(dpkg-deb -f "$first_deb" Version)
echo "package version: $VERSION1"

for arch in $DEB_ARCHES; do
	deb="$DIST/hubagent_${VERSION1}_${arch}.deb"
	[ -f "$deb" ] || fail "missing $deb"
	n=$(ls "$DIST"/hubagent_*_"$arch".deb | wc -l)
	[ "$n" -eq 1 ] || fail "$n .deb files for $arch in $DIST; want exactly one (stale build?)"
	d="$TMP/deb-$arch"
	mkdir -p "$d"
	dpkg-deb --info "$deb" >"$d/info"
	[ "$(dpkg-deb -f "$deb" Package)" = hubagent ] || fail "$deb: Package field"
	[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "$deb: Architecture is '$(dpkg-deb -f "$deb" Architecture)', want $arch"
	[ "$(dpkg-deb -f "$deb" Version)" = "$VERSION1" ] || fail "$deb: Version differs from the amd64 package"
	dpkg-deb --contents "$deb" | awk '{ print $1, $2, $NF }' >"$d/contents"
	expect_files "$d/contents" ./usr/bin/hubagent ./etc/hubagent/hubagent.toml \
		./lib/systemd/system/hubagent.service ./usr/lib/sysusers.d/hubagent.conf
	expect_entry "$d/contents" -rwxr-xr-x root/root ./usr/bin/hubagent
	expect_entry "$d/contents" -rw-r----- root/root ./etc/hubagent/hubagent.toml
	expect_entry "$d/contents" -rw-r--r-- root/root ./lib/systemd/system/hubagent.service
	expect_entry "$d/contents" -rw-r--r-- root/root ./usr/lib/sysusers.d/hubagent.conf
	dpkg-deb --control "$deb" "$d/control"
	[ "$(cat "$d/control/conffiles")" = /etc/hubagent/hubagent.toml ] ||
		fail "$deb: conffiles is '$(cat "$d/control/conffiles")', want /etc/hubagent/hubagent.toml"
	for s in postinst prerm postrm; do
		[ -x "$d/control/$s" ] || fail "$deb: $s missing or not executable"
		sh -n "$d/control/$s" || fail "$deb: $s: syntax error"
	done
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$d" ./usr/bin/hubagent
	check_binary "$d/usr/bin/hubagent" "$arch"
	cmp -s "$d/control/postinst" packaging/deb/postinst || fail "$deb: postinst is not packaging/deb/postinst"
	ok "$(basename "$deb")"
done

for arch in $IPK_ARCHES; do
	ipk="$DIST/hubagent_${VERSION1}_${arch}.ipk"
	[ -f "$ipk" ] || fail "missing $ipk"
	d="$TMP/ipk-$arch"
	mkdir -p "$d/control" "$d/data"
	# OpenWrt's .ipk: a gzip'd tar of debian-binary, control.tar.gz, data.tar.gz.
	tar -xzf "$ipk" -C "$d"
	[ "$(tar -tzf "$ipk" | sort | tr '\n' ' ')" = "./control.tar.gz ./data.tar.gz ./debian-binary " ] ||
		fail "$ipk: members are $(tar -tzf "$ipk" | tr '\n' ' ')"
	[ "$(cat "$d/debian-binary")" = 2.0 ] || fail "$ipk: debian-binary is not 2.0"
	tar -xzf "$d/control.tar.gz" -C "$d/control"
	field() { awk -v k="$1:" '$1 == k { sub(/^[^:]*: */, ""); print; exit }' "$d/control/control"; }
	[ "$(field Package)" = hubagent ] || fail "$ipk: Package field"
	[ "$(field Architecture)" = "$arch" ] || fail "$ipk: Architecture is '$(field Architecture)', want $arch"
	[ "$(field Version)" = "$VERSION1" ] || fail "$ipk: Version is '$(field Version)', want $VERSION1"
	[ "$(cat "$d/control/conffiles")" = /etc/config/hubagent ] ||
		fail "$ipk: conffiles is '$(cat "$d/control/conffiles")', want /etc/config/hubagent"
	for s in postinst prerm; do
		[ -x "$d/control/$s" ] || fail "$ipk: $s missing or not executable"
		sh -n "$d/control/$s" || fail "$ipk: $s: syntax error"
	done
	tar -tvzf "$d/data.tar.gz" | awk '{ print $1, $2, $NF }' >"$d/contents"
	expect_files "$d/contents" ./usr/bin/hubagent ./etc/init.d/hubagent ./etc/config/hubagent ./lib/upgrade/keep.d/hubagent
	expect_entry "$d/contents" -rwxr-xr-x root/root ./usr/bin/hubagent
	expect_entry "$d/contents" -rwxr-xr-x root/root ./etc/init.d/hubagent
	expect_entry "$d/contents" -rw------- root/root ./etc/config/hubagent
	expect_entry "$d/contents" -rw-r--r-- root/root ./lib/upgrade/keep.d/hubagent
	tar -xzf "$d/data.tar.gz" -C "$d/data"
	cmp -s "$d/data/etc/init.d/hubagent" packaging/openwrt/hubagent.init || fail "$ipk: init script is not packaging/openwrt/hubagent.init"
	[ "$(cat "$d/data/lib/upgrade/keep.d/hubagent")" = /etc/hubagent/ ] || fail "$ipk: keep.d entry"
	check_binary "$d/data/usr/bin/hubagent" "$arch"
	ok "$(basename "$ipk")"
done

# ---------------------------------------------------------------------------
step "5. binary sizes (stripped; limit for arm64: $MAX_ARM64_BYTES bytes)"
printf '%-8s %12s %8s %8s\n' arch bytes MB MiB
for a in amd64 arm64 armhf; do
	b=$(stat -c %s "$TMP/deb-$a/usr/bin/hubagent")
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%-8s %12d %8.2f %8.2f\n", a, b, b / 1e6, b / 1048576 }'
done
arm64_bytes=$(stat -c %s "$TMP/deb-arm64/usr/bin/hubagent")
[ "$arm64_bytes" -le "$MAX_ARM64_BYTES" ] || fail "arm64 binary is $arm64_bytes bytes, above the limit of $MAX_ARM64_BYTES"
ok "arm64 binary $arm64_bytes bytes <= $MAX_ARM64_BYTES"

# ---------------------------------------------------------------------------
step "2. amd64 .deb: install into a throwaway root, verify, upgrade, remove, purge"

ROOT="$TMP/root"
mkdir -p "$ROOT/etc" "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/lib/dpkg/triggers"
touch "$ROOT/var/lib/dpkg/status" "$ROOT/var/lib/dpkg/available"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$ROOT/etc/shadow"
printf 'root:*::\n' >"$ROOT/etc/gshadow"
chmod 0640 "$ROOT/etc/shadow" "$ROOT/etc/gshadow"
host_passwd_sum=$(sha256sum /etc/passwd /etc/group)

dpkg_root() {
	dpkg --root="$ROOT" --force-script-chrootless --force-not-root --force-unsafe-io \
		--log="$TMP/dpkg.log" "$@" </dev/null
}
status_of() { dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Status} ${Version}' hubagent 2>/dev/null || true; }
passwd_field() { awk -F: -v f="$2" '$1 == "hubagent" { print $f }' "$ROOT/etc/$1"; }

dpkg_root -i "$first_deb" >"$TMP/install.out" 2>&1 || { cat "$TMP/install.out" >&2; fail "dpkg -i $first_deb into $ROOT"; }
[ "$(status_of)" = "install ok installed $VERSION1" ] || fail "dpkg status after install: '$(status_of)'"
uid=$(passwd_field passwd 3)
gid=$(passwd_field group 3)
[ -n "$uid" ] && [ -n "$gid" ] || fail "postinst did not create user/group hubagent in the target root"
[ "$(passwd_field passwd 7)" = /usr/sbin/nologin ] || fail "hubagent shell is '$(passwd_field passwd 7)'"
[ "$(passwd_field passwd 6)" = /var/lib/hubagent ] || fail "hubagent home is '$(passwd_field passwd 6)'"
[ "$(stat -c '%a %u %g' "$ROOT/etc/hubagent/hubagent.toml")" = "640 0 $gid" ] ||
	fail "hubagent.toml is $(stat -c '%a %u:%g' "$ROOT/etc/hubagent/hubagent.toml"), want 640 0:$gid"
[ "$(stat -c '%a %u %g' "$ROOT/var/lib/hubagent")" = "750 $uid $gid" ] ||
	fail "/var/lib/hubagent is $(stat -c '%a %u:%g' "$ROOT/var/lib/hubagent"), want 750 $uid:$gid"
[ "$(readlink "$ROOT/etc/systemd/system/multi-user.target.wants/hubagent.service")" = /lib/systemd/system/hubagent.service ] ||
	fail "hubagent.service is not enabled (multi-user.target.wants symlink)"
[ "$(sha256sum /etc/passwd /etc/group)" = "$host_passwd_sum" ] || fail "the host's /etc/passwd or /etc/group changed!"
ok "installed $VERSION1: user hubagent ($uid:$gid), config 0640 root:hubagent, data dir 0750, unit enabled"

# systemd-analyze verify resolves the unit's dependencies inside --root:
# give the root the host's targets and slices (not part of any package).
mkdir -p "$ROOT/usr/lib/systemd/system"
cp -a /lib/systemd/system/*.target /lib/systemd/system/*.slice "$ROOT/usr/lib/systemd/system/"
if ! systemd-analyze verify --root="$ROOT" --man=no /lib/systemd/system/hubagent.service >"$TMP/verify.out" 2>&1 ||
	[ -s "$TMP/verify.out" ]; then
	cat "$TMP/verify.out" >&2
	fail "systemd-analyze verify hubagent.service"
fi
ok "systemd-analyze verify: clean"
systemd-analyze security --offline=yes --root="$ROOT" --no-pager --threshold=25 /lib/systemd/system/hubagent.service >"$TMP/security.out" 2>&1 ||
	{ grep -E '✗|→' "$TMP/security.out" >&2; fail "systemd-analyze security: exposure above 2.5"; }
ok "systemd-analyze security: $(grep -o 'exposure level for hubagent.service: .*' "$TMP/security.out")"

"$ROOT/usr/bin/hubagent" version >"$TMP/version1.out" 2>&1 || { cat "$TMP/version1.out" >&2; fail "installed hubagent version exited non-zero"; }
grep -q amd64 "$TMP/version1.out" || fail "hubagent version does not name amd64: $(cat "$TMP/version1.out")"
ok "installed binary: $(head -n1 "$TMP/version1.out")"

# Local changes the upgrade must keep.
echo '# local change (test-packages.sh)' >>"$ROOT/etc/hubagent/hubagent.toml"
conf_sum=$(sha256sum <"$ROOT/etc/hubagent/hubagent.toml")
head -c 65536 /dev/urandom >"$ROOT/var/lib/hubagent/hubagent.db"
chown "$uid:$gid" "$ROOT/var/lib/hubagent/hubagent.db"
db_sum=$(sha256sum <"$ROOT/var/lib/hubagent/hubagent.db")

# A newer build: same tree, a different version stamp.
VERSION2="${VERSION1}+upgradetest1"
dpkg --compare-versions "$VERSION2" gt "$VERSION1" || fail "$VERSION2 does not sort after $VERSION1"
echo "building $VERSION2 (amd64 .deb) ..."
ARCHES=amd64 FORMATS=deb DIST="$TMP/dist2" VERSION="$VERSION2" PKG_VERSION="$VERSION2" \
	packaging/build.sh packages >"$TMP/build2.out" 2>&1 || { cat "$TMP/build2.out" >&2; fail "second build"; }
deb2="$TMP/dist2/hubagent_${VERSION2}_amd64.deb"
[ -f "$deb2" ] || fail "second build made no $deb2"

dpkg_root -i "$deb2" >"$TMP/upgrade.out" 2>&1 || { cat "$TMP/upgrade.out" >&2; fail "dpkg -i (upgrade) $deb2"; }
[ "$(status_of)" = "install ok installed $VERSION2" ] || fail "dpkg status after upgrade: '$(status_of)'"
"$ROOT/usr/bin/hubagent" version 2>&1 | grep -qF "$VERSION2" ||
	fail "after upgrade, hubagent version does not print $VERSION2: $("$ROOT/usr/bin/hubagent" version 2>&1)"
[ "$(sha256sum <"$ROOT/etc/hubagent/hubagent.toml")" = "$conf_sum" ] || fail "upgrade changed the locally modified conffile"
[ "$(sha256sum <"$ROOT/var/lib/hubagent/hubagent.db")" = "$db_sum" ] || fail "upgrade changed the database file"
ls "$ROOT"/etc/hubagent/*.dpkg-* >/dev/null 2>&1 && fail "upgrade left $(ls "$ROOT"/etc/hubagent/*.dpkg-*)"
[ "$(stat -c '%a %u %g' "$ROOT/etc/hubagent/hubagent.toml")" = "640 0 $gid" ] || fail "upgrade changed the conffile's mode/owner"
[ "$(passwd_field passwd 3)" = "$uid" ] || fail "upgrade changed the hubagent uid"
[ -L "$ROOT/etc/systemd/system/multi-user.target.wants/hubagent.service" ] || fail "upgrade lost the enablement"
ok "upgraded to $VERSION2: changed conffile kept, database kept, user and enablement kept"

dpkg_root -r hubagent >"$TMP/remove.out" 2>&1 || { cat "$TMP/remove.out" >&2; fail "dpkg -r hubagent"; }
[[ "$(status_of)" == "deinstall ok config-files"* ]] || fail "dpkg status after remove: '$(status_of)'"
[ ! -e "$ROOT/usr/bin/hubagent" ] || fail "remove left /usr/bin/hubagent"
[ ! -e "$ROOT/lib/systemd/system/hubagent.service" ] || fail "remove left the unit"
[ "$(sha256sum <"$ROOT/etc/hubagent/hubagent.toml")" = "$conf_sum" ] || fail "remove did not keep the conffile"
[ "$(sha256sum <"$ROOT/var/lib/hubagent/hubagent.db")" = "$db_sum" ] || fail "remove did not keep the database"
[ -n "$(passwd_field passwd 3)" ] || fail "remove deleted the hubagent user"
ok "removed: config, data and user kept"

dpkg_root -P hubagent >"$TMP/purge.out" 2>&1 || { cat "$TMP/purge.out" >&2; fail "dpkg -P hubagent"; }
[ -z "$(status_of | grep -v '^unknown ok not-installed' || true)" ] || fail "dpkg status after purge: '$(status_of)'"
[ ! -e "$ROOT/etc/hubagent" ] || fail "purge left /etc/hubagent"
[ ! -e "$ROOT/var/lib/hubagent" ] || fail "purge left /var/lib/hubagent"
[ -z "$(passwd_field passwd 3)" ] || fail "purge left user hubagent"
[ -z "$(passwd_field group 3)" ] || fail "purge left group hubagent"
[ ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/hubagent.service" ] || fail "purge left the enablement symlink"
[ "$(sha256sum /etc/passwd /etc/group)" = "$host_passwd_sum" ] || fail "the host's /etc/passwd or /etc/group changed!"
ok "purged: /etc/hubagent, /var/lib/hubagent, user and group gone"

# ---------------------------------------------------------------------------
step "3. OpenWrt procd init script (from the x86_64 .ipk) against procd stubs"
packaging/openwrt/test-init.sh "$TMP/ipk-x86_64/data/etc/init.d/hubagent" "$TMP/ipk-x86_64/data/etc/config/hubagent"

# ---------------------------------------------------------------------------
step "4. OpenWrt 25.12 .apk (apk v3): packaging/test-apk.sh"
DIST="$DIST" packaging/test-apk.sh

echo
echo "test-packages.sh: all checks passed"
