package sim

import (
	"bufio"
	"io"
	"math"
	"strconv"
)

// A randomised incentive campaign with known effects, for uplift models. Every person belongs to one
// of the four response groups of the uplift literature (Radcliffe & Surry 2011), drawn first; their
// observable attributes are then drawn from distributions that depend on the group, so that the
// group, and with it the treatment's effect, can be told (imperfectly) from the attributes. The
// treatment (the incentive) is assigned at random, independently of everything else, as in a
// campaign with a random holdout, and the outcome is drawn from the group's probability under the
// arm the person is in.

// keyUplift is the stream key of the uplift campaign.
const keyUplift = 0x75706c69_66742121 // "uplift!!"

// UpliftGroup is how a person responds to the treatment: the ground truth an uplift model should
// recover.
type UpliftGroup uint8

// The four response groups.
const (
	SureThing    UpliftGroup = iota // converts whether treated or not: the incentive is wasted
	Persuadable                     // converts mostly when treated: the incentive pays
	LostCause                       // rarely converts either way
	DoNotDisturb                    // converts less when treated: the incentive hurts
	numUpliftGroups
)

// String returns the group's name as the CSV writes it.
func (g UpliftGroup) String() string {
	switch g {
	case SureThing:
		return "sure_thing"
	case Persuadable:
		return "persuadable"
	case LostCause:
		return "lost_cause"
	case DoNotDisturb:
		return "do_not_disturb"
	}
	return "group" + strconv.Itoa(int(g))
}

// upliftGroups holds, per group, its share of people, its conversion probabilities in control and
// treated, the means of the attributes and the weights of the arrival channels (upliftChannels).
var upliftGroups = [numUpliftGroups]struct {
	share, pControl, pTreated           float64
	visits, recency, basket, tenureDays float64
	channel                             [4]float64
}{
	SureThing:    {0.20, 0.70, 0.72, 8, 6, 60, 400, [4]float64{1, 2, 1, 4}},
	Persuadable:  {0.25, 0.08, 0.45, 4, 20, 40, 150, [4]float64{5, 2, 1, 1}},
	LostCause:    {0.40, 0.02, 0.03, 1.5, 80, 30, 250, [4]float64{1, 2, 4, 1}},
	DoNotDisturb: {0.15, 0.40, 0.12, 6, 12, 80, 900, [4]float64{2, 1, 1, 4}},
}

// upliftChannels are the levels of the categorical attribute "channel".
var upliftChannels = [4]string{"email", "search", "social", "direct"}

// UpliftPerson is one person of a simulated campaign: attributes, ground truth, arm and outcome.
type UpliftPerson struct {
	ID int
	// Observable attributes: visits in the last 90 days, days since the last visit, mean basket,
	// days since the first visit, arrival channel.
	Visits, Recency, Basket, Tenure float64
	Channel                         string
	// Ground truth: the group and the true conversion probabilities in either arm.
	Group              UpliftGroup
	PControl, PTreated float64
	// What happened: the arm drawn and the outcome drawn in it.
	Treated, Converted bool
}

// TrueUplift is the treatment's true effect on the person's conversion probability.
func (p *UpliftPerson) TrueUplift() float64 { return p.PTreated - p.PControl }

// UpliftConfig describes a simulated campaign.
type UpliftConfig struct {
	People       int     // how many; 0 means 20,000
	TreatedShare float64 // share of people treated (the rest is the holdout); 0 means 0.5
	Seed         uint64
}

// UpliftCampaign simulates a randomised campaign. The same config gives the same people: each
// person draws from their own stream of the seed.
func UpliftCampaign(cfg UpliftConfig) []UpliftPerson {
	n := cfg.People
	if n <= 0 {
		n = 20000
	}
	share := cfg.TreatedShare
	if share <= 0 || share >= 1 {
		share = 0.5
	}
	var groupCum []float64
	for _, g := range upliftGroups {
		groupCum = append(groupCum, g.share)
	}
	cumulate(groupCum)
	chanCum := make([][]float64, numUpliftGroups)
	for g := range upliftGroups {
		chanCum[g] = cumulate(append([]float64(nil), upliftGroups[g].channel[:]...))
	}
	out := make([]UpliftPerson, n)
	for i := range out {
		r := newRand(cfg.Seed, keyUplift, uint64(i))
		g := UpliftGroup(pick(r, groupCum))
		gp := &upliftGroups[g]
		p := UpliftPerson{ID: i + 1, Group: g, PControl: gp.pControl, PTreated: gp.pTreated}
		// Attributes: a count with the group's mean, exponential recency, log-normal basket and
		// tenure around the group's values: groups overlap, as real ones do.
		p.Visits = float64(geometric(r, gp.visits))
		p.Recency = math.Round(-gp.recency * math.Log(1-r.Float64()))
		p.Basket = math.Round(gp.basket*math.Exp(0.5*r.NormFloat64())*100) / 100
		p.Tenure = math.Round(gp.tenureDays * math.Exp(0.6*r.NormFloat64()))
		p.Channel = upliftChannels[pick(r, chanCum[g])]
		p.Treated = r.Float64() < share
		pc := p.PControl
		if p.Treated {
			pc = p.PTreated
		}
		p.Converted = r.Float64() < pc
		out[i] = p
	}
	return out
}

// WriteUpliftCSV writes people as a CSV with a header: id, visits, recency_days, basket,
// tenure_days, channel, campaign ("offer" for the treated, "holdout" for the control group),
// converted (1/0), and the ground truth group and true_uplift (to be dropped when training).
func WriteUpliftCSV(w io.Writer, people []UpliftPerson) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("id,visits,recency_days,basket,tenure_days,channel,campaign,converted,group,true_uplift\n")
	var b []byte
	for i := range people {
		p := &people[i]
		b = strconv.AppendInt(b[:0], int64(p.ID), 10)
		for _, v := range []float64{p.Visits, p.Recency, p.Basket, p.Tenure} {
			b = append(b, ',')
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
		b = append(b, ',')
		b = append(b, p.Channel...)
		if p.Treated {
			b = append(b, ",offer"...)
		} else {
			b = append(b, ",holdout"...)
		}
		if p.Converted {
			b = append(b, ",1,"...)
		} else {
			b = append(b, ",0,"...)
		}
		b = append(b, p.Group.String()...)
		b = append(b, ',')
		b = strconv.AppendFloat(b, p.TrueUplift(), 'g', 4, 64)
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}
