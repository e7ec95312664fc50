#!/usr/bin/env bash
# Installs the real parts the test suite runs against (Debian packages):
# mosquitto, OpenSSH's sshd, nginx, PostgreSQL, headless Chromium, Avahi,
# iproute2, qemu-user and the packaging tools. Skips the install when everything is present.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
have mosquitto               || need+=(mosquitto mosquitto-clients)
have /usr/sbin/sshd          || need+=(openssh-server)
have ssh-keygen              || need+=(openssh-client)
have chromium                || need+=(chromium)
have avahi-publish           || need+=(avahi-daemon avahi-utils)
have dbus-daemon             || need+=(dbus-daemon)  # the mDNS tests run a private bus for Avahi
have ip                      || need+=(iproute2)
have qemu-aarch64-static     || need+=(qemu-user-static)
have file                    || need+=(file)
have dpkg-deb                || need+=(dpkg-dev)
have systemd-analyze         || need+=(systemd)
have busybox                 || need+=(busybox)
have nginx                   || need+=(nginx)        # the relay tests run the packaged nginx block
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)  # relay fleet registry tests
have strip                   || need+=(binutils)
# Independent HTTP clients for the early-answer test (cmd/hubagent).
have python3                 || need+=(python3)
have node                    || need+=(nodejs)
have curl                    || need+=(curl)
# OpenWrt 25.12 packages: apk-tools 3 is built from source (packaging/apk-tools.sh)
have cc                      || need+=(gcc libc6-dev)
have meson                   || need+=(meson)
have ninja                   || need+=(ninja-build)
have pkg-config              || need+=(pkg-config)
pc() { pkg-config --exists "$1" 2>/dev/null; }
pc openssl                   || need+=(libssl-dev)
pc zlib                      || need+=(zlib1g-dev)
pc libzstd                   || need+=(libzstd-dev)
have openssl                 || need+=(openssl)
have jq                      || need+=(jq)
[ -e /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "test-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
