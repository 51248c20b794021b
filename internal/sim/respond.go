package sim

import "github.com/presage-dev/presage/agent/wire"

// Responder plays the site's side of an interactive simulation: the agent (or a stand-in) decides
// what each session is shown, and the simulated visitor reacts with the true effect the simulation
// assigns to that exposure ([Config.Uplift]). This is the extension point of the learning-loop
// proofs: a bandit choosing variants, an uplift model choosing whom to treat, a frequency cap.
//
// The simulator calls Respond once per session, after the arrival and the landing page and
// before the visitor's intent is drawn; a shown exposure may be clicked (an EventClick follows).
// This is the simple version of the interactive mode: one decision per session, acting on the
// intent. Finer interactions (a decision per page and slot, recommendations that steer the next
// product view) belong in further, optional interfaces that a Responder may also implement, so
// that existing responders keep working.
//
// Determinism: the simulation stays reproducible only if the responder's answers are a function
// of its arguments and of the order of its calls. [Sim.All] therefore generates visitors one after
// the other, in index order, when a Responder is set; a caller that generates visitors in parallel
// with [Sim.Visitor] must make its responder safe for concurrent use.
type Responder interface {
	// Respond returns what the site shows in the session that just started. visitor is the
	// visitor's index; history holds every event of the visitor so far, this session's arrival
	// and landing page included. A responder that drives an agent feeds it the events it has not
	// seen yet and asks for a decision; it must not keep or modify history, which the simulator
	// reuses. The zero Exposure shows nothing.
	Respond(visitor int, history []wire.Event) Exposure
}

// Exposure is what one session was shown.
type Exposure struct {
	Campaign string // empty: nothing eligible, nothing shown
	Variant  string
	// Holdout marks a visitor drawn into the control group: the campaign was eligible but
	// nothing was shown. It is recorded so that uplift can be measured against it.
	Holdout bool
}

// Shown reports whether the visitor actually saw a campaign.
func (e Exposure) Shown() bool { return e.Campaign != "" && !e.Holdout }

// ResponderFunc adapts a function to [Responder].
type ResponderFunc func(visitor int, history []wire.Event) Exposure

// Respond calls f.
func (f ResponderFunc) Respond(visitor int, history []wire.Event) Exposure {
	return f(visitor, history)
}
