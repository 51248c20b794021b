// Package csvin reads the tables that evaluations and the value-model CLI take as input (CSV
// exports, whitespace-separated research files such as CDNOW's, either gzipped) and turns every
// defect into an error that names the file, the line and the column, so that a user can fix the
// row instead of guessing: a ragged row, a missing column, a value that does not parse.
//
// It streams (one row in memory at a time) and reports progress in bytes of the file on disk.
package csvin
