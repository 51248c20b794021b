package edge

import (
	"fmt"
	"net/http"
)

// MetricsHandler serves the counters of [Edge.Metrics] in the Prometheus text format
// (presage_edge_<name>_total), so that dropped batches and cookies show on the dashboards that
// already scrape the proxy.
func (e *Edge) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := e.Metrics()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		for _, c := range []struct {
			name string
			v    uint64
		}{
			{"requests", m.Requests}, {"passed", m.Passed}, {"personalised", m.Personalised},
			{"module_errors", m.ModuleErrors}, {"new_visitors", m.NewVisitors}, {"returning", m.Returning},
			{"bad_cookies", m.BadCookies}, {"bad_profiles", m.BadProfiles}, {"cookies_compressed", m.CookiesCompressed},
			{"cookies_dropped", m.CookiesDropped}, {"cookies_deleted", m.CookiesDeleted}, {"rewrite_errors", m.RewriteErrors},
			{"batches_queued", m.BatchesQueued}, {"batches_sent", m.BatchesSent}, {"batches_failed", m.BatchesFailed},
			{"batches_dropped", m.BatchesDropped},
		} {
			fmt.Fprintf(w, "# TYPE presage_edge_%s_total counter\npresage_edge_%s_total %d\n", c.name, c.name, c.v)
		}
	})
}
