package train

import (
	"math"
	"os"
	"path/filepath"
)

func datasetsDir() string {
	if d := os.Getenv("PRESAGE_DATASETS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "datasets")
}

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }
