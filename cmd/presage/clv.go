package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/presage-dev/presage/internal/csvin"
	"github.com/presage-dev/presage/internal/evalsets"
	"github.com/presage-dev/presage/internal/report"
	"github.com/presage-dev/presage/internal/translog"
)

const clvUsage = `fit --transactions FILE --customer COL --date COL --amount COL --calibration-end YYYY-MM-DD [flags]

Fits the customer-value models on a transaction log (one row per purchase): BG/NBD for the number
of future purchases and P(alive), Gamma-Gamma for the spend per purchase, by maximum likelihood
on the calibration period (up to and including --calibration-end), then compares the purchases
BG/NBD predicted for the holdout period (after it, to --holdout-end) with those made, by number
of calibration purchases. Same-day transactions of a customer count as one purchase. Time is in
weeks unless --unit-days says otherwise.

The log is CSV with a header, or whitespace-separated (--format ws) like CDNOW_master.txt; a
file without a header gets its column names from --columns; .gz files are read as they are.
--amount may be a product of two columns (Quantity*UnitPrice). Rows without a customer and rows
with a negative amount (returns) are left out and counted. Bad input (a ragged row, a missing
column, an amount that is not a number, a date that does not parse) stops with the file, line
and column, and exit status 2.

Example (CDNOW, the 2,357-customer sample):
  presage clv fit --transactions CDNOW_sample.txt --format ws --columns master,id,date,cds,dollars \
    --customer id --date date --amount dollars --calibration-end 1997-09-30`

// runCLV dispatches `presage clv <subcommand>`.
func runCLV(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "fit" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stderr, "usage: presage clv "+clvUsage)
			return flag.ErrHelp
		}
		return usagef("usage: presage clv fit --transactions FILE --customer COL --date COL --amount COL --calibration-end YYYY-MM-DD (see presage clv fit -h)")
	}
	fl := newFlags("clv", clvUsage, stderr)
	path := fl.String("transactions", "", "transaction log (CSV, whitespace-separated, optionally .gz)")
	var ro translog.Options
	fl.StringVar(&ro.Customer, "customer", "", "customer id column")
	fl.StringVar(&ro.Date, "date", "", "purchase date column")
	fl.StringVar(&ro.Amount, "amount", "", "purchase amount column, or COL*COL (empty: no Gamma-Gamma)")
	calEnd := fl.String("calibration-end", "", "last day of the calibration period, YYYY-MM-DD")
	holdEnd := fl.String("holdout-end", "", "last day of the holdout period, YYYY-MM-DD (default: the last day in the log)")
	format := fl.String("format", "auto", "field separator: auto, csv or ws (whitespace)")
	columns := fl.String("columns", "", "comma-separated column names for a file without a header row")
	fl.StringVar(&ro.DateLayout, "date-format", "", "Go time layout of the dates, e.g. 02/01/2006 (default: detected)")
	unit := fl.Float64("unit-days", 7, "days per model time unit (7: weeks, as in the papers)")
	asJSON := fl.Bool("json", false, "print the results as JSON instead of text")
	reportDir := fl.String("report", "", "also write an HTML report with plots and a JSON summary to this folder")
	perCustomer := fl.String("customers", "", "also write per-customer estimates (P(alive), expected holdout purchases and spend) to this CSV")
	if err := parse(fl, args[1:]); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected arguments %q", fl.Args())
	}
	if err := required(fl, "transactions", "customer", "date", "calibration-end"); err != nil {
		return err
	}
	var err error
	if ro.Format, err = csvin.ParseFormat(*format); err != nil {
		return usageError{err}
	}
	if *columns != "" {
		ro.Columns = strings.Split(*columns, ",")
	}
	split := translog.Split{UnitDays: *unit}
	if !(*unit > 0) {
		return usagef("--unit-days must be positive")
	}
	if split.CalibrationEnd, err = translog.ParseDay(*calEnd); err != nil {
		return usageError{fmt.Errorf("--calibration-end: %w", err)}
	}
	if *holdEnd != "" {
		if split.HoldoutEnd, err = translog.ParseDay(*holdEnd); err != nil {
			return usageError{fmt.Errorf("--holdout-end: %w", err)}
		}
	}
	bar := newProgress(stderr)
	v, err := evalsets.FitValue(ctx, *path, ro, split, bar.Update)
	bar.Done()
	if err != nil {
		return inputError(err)
	}
	if *asJSON {
		out := struct {
			Transactions   string `json:"transactions"`
			Rows           int    `json:"rows"`
			NoCustomer     int    `json:"rows_without_customer"`
			Negative       int    `json:"rows_with_negative_amount"`
			CalibrationEnd string `json:"calibration_end"`
			HoldoutEnd     string `json:"holdout_end"`
			*translog.Fit
		}{*path, v.Log.Rows, v.Log.NoCustomer, v.Log.Negative, translog.DayString(v.Summary.CalibrationEnd),
			translog.DayString(v.Summary.HoldoutEnd), v.Fit}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		for _, l := range v.Lines() {
			fmt.Fprintln(stdout, l)
		}
	}
	if *perCustomer != "" {
		if err := writeCustomers(*perCustomer, v); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *perCustomer)
	}
	if *reportDir != "" {
		secs, err := v.Sections("")
		if err != nil {
			return err
		}
		rep := &report.Report{Title: "Customer value: " + filepath.Base(*path), Sections: secs,
			Intro:   []string{"presage clv fit " + strings.Join(args[1:], " ")},
			Summary: map[string]any{"transactions": *path, "fit": v.Fit, "tracking": v.Tracking}}
		files, err := rep.Write(*reportDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s and %s\n", files.HTML, files.JSON)
	}
	return nil
}

// inputError marks errors about the input file (positioned errors, no such file, a log with no
// usable rows) as usage errors, so that they exit with status 2.
func inputError(err error) error {
	var ce *csvin.Error
	var pe *os.PathError
	if errors.As(err, &ce) || errors.As(err, &pe) || strings.HasPrefix(err.Error(), "translog: ") {
		return usageError{err}
	}
	return err
}

// writeCustomers writes one row per customer of the fit: the summary and the model's estimates
// over the holdout length.
func writeCustomers(path string, v *evalsets.ValueFit) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"customer", "x", "t_x", "T", "mean_spend", "p_alive", "expected_purchases", "expected_spend", "holdout_purchases"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
	s := v.Summary
	for i, c := range s.Customers {
		e := v.Fit.Value.Estimate(c.X, c.Tx, c.T, s.MeanSpend[i])
		w.Write([]string{s.IDs[i], f(c.X), f(c.Tx), f(c.T), f(s.MeanSpend[i]), f(e.Alive), f(e.Purchases), f(e.Spend), f(s.Holdout[i])})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(b.String()), 0o644)
}
