// Package shop is Presage's demo shop: a few hundred products in categories, home, category,
// search and product pages marked up with data-presage-* attributes, a cart and a checkout whose
// purchase reaches presage.js through the dataLayer, and slots for the demo bundle's campaigns (a
// pop-in offer for a propensity band, a banner A/B test, a recommendations carousel).
//
// It is what a site integrator does, and nothing more: the pages carry the script tag and a few
// attributes; scoring, segments, decisions and recommendations happen in the visitor's browser. The
// shop serves everything from one origin (the sync server's handler is mounted under /v1/), with
// no external CDN, so that `make demo` works offline on loopback. [Start] runs the shop and the sync
// server together, as `presage demo` does.
package shop
