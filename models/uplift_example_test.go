package models_test

import (
	"fmt"

	"github.com/presage-dev/presage/models"
)

func ExampleShowIncentive() {
	// A margin of 40 per conversion, an incentive that costs 2 per person shown: it pays where the
	// predicted uplift exceeds 2/40 = 5 points.
	for _, uplift := range []float64{0.08, 0.04, -0.10} {
		fmt.Printf("uplift %+.2f: margin %+.1f, show %v\n", uplift, models.IncrementalMargin(uplift, 40, 2), models.ShowIncentive(uplift, 40, 2))
	}
	// Output:
	// uplift +0.08: margin +1.2, show true
	// uplift +0.04: margin -0.4, show false
	// uplift -0.10: margin -6.0, show false
}
