package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/sync/fed"
	"github.com/presage-dev/presage/sync/learn"
	"github.com/presage-dev/presage/sync/store"
)

// Retraining (issue 4, section 2): the admin's campaign definitions compiled into the serving
// bundle, the bandits' splits moved by the evidence the agents sent, each move checked on evidence
// held back from it, then signed and published, or refused. A retraining also runs one federated
// round for the serving bundle's federated propensity models (fedround.go), whose step is checked
// on a held-back share of the devices' updates. Every version stays stored, so a published
// retraining can be rolled back like any bundle.

// RetrainConfig schedules retraining. The zero value retrains only when asked (POST
// /v1/admin/retrain).
type RetrainConfig struct {
	// Sites are retrained by the schedule; the admin API can retrain any site.
	Sites []string
	// Every retrains a site when this long has passed since its last retraining; 0: never on time.
	Every time.Duration
	// MinBatches retrains a site when this many new batches arrived since its last retraining
	// (counted per day, so a day's batches are all new or all old); 0: never on volume.
	MinBatches int64
	// WindowDays is the evidence used, in days up to today; 0 means 14.
	WindowDays int32
	// HoldBackDays, the most recent days of the window, are left out of training and check it; 0
	// means 1.
	HoldBackDays int32
	// Learn tunes the bandits (floor, prior).
	Learn learn.Config
	// Fed tunes the federated round of every retraining (fedround.go): the privacy budget per
	// visitor per day (ε = 1, δ = 10⁻⁶), the rounds sharing it (1), the minimum noisy cohort (50),
	// the optimiser and the held-back check's tolerance (2 standard errors); zero fields take
	// sync/fed's defaults. The held-back check is always on.
	Fed fed.Config
	// FedNoise draws the rounds' Gaussian noise; nil means a fresh fed.NewNoise() per round
	// (seeded by crypto/rand). Only tests set it, to a seeded source.
	FedNoise *rand.Rand
	// Device tunes learning from the devices' summaries (devicelearn.go): co-occurrence pairs
	// for the neighbour table, customer summaries for the value model. Its k-anonymity threshold
	// and held-back minimum are at least KAnonymity.
	Device learn.DeviceConfig
}

// RetrainReport is what a retraining did: published a new version, or why not.
type RetrainReport struct {
	Site        string               `json:"site"`
	Base        uint64               `json:"base"`              // the version retrained from
	Version     uint64               `json:"version,omitempty"` // the version published, if any
	Outcome     string               `json:"outcome"`           // published, unchanged, refused
	Reason      string               `json:"reason,omitempty"`
	Allocations []allocationView     `json:"allocations,omitempty"`
	Checks      []learn.Check        `json:"checks,omitempty"`
	Fed         *FedReport           `json:"federated,omitempty"` // the federated round, when the bundle has federated models
	Device      []learn.DeviceStep   `json:"device,omitempty"`    // neighbours and value model from device summaries
	Evidence    [2]store.ReportQuery `json:"-"`
}

type allocationView struct {
	Campaign string    `json:"campaign"`
	Variants []string  `json:"variants"`
	Best     []float64 `json:"p_best"`
	Weights  []uint16  `json:"weights"`
}

// Outcomes of a retraining.
const (
	OutcomePublished = "published"
	OutcomeUnchanged = "unchanged"
	OutcomeRefused   = "refused"
)

var (
	errNoBase      = errors.New("nothing to retrain from: the site has no published bundle")
	errCannotBuild = errors.New("the next bundle cannot be built")
)

// Retrain retrains site now (see RetrainConfig) and publishes the result unless it changes nothing
// or regresses on held-back evidence. It needs the server's signing key.
func (s *Server) Retrain(ctx context.Context, site string) (*RetrainReport, error) {
	s.retrainMu.Lock() // one retraining at a time in this process; other nodes race on the version
	defer s.retrainMu.Unlock()
	if s.cfg.SigningKey == nil {
		return nil, fmt.Errorf("%w: retraining signs the bundles it publishes", errNeedKey)
	}
	cur, err := s.st.Current(ctx, site)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoBase
	}
	if err != nil {
		return nil, err
	}
	sb, err := s.st.Bundle(ctx, site, cur.Version)
	if err != nil {
		return nil, err
	}
	base, err := models.Open(sb.Envelope)
	if err != nil {
		return nil, fmt.Errorf("server: serving bundle %d does not decode: %w", cur.Version, err)
	}
	defs, err := s.st.Campaigns(ctx, site)
	if err != nil {
		return nil, err
	}
	rc := s.cfg.Retrain
	now := s.cfg.Now()
	today := store.Day(now)
	held := store.ReportQuery{Site: site, From: today - rc.HoldBackDays + 1, To: today, K: s.cfg.KAnonymity}
	train := store.ReportQuery{Site: site, From: today - rc.WindowDays + 1, To: held.From - 1, K: s.cfg.KAnonymity}
	trainRep, err := s.st.Report(ctx, train)
	if err != nil {
		return nil, err
	}
	heldRep, err := s.st.Report(ctx, held)
	if err != nil {
		return nil, err
	}
	cand, err := learn.Retrain(base, defs, trainRep.Cells, heldRep.Cells, now.Unix(), rc.Learn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCannotBuild, err)
	}
	rep := &RetrainReport{Site: site, Base: cur.Version, Checks: cand.Checks, Evidence: [2]store.ReportQuery{train, held}}
	for _, a := range cand.Allocations {
		rep.Allocations = append(rep.Allocations, allocationView{Campaign: a.Campaign, Variants: a.Variants, Best: a.Best, Weights: a.Weights})
	}
	defer s.noteRetrain(ctx, site, rep)
	if cand.Regressed() {
		rep.Outcome, rep.Reason = OutcomeRefused, "the candidate converts worse than the serving bundle on held-back evidence"
		return rep, nil
	}
	// The federated round runs only when the campaigns do not refuse the candidate: its privacy
	// is spent for a bundle that can be published.
	fr, props, err := s.fedRound(ctx, site, base, today)
	if err != nil {
		return nil, err
	}
	rep.Fed = fr
	s.logFed(site, fr)
	nb, val, steps, err := s.deviceLearn(ctx, site, base, today)
	if err != nil {
		return nil, err
	}
	rep.Device = steps
	if !cand.Changed && props == nil && nb == nil && val == nil {
		rep.Outcome, rep.Reason = OutcomeUnchanged, "the campaigns and their splits are those serving, and no federated or device-learnt model moved"
		return rep, nil
	}
	maxV, err := s.st.MaxVersion(ctx, site)
	if err != nil {
		return nil, err
	}
	next := cand.Bundle
	if props != nil {
		next.Propensity = props
	}
	if nb != nil {
		next.Neighbours = nb
	}
	if val != nil {
		next.Value = val
	}
	next.Version = maxV + 1
	if err := next.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", errCannotBuild, err)
	}
	envelope := signing.Sign(next, s.cfg.SigningKey)
	env, err := models.DecodeEnvelope(envelope)
	if err != nil {
		return nil, fmt.Errorf("server: retrained bundle: %w", err)
	}
	if err := s.st.AddBundle(ctx, s.storedBundle(next, envelope, env.KeyID, store.SourceTrain, 0)); err != nil {
		return nil, err
	}
	if _, err := s.publish(ctx, site, next.Version); err != nil {
		return nil, err
	}
	rep.Outcome, rep.Version = OutcomePublished, next.Version
	return rep, nil
}

// noteRetrain logs a retraining and remembers when it ran and how many batches the site had, for
// the schedule.
func (s *Server) noteRetrain(ctx context.Context, site string, rep *RetrainReport) {
	s.log.Info("retrained", "site", site, "base", rep.Base, "outcome", rep.Outcome, "version", rep.Version, "reason", rep.Reason)
	for _, c := range rep.Checks {
		s.log.Info("retraining check", "site", site, "check", c.String(), "regression", c.Regression)
	}
	s.recordEvaluation(ctx, site, rep)
	batches, err := s.siteBatches(ctx, site)
	if err != nil {
		s.log.Warn("retraining: counting batches failed", "site", site, "err", err)
		return
	}
	v := strconv.FormatInt(s.cfg.Now().Unix(), 10) + " " + strconv.FormatInt(batches, 10)
	if err := s.st.SetSetting(ctx, retrainSetting(site), v); err != nil {
		s.log.Warn("retraining: saving its time failed", "site", site, "err", err)
	}
}

func retrainSetting(site string) string { return "retrain/" + site }

// siteBatches counts the batches a site sent over the dedup window's days and the retraining window.
func (s *Server) siteBatches(ctx context.Context, site string) (int64, error) {
	today := store.Day(s.cfg.Now())
	t, err := s.st.Totals(ctx, site, today-max(s.cfg.Retrain.WindowDays, s.cfg.DedupDays), today)
	return t.Batches, err
}

// retrainDue reports whether the schedule asks for site to be retrained now.
func (s *Server) retrainDue(ctx context.Context, site string) (bool, error) {
	rc := s.cfg.Retrain
	last, lastBatches := int64(0), int64(0)
	v, err := s.st.Setting(ctx, retrainSetting(site))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return false, err
	default:
		if _, err := fmt.Sscan(v, &last, &lastBatches); err != nil {
			return false, fmt.Errorf("retraining setting %q: %w", v, err)
		}
	}
	if rc.Every > 0 && s.cfg.Now().Sub(time.Unix(last, 0)) >= rc.Every {
		return true, nil
	}
	if rc.MinBatches > 0 {
		n, err := s.siteBatches(ctx, site)
		if err != nil {
			return false, err
		}
		return n-lastBatches >= rc.MinBatches || n < lastBatches && n >= rc.MinBatches, nil
	}
	return false, nil
}

// retrainScheduled runs the schedule once: every due site is retrained.
func (s *Server) retrainScheduled() {
	for _, site := range s.cfg.Retrain.Sites {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		due, err := s.retrainDue(ctx, site)
		if err == nil && due {
			_, err = s.Retrain(ctx, site)
		}
		cancel()
		if err != nil {
			s.log.Warn("scheduled retraining failed; will retry", "site", site, "err", err)
		}
	}
}

func (s *Server) retrainNow(w http.ResponseWriter, r *http.Request, site string) {
	rep, err := s.Retrain(r.Context(), site)
	if errors.Is(err, errNoBase) || errors.Is(err, errCannotBuild) {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
