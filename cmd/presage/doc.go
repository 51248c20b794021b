// Command presage is Presage's one CLI: train bundles, build the WebAssembly module, run the demo.
//
//	presage keygen   -dir DIR                       make a bundle-signing key pair
//	presage train    simulated -key K -o FILE       train a signed bundle on simulated traffic
//	presage train    propensity -data F.csv -label COL -key K -o FILE
//	                                                fit a tabular propensity model (logistic or trees)
//	presage score    -bundle FILE -data F.csv -o FILE
//	                                                one probability per row, computed in the module
//	presage build    -bundle FILE -o DIR            compile a signed bundle into dist/presage.wasm
//	presage inspect  FILE                           describe a bundle or a module
//	presage size     FILE...                        raw, gzip and brotli sizes
//	presage demo                                    all of the above, then simulated visitors in wazero
//	presage simulate loop [-visitors N] [-rounds K] [-module-share S] [-kill | -federated]
//	                                                the learning loop against a sync server over HTTP
//
// Exit status: 0 on success, 2 for bad input (flags, files, data), 1 for anything else.
package main
