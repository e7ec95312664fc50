# Stand-in for OpenWrt's /etc/rc.common with procd, for running an init
# script off-target: `sh rc.common-stub.sh INITSCRIPT ACTION`, which is what
# the kernel runs for `INITSCRIPT ACTION` given the script's
# `#!/bin/sh /etc/rc.common` line once this file is the root's
# /etc/rc.common. enable/disable manage the /etc/rc.d links from START/STOP
# like the real one; start/restart run start_service and service_triggers
# against the procd stubs (/lib/functions/procd-stub.sh in the same root,
# packaging/openwrt/procd-stub.sh), with UCI read from the root's
# /etc/config. Everything is logged to $IPKG_INSTROOT/var/log/openwrt-stub.log.

initscript=$1
action=${2:-}
name=${initscript##*/}
rcd="${IPKG_INSTROOT}/etc/rc.d"
UCI_CONFIG_DIR="${IPKG_INSTROOT}/etc/config"
STUB_USERS="root"
. "${IPKG_INSTROOT}/lib/functions/procd-stub.sh"
. "$initscript"

{
	echo "rc.common $name $action"
	case "$action" in
	enable)
		command mkdir -p "$rcd"
		[ -n "${START:-}" ] && ln -sf "../init.d/$name" "$rcd/S$START$name"
		[ -n "${STOP:-}" ] && ln -sf "../init.d/$name" "$rcd/K$STOP$name"
		;;
	disable)
		rm -f "$rcd/S"[0-9][0-9]"$name" "$rcd/K"[0-9][0-9]"$name"
		;;
	enabled)
		[ -L "$rcd/S$START$name" ] || exit 1
		;;
	start | restart)
		start_service
		service_triggers
		;;
	stop) ;;
	*)
		echo "rc.common stub: unknown action '$action'"
		exit 1
		;;
	esac
} >>"${IPKG_INSTROOT}/var/log/openwrt-stub.log" 2>&1
