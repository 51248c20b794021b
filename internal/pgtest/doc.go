// Package pgtest starts throwaway PostgreSQL servers for tests: Debian's postgresql binaries
// (/usr/lib/postgresql/N/bin), a temporary data folder, a loopback port, trust authentication.
// Tests get a fresh namespace each from one server per test binary, so that the PostgreSQL
// backend is tested as often as the embedded one without anything to set up.
//
// initdb and postgres refuse to run as root. When the tests run as root (CI containers), the
// server runs as the "postgres" user that Debian's package creates, through the credentials of
// exec.Cmd: no su, no sudo.
//
// # Notes
//
//   - A server lives as a child of the test process and is killed with it (Pdeathsig), so that a
//     crashed test leaves no server behind; Main stops the shared one cleanly.
//   - fsync stays on: benchmarks measure what a real deployment would pay for durability.
package pgtest
