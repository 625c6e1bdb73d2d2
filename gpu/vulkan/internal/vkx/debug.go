//go:build cgo && !novulkan

package vkx

/*
#include <stdint.h>
#include <stdlib.h>

// VkValidationFeaturesEXT, laid out as in vulkan_core.h (vulkan-go's
// headers predate it).
typedef struct {
	int32_t sType;
	const void *pNext;
	uint32_t enabledValidationFeatureCount;
	const int32_t *pEnabledValidationFeatures;
	uint32_t disabledValidationFeatureCount;
	const int32_t *pDisabledValidationFeatures;
} vkxValidationFeatures;

// VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT
static const int32_t vkxEnables[1] = {4};
static vkxValidationFeatures vkxFeatures = {1000247000, NULL, 1, vkxEnables, 0, NULL};

static void *vkxSyncValidation(void) { return &vkxFeatures; }

static int64_t *vkxNewID(int64_t id) {
	int64_t *p = malloc(sizeof *p);
	if (p != NULL) {
		*p = id;
	}
	return p;
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// ValidationLayer is the Khronos validation layer (Debian vulkan-validationlayers).
const ValidationLayer = "VK_LAYER_KHRONOS_validation"

const (
	extDebugReport        = "VK_EXT_debug_report"
	extValidationFeatures = "VK_EXT_validation_features"
)

// Messages collects the validation layer's errors and warnings for one
// instance. It is safe for concurrent use.
type Messages struct {
	mu   sync.Mutex
	msgs []string
}

// add records one message.
func (m *Messages) add(s string) {
	m.mu.Lock()
	m.msgs = append(m.msgs, s)
	m.mu.Unlock()
}

// All returns every message so far.
func (m *Messages) All() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.msgs...)
}

// Since returns the messages after the first n.
func (m *Messages) Since(n int) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n >= len(m.msgs) {
		return nil
	}
	return append([]string(nil), m.msgs[n:]...)
}

// vulkan-go keeps a single Go debug-report callback for the process, so
// one dispatcher routes messages to their instance's collector by the id
// in pUserData.
var (
	createMu     sync.Mutex // vk.CreateDebugReportCallback
	collectorsMu sync.Mutex
	collectors   = map[int64]*Messages{}
	nextID       int64
)

func dispatch(flags vk.DebugReportFlags, _ vk.DebugReportObjectType, _ uint64, _ uint, code int32, prefix, msg string, user unsafe.Pointer) vk.Bool32 {
	if user == nil {
		return vk.False
	}
	id := *(*int64)(user)
	collectorsMu.Lock()
	m := collectors[id]
	collectorsMu.Unlock()
	if m != nil {
		m.add(fmt.Sprintf("%s %s: %s", severity(flags), prefix, msg))
	}
	return vk.False
}

func severity(f vk.DebugReportFlags) string {
	switch {
	case f&vk.DebugReportFlags(vk.DebugReportErrorBit) != 0:
		return "error"
	case f&vk.DebugReportFlags(vk.DebugReportPerformanceWarningBit) != 0:
		return "performance warning"
	case f&vk.DebugReportFlags(vk.DebugReportWarningBit) != 0:
		return "warning"
	}
	return "info"
}

// syncValidation returns the C VkValidationFeaturesEXT that turns on
// synchronization validation, for VkInstanceCreateInfo.pNext.
func syncValidation() unsafe.Pointer { return C.vkxSyncValidation() }

// debugReport is an installed debug-report callback.
type debugReport struct {
	cb vk.DebugReportCallback
	id *C.int64_t
}

func newDebugReport(inst vk.Instance, m *Messages) (*debugReport, error) {
	collectorsMu.Lock()
	nextID++
	id := nextID
	collectors[id] = m
	collectorsMu.Unlock()
	p := C.vkxNewID(C.int64_t(id))
	if p == nil {
		return nil, fmt.Errorf("vkx: out of host memory")
	}
	info := vk.DebugReportCallbackCreateInfo{
		SType: vk.StructureTypeDebugReportCallbackCreateInfo,
		Flags: vk.DebugReportFlags(vk.DebugReportErrorBit | vk.DebugReportWarningBit |
			vk.DebugReportPerformanceWarningBit),
		PfnCallback: dispatch,
		PUserData:   unsafe.Pointer(p),
	}
	d := &debugReport{id: p}
	var cb vk.DebugReportCallback
	// vulkan-go stores the Go callback in a global on first use, unlocked:
	// creations are serialized so that concurrent Opens do not race on it.
	createMu.Lock()
	r := vk.CreateDebugReportCallback(inst, &info, nil, &cb)
	createMu.Unlock()
	info.Free() // vulkan-go's C copy of the create info, which it would leak
	if err := check("vkCreateDebugReportCallbackEXT", r); err != nil {
		d.free()
		return nil, err
	}
	d.cb = cb
	return d, nil
}

func (d *debugReport) destroy(inst vk.Instance) {
	vk.DestroyDebugReportCallback(inst, d.cb, nil)
	d.free()
}

func (d *debugReport) free() {
	if d.id != nil {
		collectorsMu.Lock()
		delete(collectors, int64(*d.id))
		collectorsMu.Unlock()
		C.free(unsafe.Pointer(d.id))
		d.id = nil
	}
}

// Inject records a message as if the layer had sent it (for tests of the
// code that reacts to messages).
func (m *Messages) Inject(s string) { m.add(s) }

// Reset forgets every message.
func (m *Messages) Reset() {
	m.mu.Lock()
	m.msgs = nil
	m.mu.Unlock()
}
