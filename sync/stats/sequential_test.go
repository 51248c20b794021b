package stats

import "testing"

func TestSequentialInterval(t *testing.T) {
	s := NewSequential()
	d, err := s.Look(Arm{Visitors: 50, Conversions: 5}, Arm{Visitors: 50, Conversions: 2})
	if err != nil || s.Looks() != 0 || d.P != 1 {
		t.Errorf("a look below MinVisitors is not a test: %+v %v", d, err)
	}
	d, _ = s.Look(Arm{Visitors: 5000, Conversions: 300}, Arm{Visitors: 5000, Conversions: 250})
	f, _ := DiffProportions(Arm{Visitors: 5000, Conversions: 300}, Arm{Visitors: 5000, Conversions: 250}, 0.95)
	if !(d.Lo < f.Lo && d.Hi > f.Hi) {
		t.Errorf("always-valid interval [%v, %v] should contain the fixed one [%v, %v]", d.Lo, d.Hi, f.Lo, f.Hi)
	}
	if _, err := (&Sequential{Alpha: 0.05}).Look(Arm{Visitors: 10}, Arm{Visitors: 10}); err == nil {
		t.Error("zero mixing variance accepted")
	}
}
