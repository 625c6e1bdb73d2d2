// The generator of ../philox_amd64.s: its own module, so that the project
// itself needs no avo. golang.org/x/tools is raised above avo v0.6.0's
// v0.16.1, which does not compile with the Go 1.26 this project uses.
module github.com/gpudropout/dropout/cpu/_asm

go 1.26.0

require github.com/mmcloughlin/avo v0.6.0

require (
	golang.org/x/mod v0.32.0 // indirect
	golang.org/x/sync v0.19.0 // indirect
	golang.org/x/tools v0.41.0 // indirect
)
