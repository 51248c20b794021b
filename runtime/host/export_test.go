package host

// For the examples, which live in package host_test: the module built by TestMain and the shared
// compilation cache.
var (
	ModulePath = ""
	CacheDir   = ""
)
