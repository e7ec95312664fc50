//go:build linux && (amd64 || arm64 || arm || 386 || loong64 || ppc64le || riscv64 || s390x)

package store

import (
	"sync"
	_ "unsafe" // go:linkname

	"modernc.org/memory"
)

// modernc's libc serves SQLite's malloc from one memory.Allocator, which
// keeps the regions SQLite frees mapped and resident for reuse (up to
// 4 MiB per size class). After the start-up burst that is ~3.5 MB of
// RSS at 1,000 devices holding nothing. memory.Allocator has a Trim that
// gives them back, but libc does not export its allocator, so the store
// reaches it by name. These are the two variables of libc_musl.go (the
// libc used on these platforms); a libc release that renames them fails
// the link, and TestReleaseMemoryGivesSQLitesFreedPagesBack pins the
// effect.

//go:linkname libcAllocator modernc.org/libc.allocator
var libcAllocator memory.Allocator

//go:linkname libcAllocatorMu modernc.org/libc.allocatorMu
var libcAllocatorMu sync.Mutex

// ReleaseMemory returns to the OS the memory SQLite has freed and the
// allocator still holds. Pages with live allocations stay; the next
// allocation maps afresh, so this is for after a burst, not a hot path.
func ReleaseMemory() error {
	libcAllocatorMu.Lock()
	defer libcAllocatorMu.Unlock()
	return libcAllocator.Trim()
}
