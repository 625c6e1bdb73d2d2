//go:build cgo && !novulkan

package vkx

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

// struct mallinfo2 of glibc 2.33 and later.
struct vkxMallinfo2 {
	size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};

// vkxMallocInUse returns the bytes the C heap has handed out and not taken
// back (glibc's mallinfo2 uordblks + hblkhd), or -1 without mallinfo2.
static int64_t vkxMallocInUse(void) {
	struct vkxMallinfo2 (*f)(void) = (struct vkxMallinfo2 (*)(void))dlsym(RTLD_DEFAULT, "mallinfo2");
	if (f == NULL) {
		return -1;
	}
	struct vkxMallinfo2 m = f();
	return (int64_t)(m.uordblks + m.hblkhd);
}
*/
import "C"

// MallocInUse returns the bytes of C heap memory in use in this process
// (glibc's mallinfo2: uordblks + hblkhd), or -1 where the C library lacks
// mallinfo2. Tests use it to bound leaks of C allocations.
func MallocInUse() int64 { return int64(C.vkxMallocInUse()) }
