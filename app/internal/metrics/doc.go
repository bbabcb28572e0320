// Package metrics holds the service's Prometheus series on a registry of their own, so that two
// services in one test process never collide. Every stage records into the one Metrics the
// runtime makes; /metrics serves its Handler.
package metrics
