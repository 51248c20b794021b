package agent

// The phases of Handle, one by one, for BenchmarkHandlePhases (test-only).

import "github.com/presage-dev/presage/agent/wire"

func (a *Agent) PhaseDecode(in []byte, req *wire.Request) error { return a.decodeRequest(in, req) }
func (a *Agent) PhaseEncode(out []byte, r *wire.Reply) []byte   { return a.encodeReply(out, r) }
func (a *Agent) PhaseEvaluate(now int64)                        { a.evaluate(now) }
func (a *Agent) PhaseRecommend(dst []wire.Rec) []wire.Rec       { return a.recommend(dst, 6) }
func (a *Agent) PhaseDecide(slot string, now int64) wire.Decision {
	a.checks = a.checks[:0]
	a.expl.Slots = a.expl.Slots[:0]
	return a.decide(slot, now)
}
