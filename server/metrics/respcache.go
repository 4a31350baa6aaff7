package metrics

import "time"

// ObserveCachedAnswer records an answer the response cache served (it never
// reached gqlgen) as one request of the named operation taking d, in
// exactql_graphql_requests_total and exactql_graphql_request_duration_seconds
// like an executed one; "" is an unnamed operation. A name no executed
// operation has used yet is counted as "other" (a cached answer always had
// one executed before, so this is only a safeguard).
func (m *Metrics) ObserveCachedAnswer(operation string, d time.Duration) {
	name := LabelAnonymous
	if operation != "" {
		name = m.ops.known(operation)
	}
	m.gqlRequests.WithLabelValues(name).Inc()
	m.gqlDuration.WithLabelValues(name).Observe(max(0, d).Seconds())
}
