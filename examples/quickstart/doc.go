// Command quickstart embeds Presage in a Go service: it trains a small bundle on simulated traffic,
// signs it, compiles it into the WebAssembly module, and serves one visitor through the module in
// wazero, printing what the agent decides at each step. Run it from the repository:
//
//	go run ./examples/quickstart
package main
