# Stand-in for the package helpers of OpenWrt's /lib/functions.sh, for
# running the .apk's scripts off-target (packaging/test-packages.sh installs
# it as /lib/functions.sh of a throwaway root). It does what OpenWrt's
# default_postinst/default_prerm are documented to do with a package's
# /lib/apk/packages/<pkg>.list: for each /etc/init.d/ script, in an image
# root (IPKG_INSTROOT set) only enable/disable it through that root's
# rc.common; on a live system enable (not on upgrade) and start, or disable
# (not on upgrade) and stop. Each call is logged to
# $IPKG_INSTROOT/var/log/openwrt-stub.log.

_stub_log() { echo "$*" >>"${IPKG_INSTROOT}/var/log/openwrt-stub.log"; }

_stub_init_scripts() {
	local list="$root/lib/apk/packages/$pkgname.list"
	[ -f "$list" ] || { _stub_log "missing $list"; return 1; }
	grep '^/etc/init.d/' "$list"
}

add_group_and_user() {
	_stub_log "add_group_and_user $pkgname rusers=$(cat "$root/lib/apk/packages/$pkgname.rusers" 2>/dev/null)"
}

default_postinst() {
	local i scripts
	_stub_log "default_postinst $pkgname root=${root:-/} upgrade=${PKG_UPGRADE:-0}"
	scripts=$(_stub_init_scripts) || return 1
	for i in $scripts; do
		if [ -n "$root" ]; then
			/bin/sh "$root/etc/rc.common" "$root$i" enable
		else
			[ "${PKG_UPGRADE:-0}" = 1 ] || "$i" enable
			"$i" start
		fi
	done
}

default_prerm() {
	local i scripts
	_stub_log "default_prerm $pkgname root=${root:-/} upgrade=${PKG_UPGRADE:-0}"
	scripts=$(_stub_init_scripts) || return 1
	for i in $scripts; do
		if [ -n "$root" ]; then
			/bin/sh "$root/etc/rc.common" "$root$i" disable
		else
			[ "${PKG_UPGRADE:-0}" = 1 ] || "$i" disable
			"$i" stop
		fi
	done
}
