package agent

// Internals the external tests (package agent_test, which may import internal/demo and
// internal/sim: both import agent) need to name. Test-only: nothing here is linked into the module.

const (
	MaxAffinities   = maxAffinities
	MaxViewed       = maxViewed
	MaxBought       = maxBought
	MaxVoters       = maxVoters
	MaxSeen         = maxSeen
	MaxCart         = maxCart
	MaxExposures    = maxExposures
	MaxLearn        = maxLearn
	MaxIDLen        = maxIDLen
	MaxEvents       = maxEvents
	MaxSlots        = maxSlots
	MaxLines        = maxLines
	MaxStringLen    = maxStringLen
	MaxQuantity     = maxQuantity
	MaxMoney        = maxMoney
	MaxRequestBytes = maxRequestBytes
	MaxProfileBytes = maxProfileBytes
	ProfileVersion  = profileVersion
)

// HashID is the 32-bit id the profile keeps for an item or a category.
var HashID = hashID

// AppetencePass runs the appetence pass alone on the current profile (benchmarks).
func (a *Agent) AppetencePass() { a.appetence() }
