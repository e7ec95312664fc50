//go:build !(linux && (amd64 || arm64 || arm || 386 || loong64 || ppc64le || riscv64 || s390x))

package store

// ReleaseMemory is a no-op where libc's allocator is not the one the
// Linux build reaches (sqlite_trim_linux.go).
func ReleaseMemory() error { return nil }
