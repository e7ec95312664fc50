# Stand-ins for the OpenWrt shell functions an init script uses
# (/lib/functions.sh, /lib/functions/procd.sh, rc.common), for testing
# packaging/openwrt/hubagent.init off-target. Each procd_* call prints one
# line: the function name, then every argument in [brackets]; commands that
# would change the system (mkdir, chown, chmod) print instead of acting.
#
# UCI_CONFIG_DIR names a directory holding UCI files (same syntax as
# /etc/config/*); config_load reads them the way OpenWrt's `uci export`
# output is evaluated: config/option/list define CONFIG_<section>_<option>.
# STUB_USERS lists the accounts user_exists reports as present.

_stub_print() {
	local out="$1"
	shift
	for _a in "$@"; do out="$out [$_a]"; done
	printf '%s\n' "$out"
}

# --- /lib/functions.sh (UCI) ---
config() {
	_stub_n=$((${_stub_n:-0} + 1))
	CONFIG_SECTION="${2:-cfg$_stub_n}"
	eval "CONFIG_${CONFIG_SECTION}_TYPE=\$1"
}
option() {
	eval "CONFIG_${CONFIG_SECTION}_$1=\$2"
}
list() {
	local _cur
	eval "_cur=\${CONFIG_${CONFIG_SECTION}_$1:-}"
	eval "CONFIG_${CONFIG_SECTION}_$1=\"\${_cur:+\$_cur }\$2\""
}
config_load() {
	_stub_print config_load "$@"
	[ -f "$UCI_CONFIG_DIR/$1" ] || { echo "stub: no UCI file $UCI_CONFIG_DIR/$1" >&2; return 1; }
	. "$UCI_CONFIG_DIR/$1"
}
config_get() { # var section option [default]
	eval "$1=\${CONFIG_${2}_${3}:-\${4:-}}"
}
config_get_bool() { # var section option [default]
	local _tmp
	config_get _tmp "$2" "$3" "${4:-}"
	case "$_tmp" in
	1 | on | true | yes | enabled) _tmp=1 ;;
	0 | off | false | no | disabled) _tmp=0 ;;
	*) _tmp="${4:-}" ;;
	esac
	eval "$1=\$_tmp"
}
user_exists() {
	case " ${STUB_USERS:-root} " in *" $1 "*) return 0 ;; esac
	return 1
}
group_add_next() {
	_stub_print group_add_next "$@" >&2
	echo 65536
}
user_add() { _stub_print user_add "$@"; }

# --- /lib/functions/procd.sh ---
procd_open_instance() { _stub_print procd_open_instance "$@"; }
procd_close_instance() { _stub_print procd_close_instance "$@"; }
procd_set_param() { _stub_print procd_set_param "$@"; }
procd_append_param() { _stub_print procd_append_param "$@"; }
procd_add_reload_trigger() { _stub_print procd_add_reload_trigger "$@"; }

# --- commands with side effects ---
mkdir() { _stub_print mkdir "$@"; }
chown() { _stub_print chown "$@"; }
chmod() { _stub_print chmod "$@"; }
