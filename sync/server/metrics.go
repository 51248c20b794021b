package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series. Labels take a handful of fixed values (route
// patterns, status codes, reasons): nothing from the request, so that a client cannot make the
// series grow.
type metrics struct {
	requests *prometheus.CounterVec   // route, code
	duration *prometheus.HistogramVec // route
	batches  *prometheus.CounterVec   // result: accepted, duplicate
	rejected *prometheus.CounterVec   // reason
	cells    prometheus.Counter
	// updatesDropped counts batches whose model updates were dropped at ingest, by reason
	// (fedround.go); their cells still count.
	updatesDropped *prometheus.CounterVec
	commitSecs     prometheus.Histogram
	groupSize      prometheus.Histogram
	commitErrs     prometheus.Counter
	handler        http.Handler
	gatherer       prometheus.Gatherer // what handler serves; the dashboard reads the ingest counters from it
}

// Rejection reasons of POST /v1/batches, the values of presage_ingest_rejected_total's label.
const (
	reasonOrigin      = "origin"
	reasonMediaType   = "media_type"
	reasonRateLimited = "rate_limited"
	reasonTooLarge    = "too_large"
	reasonDecode      = "decode"
	reasonInvalid     = "invalid"
	reasonUnavailable = "unavailable"
)

func newMetrics(reg prometheus.Registerer, gat prometheus.Gatherer, queueDepth func() float64) (*metrics, error) {
	if reg == nil && gat == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg, gat = r, r
	}
	if gat == nil {
		g, ok := reg.(prometheus.Gatherer)
		if !ok {
			return nil, errors.New("server: config: Registerer set without a Gatherer")
		}
		gat = g
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "presage_http_requests_total",
			Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "presage_http_request_duration_seconds",
			Help:    "Time to answer a request, by route pattern; for batches it includes waiting for the commit.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"route"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "presage_ingest_batches_total",
			Help: "Batches acknowledged: accepted (counted now) or duplicate (counted before)."}, []string{"result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "presage_ingest_rejected_total",
			Help: "Batches refused, by reason."}, []string{"reason"}),
		cells: prometheus.NewCounter(prometheus.CounterOpts{Name: "presage_ingest_cells_total",
			Help: "Learning cells counted."}),
		updatesDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "presage_ingest_updates_dropped_total",
			Help: "Batches whose federated model updates were dropped (their cells still count): stale_bundle (not the bundle served now), invalid."}, []string{"reason"}),
		commitSecs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "presage_ingest_commit_seconds",
			Help:    "Duration of one group commit (one transaction, one fsync).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1, 5}}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "presage_ingest_group_size",
			Help:    "Batches per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12)}),
		commitErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: "presage_ingest_commit_errors_total",
			Help: "Group commits that failed; their batches were answered 503 and will be retried."}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "presage_ingest_queue_depth",
		Help: "Batches waiting for the committer."}, queueDepth)
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.batches, m.rejected, m.cells, m.updatesDropped, m.commitSecs, m.groupSize, m.commitErrs, depth} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("server: register metrics"), err)
		}
	}
	for _, r := range []string{"accepted", "duplicate"} {
		m.batches.WithLabelValues(r)
	}
	for _, r := range []string{dropStale, dropInvalid} {
		m.updatesDropped.WithLabelValues(r)
	}
	for _, r := range []string{reasonOrigin, reasonMediaType, reasonRateLimited, reasonTooLarge, reasonDecode, reasonInvalid, reasonUnavailable} {
		m.rejected.WithLabelValues(r)
	}
	m.handler, m.gatherer = promhttp.HandlerFor(gat, promhttp.HandlerOpts{}), gat
	return m, nil
}

// statusWriter records the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and http.MaxBytesReader reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times a route's requests.
func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	obs := m.duration.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		obs.Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}
