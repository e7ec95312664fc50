package metrics

import (
	"bytes"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
)

// registerRuntime adds the Go runtime's and the process's figures, under
// the names the Prometheus client's collectors use, so dashboards keep
// working, plus the resident memory split three ways: the binary's pages,
// the Go runtime's, and what neither accounts for (SQLite's heap).
func registerRuntime(m *Metrics) {
	rt := func(name string) func() float64 {
		return func() float64 { return readRuntime(name) }
	}
	m.Gauge("go_goroutines", "Number of goroutines that currently exist.", rt("/sched/goroutines:goroutines"))
	m.Gauge("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", rt("/memory/classes/heap/objects:bytes"))
	m.Gauge("go_memstats_sys_bytes", "Bytes of memory obtained from the OS by the Go runtime.", rt("/memory/classes/total:bytes"))
	m.Gauge("go_memstats_heap_released_bytes", "Heap bytes returned to the OS.", rt("/memory/classes/heap/released:bytes"))
	m.Gauge("go_memstats_heap_inuse_bytes", "Bytes in in-use spans: heap objects plus the unused rest of their spans (fragmentation).",
		sum("/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"))
	m.Gauge("go_memstats_heap_idle_bytes", "Bytes in idle spans, free and released.",
		sum("/memory/classes/heap/free:bytes", "/memory/classes/heap/released:bytes"))
	m.Gauge("go_memstats_stack_inuse_bytes", "Bytes in goroutine and OS thread stacks.",
		sum("/memory/classes/heap/stacks:bytes", "/memory/classes/os-stacks:bytes"))
	m.Gauge("go_memstats_gc_sys_bytes", "Bytes of the runtime's metadata: spans, caches, GC bitmaps and other.",
		sum("/memory/classes/metadata/mcache/free:bytes", "/memory/classes/metadata/mcache/inuse:bytes",
			"/memory/classes/metadata/mspan/free:bytes", "/memory/classes/metadata/mspan/inuse:bytes",
			"/memory/classes/metadata/other:bytes", "/memory/classes/other:bytes", "/memory/classes/profiling/buckets:bytes"))
	m.Gauge("go_gc_gomemlimit_bytes", "The Go runtime's memory limit (GOMEMLIMIT).", rt("/gc/gomemlimit:bytes"))
	m.Counter("go_memstats_alloc_bytes_total", "Total number of bytes allocated, even if freed.", rt("/gc/heap/allocs:bytes"))
	m.Counter("go_gc_cycles_total", "Completed GC cycles.", rt("/gc/cycles/total:gc-cycles"))
	if _, err := os.Stat("/proc/self/statm"); err != nil {
		return // not Linux: no process figures
	}
	m.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", func() float64 {
		return statm().rss
	})
	m.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", func() float64 {
		return statm().vsz
	})
	m.Counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds.", cpuSeconds)
	m.Gauge("process_open_fds", "Open file descriptors.", func() float64 {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return 0
		}
		return float64(len(ents))
	})
	m.Gauge("hubagent_memory_resident_file_bytes",
		"Resident memory backed by files, mostly the binary's own pages: shared with the page cache, and the kernel may drop them under pressure.",
		func() float64 { return statm().shared })
	m.Gauge("hubagent_memory_go_bytes",
		"Memory the Go runtime has mapped and not released: heap (objects, free and fragmented spans), goroutine stacks, runtime metadata.",
		goMapped)
	m.Gauge("hubagent_memory_outside_go_bytes",
		"Anonymous resident memory the Go runtime does not account for (SQLite's page caches, schema and statements live here): RSS minus file-backed pages minus what the Go runtime has mapped (less the memory profiler's untouched table); a lower bound, never below 0.",
		func() float64 {
			s := statm()
			return max(s.rss-s.shared-goResident(), 0)
		})
}

// goResident is goMapped less the memory profiler's hash table (1.4 MB
// on 64-bit), which the runtime maps at start but never touches when
// memory profiling is off, as in the agent (no pprof is linked in).
// Other runtime metadata is counted as mapped too though partly
// untouched, so the outside-Go figure stays a lower bound.
func goResident() float64 {
	m := goMapped()
	if runtime.MemProfileRate == 0 {
		m -= readRuntime("/memory/classes/profiling/buckets:bytes")
	}
	return m
}

// goMapped is what the Go runtime has mapped and not given back.
func goMapped() float64 {
	return readRuntime("/memory/classes/total:bytes") - readRuntime("/memory/classes/heap/released:bytes")
}

// sum reads several runtime figures as one gauge.
func sum(names ...string) func() float64 {
	return func() float64 {
		t := 0.0
		for _, n := range names {
			t += readRuntime(n)
		}
		return t
	}
}

func readRuntime(name string) float64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	switch s[0].Value.Kind() {
	case metrics.KindUint64:
		return float64(s[0].Value.Uint64())
	case metrics.KindFloat64:
		return s[0].Value.Float64()
	}
	return 0
}

// statmFigures are /proc/self/statm's sizes in bytes.
type statmFigures struct {
	rss, vsz float64
	shared   float64 // resident file-backed and shared memory (RssFile + RssShmem)
}

// statm reads /proc/self/statm: size resident shared text lib data dt, in pages.
func statm() statmFigures {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return statmFigures{}
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return statmFigures{}
	}
	page := float64(os.Getpagesize())
	size, _ := strconv.ParseFloat(string(f[0]), 64)
	res, _ := strconv.ParseFloat(string(f[1]), 64)
	shared, _ := strconv.ParseFloat(string(f[2]), 64)
	return statmFigures{rss: res * page, vsz: size * page, shared: shared * page}
}

// userHZ is the unit of the CPU times in /proc/<pid>/stat; 100 on every
// Linux architecture the agent ships for.
const userHZ = 100

// cpuSeconds reads utime + stime from /proc/self/stat. The command name
// (field 2) may hold spaces and parentheses, so fields are counted from the
// last ')'.
func cpuSeconds() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	// After the name: state is field 3, utime field 14, stime field 15.
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(string(f[11]), 64)
	st, _ := strconv.ParseFloat(string(f[12]), 64)
	return (ut + st) / userHZ
}
