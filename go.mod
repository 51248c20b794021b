module github.com/presage-dev/presage

go 1.25.0

require (
	github.com/andybalholm/brotli v1.2.0
	github.com/fxamacker/cbor/v2 v2.9.6
	github.com/tetratelabs/wazero v1.12.0
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/x448/float16 v0.8.4 // indirect
	golang.org/x/sys v0.44.0 // indirect
	golang.org/x/tools v0.30.0 // indirect
)
