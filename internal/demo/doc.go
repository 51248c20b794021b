// Package demo trains Presage's demonstration bundle on simulated traffic and drives simulated
// visitors through the module. It is the engine of `presage demo` and `presage train simulated`, and
// the source of the conformance corpus.
//
// Training never computes a feature of its own: every training row is the agent's feature vector,
// obtained by replaying the visitor's events through package agent, so what is trained is what is served.
package demo
