// Package memlimit tells how much memory this process may still allocate,
// so that callers can refuse an allocation with a clear error instead of
// being killed by the kernel's OOM killer.
//
// The figure is the smallest of the kernel's MemAvailable and, for every
// cgroup the process is in (v1 memory controller or v2 unified hierarchy,
// and each of their ancestors that is visible), the cgroup's limit minus
// its current usage.
package memlimit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Limit is the memory a process may still allocate, and what bounds it.
type Limit struct {
	Bytes  int64  // bytes still available; -1 when nothing could be read
	Source string // what bounds it: "MemAvailable", "cgroup memory.max", …
}

// System reads the limit from the running system's /proc and /sys/fs/cgroup.
func System() Limit { return Read("/") }

// Read reads the limit from a file system rooted at root ("/" for the
// running system; tests pass a directory with fake proc and sys files).
func Read(root string) Limit {
	l := Limit{Bytes: -1}
	if v, err := memAvailable(filepath.Join(root, "proc/meminfo")); err == nil {
		l = Limit{Bytes: v, Source: "MemAvailable in /proc/meminfo"}
	}
	for _, c := range cgroupLimits(root) {
		if l.Bytes < 0 || c.Bytes < l.Bytes {
			l = c
		}
	}
	return l
}

// String formats the limit for an error message.
func (l Limit) String() string {
	if l.Bytes < 0 {
		return "unknown"
	}
	return fmt.Sprintf("%s available (%s)", Bytes(l.Bytes), l.Source)
}

// Check returns nil when need bytes fit in the limit (or the limit is
// unknown), and otherwise an error naming what was wanted, both numbers
// and what bounds the memory. The error wraps errOOM, which callers pass
// as the sentinel to wrap (dropout.ErrOutOfMemory).
func (l Limit) Check(errOOM error, what string, need int64) error {
	if l.Bytes < 0 || need <= l.Bytes {
		return nil
	}
	return fmt.Errorf("%w: %s needs %s, but only %s", errOOM, what, Bytes(need), l)
}

// Bytes formats n bytes with a binary unit and the exact count.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%d bytes)", float64(n)/float64(div), "KMGTPE"[exp], n)
}

func memAvailable(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no MemAvailable line")
}

// cgroupLimits returns limit−usage for each visible memory cgroup of the
// process and its ancestors.
func cgroupLimits(root string) []Limit {
	data, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return nil
	}
	var out []Limit
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, path := parts[1], parts[2]
		switch {
		case ctrls == "": // v2 unified hierarchy
			out = append(out, walk(root, "sys/fs/cgroup", path, "memory.max", "memory.current", "cgroup memory.max")...)
			// Hybrid systems mount v2 at /sys/fs/cgroup/unified.
			out = append(out, walk(root, "sys/fs/cgroup/unified", path, "memory.max", "memory.current", "cgroup memory.max")...)
		case hasController(ctrls, "memory"): // v1
			out = append(out, walk(root, "sys/fs/cgroup/memory", path, "memory.limit_in_bytes", "memory.usage_in_bytes", "cgroup memory.limit_in_bytes")...)
		}
	}
	return out
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// walk reads limit and usage files in the cgroup directory of path under
// mount and in each of its ancestors up to the mount. Inside a container
// the path may not exist under the mount (the mount is the container's own
// cgroup); then the mount's own files are read.
func walk(root, mount, path, limitFile, usageFile, source string) []Limit {
	base := filepath.Join(root, mount)
	if _, err := os.Stat(base); err != nil {
		return nil
	}
	dir := filepath.Join(base, filepath.Clean("/"+path))
	if _, err := os.Stat(dir); err != nil {
		dir = base
	}
	var out []Limit
	for {
		if lim, ok := readInt(filepath.Join(dir, limitFile)); ok {
			// v1 writes "no limit" as a huge page-rounded number.
			if lim < 1<<62 {
				use, _ := readInt(filepath.Join(dir, usageFile))
				avail := max(lim-use, 0)
				out = append(out, Limit{Bytes: avail, Source: fmt.Sprintf("%s %s, %s in use", source, Bytes(lim), Bytes(use))})
			}
		}
		if dir == base {
			return out
		}
		dir = filepath.Dir(dir)
	}
}

// readInt reads a file holding one integer; "max" (no limit) is ok == false.
func readInt(path string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(data))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}
