import numpy as np, sys
rng = np.random.default_rng(1)
# float32 bit patterns: random, plus the neighbourhoods of every binary16 midpoint region edges
bits = list(rng.integers(0, 2**32, size=800, dtype=np.uint64))
h = np.arange(0, 0x7c00, 151, dtype=np.uint32)
mid = (h.astype(np.uint16).view(np.float16).astype(np.float32)).view(np.uint32)
for d in (-1, 0, 1, 4096):
    bits += list((mid + d) & 0xffffffff)
bits += [0x477fefff, 0x477ff000, 0x477ff001, 0x33000000, 0x33000001, 0x32ffffff, 0x387fffff, 0x38800000, 0x387ff000, 0x7f800000, 0x7fc00000, 0x7f800001, 0xff800001, 0x80000000]
a = np.array(bits, dtype=np.uint32)
f = a.view(np.float32)
with np.errstate(all='ignore'):
    r = f.astype(np.float16).view(np.uint16)
with open(sys.argv[1], 'w') as o:
    o.write("# float32 bits, numpy %s float16 bits (astype, round to nearest even)\n" % np.__version__)
    for x, y in zip(a, r):
        o.write("%08x %04x\n" % (x, y))
