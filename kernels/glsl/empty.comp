#version 450
// empty.comp: a dispatch that does nothing, the floor of a call's
// submit-and-wait that the small-call benchmarks compare with.
layout(local_size_x = 64) in;
void main() {}
