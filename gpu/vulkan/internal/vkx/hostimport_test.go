//go:build cgo && !novulkan

package vkx

import (
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// TestImportHost imports host memory at offsets within its pages on a
// device with VK_EXT_external_memory_host (lavapipe): commands write the
// host bytes in place, at the buffer's byte 0 = the slice's first byte,
// and no byte outside the ranges they name changes; a start off the
// alignment asked for, or no bytes, is an error. The validation layer
// must stay silent.
func TestImportHost(t *testing.T) {
	in, m, _, s := open(t)
	if !m.HostImport() {
		if m.Phys.Type == CPU {
			t.Fatalf("%s has no %s", m.Phys.Name, ExtExternalMemoryHost)
		}
		t.Skipf("%s has no %s", m.Phys.Name, ExtExternalMemoryHost)
	}
	if a := m.Phys.HostImportAlign; a == 0 || a&(a-1) != 0 {
		t.Fatalf("minImportedHostPointerAlignment %d", a)
	}
	t.Logf("minImportedHostPointerAlignment %d", m.Phys.HostImportAlign)
	const align, n = 128, 3 * 4096
	page := int(m.Phys.HostImportAlign)
	mem := make([]byte, 4*page+n)
	var pin runtime.Pinner
	pin.Pin(&mem[0])
	defer pin.Unpin()
	base := -int(uintptr(unsafe.Pointer(&mem[0])) % uintptr(page))
	if base < 0 {
		base += page
	}
	for _, off := range []int{0, align, page - align, page + 3*align} {
		for i := range mem {
			mem[i] = 0x5a
		}
		b := mem[base+off : base+off+n]
		buf, err := m.ImportHost(b, align)
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		if buf.Size != n || buf.Bytes%uint64(page) != 0 {
			t.Errorf("offset %d: buffer of %d bytes, import of %d", off, buf.Size, buf.Bytes)
		}
		if err := s.Fill(buf, 4, n-8, 0x01020304); err != nil {
			t.Fatal(err)
		}
		if err := s.Submit(); err != nil {
			t.Fatal(err)
		}
		buf.Destroy()
		for i, v := range mem {
			want := byte(0x5a)
			if j := i - base - off; j >= 4 && j < n-4 {
				want = byte(4 - j%4)
			}
			if v != want {
				t.Fatalf("offset %d: byte %d of the slice is %#x, want %#x", off, i-base-off, v, want)
			}
		}
	}
	if _, err := m.ImportHost(mem[base+4:base+4+n], align); err == nil {
		t.Error("an import off the alignment asked for: no error")
	}
	if _, err := m.ImportHost(mem[:0], align); err == nil {
		t.Error("an import of no bytes: no error")
	}
	if msgs := in.Messages.All(); len(msgs) > 0 {
		t.Errorf("the validation layer reported:\n%s", strings.Join(msgs, "\n"))
	}
}
