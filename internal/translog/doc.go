// Package translog turns a transaction log (one row per purchase: customer, date, amount) into
// what the customer-value models need, and fits them: per-customer (x, t_x, T) and mean repeat
// spend over a calibration period, the purchases each customer actually made in the holdout period
// after it, BG/NBD and Gamma-Gamma fitted by maximum likelihood (models/train), and the comparison
// of predicted and actual holdout purchases by calibration frequency, the check of Fader, Hardie &
// Lee (2005, fig. 3).
//
// Time is counted in whole days: several transactions of one customer on one day are one purchase
// (of their summed amount), as in the CDNOW studies and in lifetimes' summary_data_from_transaction_data.
// A day belongs to the calibration period when it is on or before the calibration end.
package translog
