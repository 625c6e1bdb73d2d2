package memlimit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const meminfo = "MemTotal:       24000000 kB\nMemFree:         1000 kB\nMemAvailable:   20000000 kB\n"

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		files  map[string]string
		want   int64
		source string
	}{
		{"meminfo only", map[string]string{"proc/meminfo": meminfo}, 20000000 * 1024, "MemAvailable"},
		{"nothing readable", map[string]string{}, -1, ""},
		{"v1 unlimited", map[string]string{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": "4:memory:/a/b\n0::/\n",
			"sys/fs/cgroup/memory/a/b/memory.limit_in_bytes": "9223372036854771712\n",
			"sys/fs/cgroup/memory/a/b/memory.usage_in_bytes": "100\n",
		}, 20000000 * 1024, "MemAvailable"},
		{"v1 limited", map[string]string{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": "4:cpu,memory:/a/b\n",
			"sys/fs/cgroup/memory/a/b/memory.limit_in_bytes": "1073741824\n",
			"sys/fs/cgroup/memory/a/b/memory.usage_in_bytes": "73741824\n",
		}, 1000000000, "memory.limit_in_bytes"},
		{"v1 parent tighter", map[string]string{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": "4:memory:/a/b\n",
			"sys/fs/cgroup/memory/a/b/memory.limit_in_bytes": "1073741824\n",
			"sys/fs/cgroup/memory/a/b/memory.usage_in_bytes": "0\n",
			"sys/fs/cgroup/memory/a/memory.limit_in_bytes":   "5000\n",
			"sys/fs/cgroup/memory/a/memory.usage_in_bytes":   "1000\n",
		}, 4000, "memory.limit_in_bytes"},
		{"v2 limited", map[string]string{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": "0::/user.slice/x.scope\n",
			"sys/fs/cgroup/user.slice/x.scope/memory.max":     "2147483648\n",
			"sys/fs/cgroup/user.slice/x.scope/memory.current": "1073741824\n",
			"sys/fs/cgroup/user.slice/memory.max":             "max\n",
		}, 1 << 30, "memory.max"},
		{"v2 in a container (path not visible)", map[string]string{
			"proc/meminfo":                 meminfo,
			"proc/self/cgroup":             "0::/kubepods/pod1/c1\n",
			"sys/fs/cgroup/memory.max":     "536870912\n",
			"sys/fs/cgroup/memory.current": "0\n",
		}, 512 << 20, "memory.max"},
		{"v2 max", map[string]string{
			"proc/meminfo":                 meminfo,
			"proc/self/cgroup":             "0::/\n",
			"sys/fs/cgroup/memory.max":     "max\n",
			"sys/fs/cgroup/memory.current": "5\n",
		}, 20000000 * 1024, "MemAvailable"},
		{"usage above limit", map[string]string{
			"proc/meminfo":                 meminfo,
			"proc/self/cgroup":             "0::/\n",
			"sys/fs/cgroup/memory.max":     "100\n",
			"sys/fs/cgroup/memory.current": "200\n",
		}, 0, "memory.max"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, tc.files)
			l := Read(root)
			if l.Bytes != tc.want || !strings.Contains(l.Source, tc.source) {
				t.Errorf("Read = %d (%q), want %d (%q)", l.Bytes, l.Source, tc.want, tc.source)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	oom := errors.New("oom")
	l := Limit{Bytes: 1 << 30, Source: "cgroup memory.max"}
	if err := l.Check(oom, "x", 1<<30); err != nil {
		t.Errorf("Check of exactly the limit: %v", err)
	}
	err := l.Check(oom, "a float32 buffer of 2^40 elements", 1<<42)
	if !errors.Is(err, oom) {
		t.Fatalf("Check beyond the limit: %v, want the sentinel", err)
	}
	for _, want := range []string{"4.0 TiB", "4398046511104 bytes", "1.0 GiB", "cgroup memory.max", "2^40 elements"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := (Limit{Bytes: -1}).Check(oom, "x", 1<<62); err != nil {
		t.Errorf("unknown limit: %v", err)
	}
}

func TestSystem(t *testing.T) {
	l := System()
	if l.Bytes <= 0 {
		t.Fatalf("System() = %+v; this machine has /proc/meminfo", l)
	}
}
