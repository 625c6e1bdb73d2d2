package driver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gpudropout/dropout"
)

// SelectDevice returns the index in devs of the device that sel
// (dropout.Options.Device) names, with the one rule every backend of this
// module follows:
//
//   - "" selects the first device (backends list their best first);
//   - a decimal number selects that index;
//   - anything else selects the first device one of whose names contains
//     sel, ignoring case: its Name, its Platform, and the extra names
//     aliases returns for it (a vendor, "cpu"); aliases may be nil.
//
// When nothing matches it returns an *dropout.UnavailableError that lists
// the devices there are.
func SelectDevice(backend string, devs []dropout.DeviceInfo, sel string, aliases func(i int) []string) (int, error) {
	if len(devs) == 0 {
		return 0, &dropout.UnavailableError{Backend: backend, Reason: "no devices found"}
	}
	if sel == "" {
		return 0, nil
	}
	if i, err := strconv.Atoi(sel); err == nil {
		if i < 0 || i >= len(devs) {
			return 0, &dropout.UnavailableError{Backend: backend,
				Reason: fmt.Sprintf("no device %d (have %d: %s)", i, len(devs), list(devs))}
		}
		return i, nil
	}
	s := strings.ToLower(sel)
	for i, d := range devs {
		names := []string{d.Name, d.Platform}
		if aliases != nil {
			names = append(names, aliases(i)...)
		}
		for _, n := range names {
			if n != "" && strings.Contains(strings.ToLower(n), s) {
				return i, nil
			}
		}
	}
	return 0, &dropout.UnavailableError{Backend: backend,
		Reason: fmt.Sprintf("no device matches %q (have %s)", sel, list(devs))}
}

func list(devs []dropout.DeviceInfo) string {
	var b strings.Builder
	for i, d := range devs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d: %q", i, d.Name)
		if d.Platform != "" {
			fmt.Fprintf(&b, " on %q", d.Platform)
		}
	}
	return b.String()
}
