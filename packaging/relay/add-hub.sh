#!/usr/bin/env bash
# add-hub.sh: let one hub in. Run as root on the relay:
#
#   add-hub.sh DOMAIN < line
#
# where line is the output of 'hubagent tunnel pubkey' on the hub:
#   restrict,port-forwarding,permitlisten="127.0.0.1:20001" ssh-ed25519 AAAA... hubagent-<hubId>
# It replaces any earlier line of the same hub in authorized_keys, maps
# hub-<hubId>.DOMAIN to the port in permitlisten, and reloads nginx. Run it
# again with a new line to move the hub to another port or key.
set -euo pipefail

keys=${HUBAGENT_RELAY_KEYS:-/etc/hubagent-relay/authorized_keys}
map=${HUBAGENT_RELAY_MAP:-/etc/hubagent-relay/hubs.map}
reload=${HUBAGENT_RELAY_RELOAD:-nginx -t -q && systemctl reload nginx}

die() { echo "add-hub: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: add-hub.sh DOMAIN < line-from-hubagent-tunnel-pubkey"
domain=$1
[[ $domain =~ ^[A-Za-z0-9.-]+$ ]] || die "bad domain: $domain"

IFS= read -r line || die "no key line on stdin"
re='^restrict,port-forwarding,permitlisten="127\.0\.0\.1:([0-9]{1,5})" (ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) ([A-Za-z0-9+/=]+) hubagent-([0-9a-f]{16})$'
[[ $line =~ $re ]] || die "not a line from 'hubagent tunnel pubkey' with a 127.0.0.1 port: $line"
port=${BASH_REMATCH[1]}
hub=${BASH_REMATCH[4]}
[ "$port" -ge 1024 ] && [ "$port" -le 65535 ] || die "port $port out of range"
host="hub-$hub.$domain"

mkdir -p "$(dirname "$keys")" "$(dirname "$map")"
touch "$keys" "$map"
# A port belongs to one hub only.
if other=$(grep -F "permitlisten=\"127.0.0.1:$port\"" "$keys" | grep -v " hubagent-$hub\$"); then
  die "port $port is already assigned: $other"
fi

tmp=$(mktemp "$keys.XXXXXX")
trap 'rm -f "$tmp" "$tmp.map"' EXIT
{ grep -v " hubagent-$hub\$" "$keys" || true; echo "$line"; } >"$tmp"
chmod 644 "$tmp"
mv "$tmp" "$keys"

{ grep -v "^$host " "$map" || true; echo "$host 127.0.0.1:$port;"; } >"$tmp.map"
chmod 644 "$tmp.map"
mv "$tmp.map" "$map"

eval "$reload"
echo "add-hub: $host -> 127.0.0.1:$port"
