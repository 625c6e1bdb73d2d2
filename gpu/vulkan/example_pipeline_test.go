//go:build cgo && !novulkan

package vulkan_test

import (
	"fmt"
	"math"
	"strings"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/gpu/vulkan"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
	"github.com/gpudropout/dropout/kernels"
)

// Example_pipeline embeds dropout in a program's own Vulkan work: the
// program makes its instance (with the validation layer and
// synchronization validation on, and a callback that collects messages),
// device, queue, buffers and compute pipeline; it records its shader
// (h = x + bias), a barrier, dropout (y = dropout(h), recorded by the
// backend into the program's command buffer), a barrier and its shader
// again (z = y + bias); submits once, waits once on a fence, and compares
// every element with the reference backend.
//
// The program's Vulkan objects are made with vulkan-go through vkx, this
// module's thin layer over it (vulkan-go's converters of structs free
// their C copies from finalizers, so calls that take structs go through
// C); any way of making them will do.
func Example_pipeline() {
	const n, bias = 1000, float32(0.5)
	p := dropout.Params{P: 0.25, Seed: 42}

	// The program's instance and device.
	in, err := vkx.NewInstance(true) // VK_LAYER_KHRONOS_validation, synchronization validation
	if err != nil {
		fmt.Println(err)
		return
	}
	defer in.Destroy()
	devs, err := in.PhysicalDevices()
	if err != nil {
		fmt.Println(err)
		return
	}
	i := 0
	for i < len(devs) && devs[i].Driver != "llvmpipe" { // lavapipe, on every machine
		i++
	}
	if i == len(devs) {
		fmt.Println("no lavapipe")
		return
	}
	m, err := vkx.NewManager(devs[i]) // a device with one compute queue
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Destroy()
	queue, family := m.Queue()

	// The backend on the program's device.
	b, err := vulkan.NewBackend(vulkan.External{
		Instance: in.Handle(), PhysicalDevice: devs[i].Handle(), Device: m.Device(),
		QueueFamily: family, Queue: queue,
	}, dropout.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	// The program's buffers: host-visible storage buffers, x filled here.
	bufs := make([]*vkx.Buffer, 4) // x, h, y, z
	for k := range bufs {
		if bufs[k], err = m.NewBuffer(4*n, vkx.HostStorage); err != nil {
			fmt.Println(err)
			return
		}
		defer bufs[k].Destroy()
	}
	xb, hb, yb, zb := bufs[0], bufs[1], bufs[2], bufs[3]
	x := make([]float32, n)
	for k := range x {
		x[k] = float32(k%97) - 40.25
	}
	copy(floats(xb.Host()), x)

	// h and y as Buffers of the backend.
	h, err := b.Wrap(hb.Handle(), hb.Size, 0, dropout.Float32, n)
	if err != nil {
		fmt.Println(err)
		return
	}
	y, err := b.Wrap(yb.Handle(), yb.Size, 0, dropout.Float32, n)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The program's pipeline: example_add.comp.
	l, err := m.NewLayout()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Destroy()
	spv, err := kernels.SPIRV("example_add")
	if err != nil {
		fmt.Println(err)
		return
	}
	add, err := l.NewAlgorithm(spv, [vkx.SpecConstants]uint32{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer add.Destroy()
	sets := l.NewSets()
	defer sets.Destroy()
	cmds, err := m.NewCommands()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cmds.Destroy()

	// Recording: add, barrier, dropout, barrier, add, barrier to the host.
	if err := cmds.Begin(); err != nil {
		fmt.Println(err)
		return
	}
	cmd := cmds.Cmd
	record := func(src, dst *vkx.Buffer) error {
		set, err := sets.Bind([vkx.Bindings]vkx.Range{{Buf: src, Size: src.Size}, {Buf: dst, Size: dst.Size}})
		if err != nil {
			return err
		}
		pc := [2]uint32{n, math.Float32bits(bias)}
		vk.CmdBindPipeline(cmd, vk.PipelineBindPointCompute, add.Pipeline())
		vk.CmdBindDescriptorSets(cmd, vk.PipelineBindPointCompute, l.Handle(), 0, 1, []vk.DescriptorSet{set.Handle()}, 0, nil)
		vk.CmdPushConstants(cmd, l.Handle(), vk.ShaderStageFlags(vk.ShaderStageComputeBit), 0, 8, vkPtr(&pc))
		vk.CmdDispatch(cmd, (n+63)/64, 1, 1)
		return nil
	}
	shaderRW := vk.AccessFlags(vk.AccessShaderReadBit | vk.AccessShaderWriteBit)
	transferRW := vk.AccessFlags(vk.AccessTransferReadBit | vk.AccessTransferWriteBit)
	if err := record(xb, hb); err != nil {
		fmt.Println(err)
		return
	}
	// Before dropout: the program's writes (and reads) → the backend's
	// compute-shader and transfer reads and writes.
	vkx.CmdBarrier(cmd, vkx.StagesCompute, vkx.StagesCompute|vkx.StagesTransfer, shaderRW, shaderRW|transferRW)
	if err := b.RecordForward(cmd, y, h, nil, p); err != nil {
		fmt.Println(err)
		return
	}
	// After dropout: the backend's compute-shader and transfer writes →
	// the program's reads (and writes).
	vkx.CmdBarrier(cmd, vkx.StagesCompute|vkx.StagesTransfer, vkx.StagesCompute,
		vk.AccessFlags(vk.AccessShaderWriteBit|vk.AccessTransferWriteBit), shaderRW)
	if err := record(yb, zb); err != nil {
		fmt.Println(err)
		return
	}
	vkx.CmdBarrier(cmd, vkx.StagesCompute, vkx.StagesHost, vk.AccessFlags(vk.AccessShaderWriteBit), vk.AccessFlags(vk.AccessHostReadBit))
	if err := cmds.Submit(); err != nil { // the one submission
		fmt.Println(err)
		return
	}
	if err := cmds.Wait(); err != nil { // the one wait
		fmt.Println(err)
		return
	}

	// The same on the host with the reference backend.
	hw := make([]float32, n)
	for k := range hw {
		hw[k] = x[k] + bias
	}
	yw := make([]float32, n)
	if err := cpu.NewReference().Forward(dropout.Float32s(yw), dropout.Float32s(hw), nil, p); err != nil {
		fmt.Println(err)
		return
	}
	z := floats(zb.Host())
	same, kept := 0, 0
	for k := range yw {
		if yw[k] != 0 {
			kept++
		}
		if math.Float32bits(z[k]) == math.Float32bits(yw[k]+bias) {
			same++
		}
	}
	fmt.Printf("%d of %d elements equal the reference; %d kept at p = %v\n", same, n, kept, p.P)
	if err := b.Close(); err != nil {
		fmt.Println(err)
	}
	msgs := in.Messages.All()
	fmt.Printf("validation messages: %d\n", len(msgs))
	if len(msgs) > 0 {
		fmt.Println(strings.Join(msgs, "\n"))
	}
	// Output:
	// 1000 of 1000 elements equal the reference; 734 kept at p = 0.25
	// validation messages: 0
}

// floats returns the float32s in the mapped bytes b.
func floats(b []byte) []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4) }

// vkPtr returns the push-constant pointer of pc.
func vkPtr(pc *[2]uint32) unsafe.Pointer { return unsafe.Pointer(&pc[0]) }
