package agent

import (
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
)

// Settings are the agent's tunables, taken from the bundle; zero fields of models.Settings take these defaults.
type Settings struct {
	SessionTimeoutMs int64   // inactivity that ends a session
	HalfLifeDays     float64 // half-life of decayed affinities and channel counts
	AttributionMs    int64   // how long an exposure is credited with a later order
	DefaultConsent   wire.Consent
	MaxRecs          int // recommendations for a request that does not ask for a number: none by default
	LoyalOrders      uint32
	AtRiskDays       float64
	LapsedDays       float64
	HighValue        float64 // expected customer value (CustomerValue.Value) that makes a churn risk
}

// DefaultSettings are used for every field the bundle leaves at zero.
var DefaultSettings = Settings{
	SessionTimeoutMs: 30 * 60 * 1000,
	HalfLifeDays:     30,
	AttributionMs:    7 * dayMs,
	DefaultConsent:   wire.ConsentLocal,
	MaxRecs:          0, // a page that shows recommendations asks for them (Request.MaxRecs): the rest pay nothing
	LoyalOrders:      3,
	AtRiskDays:       90,
	LapsedDays:       180,
	HighValue:        100,
}

func settingsFrom(s *models.Settings) Settings {
	out := DefaultSettings
	if s == nil {
		return out
	}
	if s.SessionTimeoutSec > 0 {
		out.SessionTimeoutMs = int64(s.SessionTimeoutSec) * 1000
	}
	if s.HalfLifeDays > 0 {
		out.HalfLifeDays = float64(s.HalfLifeDays)
	}
	if s.AttributionDays > 0 {
		out.AttributionMs = int64(s.AttributionDays) * dayMs
	}
	if c := wire.Consent(s.DefaultConsent); c != wire.ConsentUnset && c.Valid() {
		out.DefaultConsent = c
	}
	if s.MaxRecs > 0 {
		out.MaxRecs = int(s.MaxRecs)
	}
	if s.LoyalOrders > 0 {
		out.LoyalOrders = uint32(s.LoyalOrders)
	}
	if s.AtRiskDays > 0 {
		out.AtRiskDays = float64(s.AtRiskDays)
	}
	if s.LapsedDays > 0 {
		out.LapsedDays = float64(s.LapsedDays)
	}
	if s.HighValue > 0 {
		out.HighValue = float64(s.HighValue)
	}
	return out
}

const (
	dayMs  = 24 * 60 * 60 * 1000
	weekMs = 7 * dayMs
)
