package host

// For the examples, which live in package host_test: the module built by TestMain and the shared
// compilation cache.
var (
	ModulePath = ""
	CacheDir   = ""
)

// withoutGuard makes interruptible calls use wazero's checks, as for a module the guard refuses.
func (c Config) withoutGuard() Config {
	c.noGuard = true
	return c
}
