package exec

import "unsafe"

// MinMapBytes is the smallest host tensor a call uses in place on a
// HostMapper device; smaller ones are staged (a copy costs less than the
// mapping).
const MinMapBytes = 64 << 10

// MapAlign is the alignment of the host tensors a call uses in place, in
// bytes: that of a device allocation (CL_DEVICE_MEM_BASE_ADDR_ALIGN is
// 1024 bits on common devices), on which kernels make 16-byte vector
// loads from element offsets that are multiples of 4. Go allocates large
// slices on pages; a tensor that starts elsewhere is staged.
const MapAlign = 128

// mapHost maps the call's large host operands as device memory where the
// device can use host memory in place: the call then runs on them as on
// buffers. A host mask, or 16-bit data on a WordData device, is mapped
// only where the whole words the kernels touch are its own. The same host
// bytes twice (dst in place of x) map once.
func (c *call) mapHost(b *operand) error {
	q := c.q
	hm, ok := q.e.dev.(HostMapper)
	if !ok || !q.e.info.HostMemory || q.async {
		return nil
	}
	ops := []*operand{&c.y, &c.x, &c.r, b, &c.m}
	for i, o := range ops {
		if o.mem != nil || len(o.host) < MinMapBytes || uintptr(unsafe.Pointer(&o.host[0]))%MapAlign != 0 {
			continue
		}
		if o == &c.m && MaskWords(c.pl.Mask, int64(c.pl.MaskN)) > int64(len(o.host)) {
			continue // the kernels' whole mask words are not all its own
		}
		if o != &c.m && q.e.info.WordData && c.es < 4 && len(o.host)%4 != 0 {
			continue // 16-bit data that ends mid-word, written in whole words
		}
		var m Mem
		for _, p := range ops[:i] { // the same bytes mapped already
			if p.mem != nil && p.host != nil && &p.host[0] == &o.host[0] && len(p.host) == len(o.host) {
				m = p.mem
			}
		}
		if m == nil {
			q.pinner.Pin(&o.host[0])
			var err error
			if m, err = hm.MapHost(o.host); err != nil {
				return err
			}
			q.mapped = append(q.mapped, hostMap{o.host, m})
		}
		o.mem, o.off, o.n, o.pad = m, 0, int64(len(o.host)), 0
	}
	return nil
}

// unmap ends the use of the host memory the call mapped, after its Wait.
func (q *queue) unmap() error {
	var err error
	if len(q.mapped) > 0 {
		hm := q.e.dev.(HostMapper)
		for _, h := range q.mapped {
			if e := hm.UnmapHost(q.q, h.mem); e != nil && err == nil {
				err = e
			}
		}
		clear(q.mapped)
		q.mapped = q.mapped[:0]
	}
	q.pinner.Unpin()
	return err
}
