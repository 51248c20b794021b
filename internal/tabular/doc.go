// Package tabular reads a CSV file with a header row into typed columns, for training and scoring
// models on tabular exports (presage train propensity, presage score, presage eval).
//
// # Types
//
// A column is Numeric when every non-empty cell parses as a finite number (strconv.ParseFloat after
// trimming spaces), and Categorical otherwise. Options can force either kind: Categorical for codes
// that look like numbers (an operating-system id, a region), Numeric to refuse text in a column a
// model reads as a number. Booleans written TRUE/FALSE (or yes/no, true/false) are Categorical: they
// become one level each, like any other text; a 0/1 column is Numeric.
//
// An empty cell is a missing value: NaN in a Numeric column, code -1 in a Categorical one.
//
// # Errors
//
// Every error about the input is an *Error that names the file, the line (1-based, counting the
// header as line 1; a quoted field may span lines, and the line is where the field starts) and the
// column (1-based field number, with the header's name when known). Ragged rows, a header with an
// empty or repeated name, text in a column forced Numeric and a missing column are refused.
//
// Errors start with "tabular: " when no file name is known, or with the file name.
package tabular
