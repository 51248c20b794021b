// Package sim simulates the traffic of a shop, with its ground truth kept next to the events.
//
// Presage's models are trained, tested and demonstrated on first-party event streams. Real streams
// have no answer key: nobody knows whether a visitor was "alive", what their true propensity was, or
// what a campaign truly changed. The simulator produces streams whose answers are known, so that
// training can be checked against the truth (does the propensity model find the buyers, does the
// BG/NBD fit recover the dropout, does the bandit find the best variant, does the uplift model find
// the persuadable).
//
// The generative story, in short:
//
//   - a [Catalogue] of items in categories, with log-normal prices per category, Zipf popularity and
//     latent embeddings; categories come in families ("cameras" with "memory-cards"), so that
//     "bought together" and "viewed together" structure exists for the recommenders to find;
//   - visitors of a few [Archetype]s with latent traits: favourite categories, a base buying
//     propensity, price sensitivity, a channel mix, a device, preferred hours, and a BG/NBD-like
//     rhythm (Poisson visits while alive, a dropout chance after each purchase);
//   - sessions in which a latent buying intent is drawn from a logistic model of the context
//     (channel, device, returning customer, recency, a cart left from an earlier visit, a campaign
//     exposure) and then drives observable behaviour (product views, dwell, cart adds, checkout),
//     with enough noise that a logistic model on the observable behaviour reaches an AUC near 0.9,
//     not 0.99;
//   - a holdout period after the observation period, simulated the same way, whose purchases are the
//     labels of "buys in the next N days" and of the value models.
//
// Everything is deterministic for a [Config.Seed]: visitor i is generated from (Seed, i) alone, so
// visitors can be generated lazily, in any order or in parallel, and still be identical. No wall
// clock is read: every time derives from [Config.Start].
//
// The interactive mode (a campaign shown by the agent changes what the visitor does) goes through
// [Responder]: the simulator asks it, once per session, what the site shows, and applies the true
// effect of that exposure ([Config.Uplift]) to the visitor's intent. The truth of every session
// records both its conversion probability and the part of it the exposure caused.
package sim
