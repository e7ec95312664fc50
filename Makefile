# hubagent build entry points. Versions: git describe (else 0.0.0-dev), see
# packaging/version.sh; override with e.g. `make packages VERSION=1.2.3`.
GO ?= go

export GO VERSION COMMIT DATE PKG_VERSION APK_VERSION APK_RELEASE APK APK_SIGN_KEY ARCHES FORMATS DIST

.PHONY: all build test packages binaries test-packages test-qemu clean

all: build

# Host binary, stripped and version-stamped -> dist/hubagent
build:
	packaging/build.sh build

# The whole test suite on a fresh machine: installs the real parts the tests
# use (mosquitto, sshd, chromium, avahi, qemu-user), then runs every test.
test:
	scripts/test-deps.sh
	$(GO) test ./...

# Static binaries for amd64, arm64, armv7 -> dist/hubagent_linux_<arch>
binaries:
	packaging/build.sh binaries

# Binaries + .deb (amd64, arm64, armhf) + .ipk and .apk (OpenWrt 25.12, apk v3)
# for x86_64, aarch64_cortex-a53, aarch64_generic, arm_cortex-a7_neon-vfpv4
# -> dist/. APK_SIGN_KEY=key.pem signs the .apk.
packages:
	packaging/build.sh packages

# Checks of the packages in dist/ (run after `make packages`).
test-packages:
	packaging/test-packages.sh

# Cross-architecture unit tests under qemu-user.
test-qemu:
	packaging/test-qemu.sh

clean:
	rm -rf dist
