#!/usr/bin/env bash
# Tests the procd init script against stubs of OpenWrt's shell functions
# (procd-stub.sh): `sh -n`, then start_service/service_triggers for several
# UCI configurations, asserting the exact procd calls. Runs every case under
# dash and, when installed, busybox sh (OpenWrt's shell).
#
#   packaging/openwrt/test-init.sh [INIT_SCRIPT [UCI_DEFAULT]]
# (defaults: the files in packaging/openwrt; test-packages.sh passes the
# copies unpacked from the .ipk)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
INIT=$(realpath "${1:-$HERE/hubagent.init}")
UCI_DEFAULT=$(realpath "${2:-$HERE/hubagent.uci}")
STUB="$HERE/procd-stub.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

SHELLS=(dash)
if command -v busybox >/dev/null 2>&1; then SHELLS+=("busybox sh"); fi
fails=0

head -n1 "$INIT" | grep -qx '#!/bin/sh /etc/rc.common' || { echo "FAIL: init script must start with '#!/bin/sh /etc/rc.common'" >&2; exit 1; }
for sh in "${SHELLS[@]}"; do
	$sh -n "$INIT" || { echo "FAIL: $sh -n $INIT" >&2; exit 1; }
done
grep -qx 'USE_PROCD=1' "$INIT" || { echo "FAIL: USE_PROCD=1 missing" >&2; exit 1; }
grep -qx 'START=95' "$INIT" || { echo "FAIL: START=95 missing" >&2; exit 1; }

# Every key the init script maps to HUBAGENT_* must be a key of the agent's
# configuration (the agent refuses unknown HUBAGENT_ variables): compare with
# the example file, which lists every key.
TOML=${HUBAGENT_TOML:-$HERE/../hubagent.toml}
if [ -f "$TOML" ]; then
	toml_keys=$(awk '/^\[/ { gsub(/[][]/, ""); sec = $0; next }
		/^#? ?[a-z_]+ = / { k = $0; sub(/^# ?/, "", k); sub(/ =.*/, "", k); if (sec != "") print sec "." k }' "$TOML" | sort)
	init_keys=$(sh -c '. "$1"; for s in $HUBAGENT_SECTIONS; do eval "k=\$HUBAGENT_KEYS_$s"; for o in $k; do echo "$s.$o"; done; done' x "$INIT" | sort)
	unknown=$(comm -13 <(echo "$toml_keys") <(echo "$init_keys"))
	[ -z "$unknown" ] || { echo "FAIL: init script maps keys the agent does not know: $unknown" >&2; exit 1; }
	unmapped=$(comm -23 <(echo "$toml_keys") <(echo "$init_keys"))
	[ -z "$unmapped" ] || echo "note: keys not settable from UCI (use main.config_file): $(echo $unmapped)"
	echo "ok   init script keys match $(basename "$TOML") ($(echo "$init_keys" | wc -l) keys)"
else
	echo "note: $TOML not found; key check skipped"
fi

# run_case NAME UCI_FILE STUB_USERS EXPECTED_FILE
run_case() {
	local name=$1 uci=$2 users=$3 want=$4 sh
	mkdir -p "$TMP/$name/config"
	cp "$uci" "$TMP/$name/config/hubagent"
	for sh in "${SHELLS[@]}"; do
		UCI_CONFIG_DIR="$TMP/$name/config" STUB_USERS="$users" $sh -c '
			set -e
			. "$1"
			. "$2"
			start_service
			echo "-- service_triggers"
			service_triggers
		' hubagent-init-test "$STUB" "$INIT" >"$TMP/$name/got" 2>&1 || {
			echo "FAIL [$sh] $name: start_service exited non-zero" >&2
			cat "$TMP/$name/got" >&2
			fails=$((fails + 1))
			continue
		}
		if diff -u "$want" "$TMP/$name/got" >"$TMP/$name/diff"; then
			echo "ok   [$sh] procd init: $name"
		else
			echo "FAIL [$sh] procd init: $name (want -, got +)" >&2
			cat "$TMP/$name/diff" >&2
			fails=$((fails + 1))
		fi
	done
}

# 1. The UCI file the package installs; the hubagent account exists.
cat >"$TMP/want-default" <<'EOF2'
config_load [hubagent]
mkdir [-p] [/etc/hubagent/data]
chown [-R] [hubagent:hubagent] [/etc/hubagent/data]
chmod [0750] [/etc/hubagent/data]
procd_open_instance
procd_set_param [command] [/usr/bin/hubagent] [run] [--data] [/etc/hubagent/data]
procd_set_param [env] [GOMEMLIMIT=48MiB]
procd_append_param [env] [HUBAGENT_LOG_LEVEL=info]
procd_set_param [user] [hubagent]
procd_set_param [limits] [nofile=8192 8192]
procd_set_param [respawn] [3600] [5] [0]
procd_set_param [stdout] [1]
procd_set_param [stderr] [1]
procd_set_param [file] [/etc/config/hubagent]
procd_set_param [term_timeout] [20]
procd_close_instance
-- service_triggers
procd_add_reload_trigger [hubagent]
EOF2
run_case default "$UCI_DEFAULT" "root hubagent" "$TMP/want-default"

# 2. Every kind of option: TOML file, memory limit, booleans in UCI
#    spellings, a list, a value with spaces, root account.
cat >"$TMP/uci-full" <<'EOF2'
config hubagent 'main'
	option enabled 'yes'
	option data_dir '/srv/hubagent'
	option memory_limit '32MiB'
	option user 'root'
	option config_file '/etc/hubagent/hubagent.toml'
	option log_stdout '0'

config log 'log'
	option level 'debug'
	option format 'json'

config api 'api'
	option listen '192.168.1.1:8443'

config mqtt 'mqtt'
	option broker 'tcp://192.168.1.10:1883'
	option username 'hub'
	option password 'se cret $x'
	option discovery_prefix 'ha'

config mdns 'mdns'
	option enabled 'off'
	list interfaces 'br-lan'
	list interfaces 'wlan0'

config tunnel 'tunnel'
	option relay 'relay.example.net:22'
	option accept_new 'on'
	option public_url 'https://hub-1.relay.example.net'
EOF2
cat >"$TMP/want-full" <<'EOF2'
config_load [hubagent]
mkdir [-p] [/srv/hubagent]
chown [-R] [root:root] [/srv/hubagent]
chmod [0750] [/srv/hubagent]
procd_open_instance
procd_set_param [command] [/usr/bin/hubagent] [run] [--data] [/srv/hubagent]
procd_append_param [command] [--config] [/etc/hubagent/hubagent.toml]
procd_set_param [env] [GOMEMLIMIT=32MiB]
procd_append_param [env] [HUBAGENT_LOG_LEVEL=debug]
procd_append_param [env] [HUBAGENT_LOG_FORMAT=json]
procd_append_param [env] [HUBAGENT_API_LISTEN=192.168.1.1:8443]
procd_append_param [env] [HUBAGENT_MQTT_BROKER=tcp://192.168.1.10:1883]
procd_append_param [env] [HUBAGENT_MQTT_USERNAME=hub]
procd_append_param [env] [HUBAGENT_MQTT_PASSWORD=se cret $x]
procd_append_param [env] [HUBAGENT_MQTT_DISCOVERY_PREFIX=ha]
procd_append_param [env] [HUBAGENT_MDNS_ENABLED=false]
procd_append_param [env] [HUBAGENT_MDNS_INTERFACES=br-lan,wlan0]
procd_append_param [env] [HUBAGENT_TUNNEL_RELAY=relay.example.net:22]
procd_append_param [env] [HUBAGENT_TUNNEL_ACCEPT_NEW=true]
procd_append_param [env] [HUBAGENT_TUNNEL_PUBLIC_URL=https://hub-1.relay.example.net]
procd_set_param [limits] [nofile=8192 8192]
procd_set_param [respawn] [3600] [5] [0]
procd_set_param [stdout] [0]
procd_set_param [stderr] [0]
procd_set_param [file] [/etc/config/hubagent]
procd_append_param [file] [/etc/hubagent/hubagent.toml]
procd_set_param [term_timeout] [20]
procd_close_instance
-- service_triggers
procd_add_reload_trigger [hubagent]
EOF2
run_case full "$TMP/uci-full" "root" "$TMP/want-full"

# 3. First start on a fresh system: the account is created.
cat >"$TMP/want-newuser" <<'EOF2'
config_load [hubagent]
group_add_next [hubagent]
user_add [hubagent] [] [65536] [hubagent] [/var/run/hubagent] [/bin/false]
EOF2
# (then the same as case 1)
tail -n +2 "$TMP/want-default" >>"$TMP/want-newuser"
run_case newuser "$UCI_DEFAULT" "root" "$TMP/want-newuser"

# 4. Disabled in UCI: no instance.
sed "s/option enabled '1'/option enabled '0'/" "$UCI_DEFAULT" >"$TMP/uci-off"
grep -q "option enabled '0'" "$TMP/uci-off"
cat >"$TMP/want-off" <<'EOF2'
config_load [hubagent]
hubagent is disabled in /etc/config/hubagent (main.enabled=0)
-- service_triggers
procd_add_reload_trigger [hubagent]
EOF2
run_case disabled "$TMP/uci-off" "root hubagent" "$TMP/want-off"

if [ "$fails" -ne 0 ]; then
	echo "procd init script: $fails case(s) FAILED" >&2
	exit 1
fi
echo "procd init script: all cases passed (${SHELLS[*]})"
