// Package serve watches VMess servers continuously: it probes groups of
// targets on a schedule with package probe and serves what it finds as
// Prometheus metrics (/metrics), blackbox_exporter-style on-demand probes
// (/probe?target=…&module=…), a self-contained status page (/), a
// newline-delimited JSON stream of results (/events) and a health check
// (/healthz).
//
// A group's cycle probes its targets in a probe run per plan (plain
// probes, clock offset measurements, short rechecks of rejecting servers),
// side by side under the group's concurrency bound, so a slow batch does
// not hold back the others; a target whose previous probe is still
// running is skipped, never probed twice at once. Cycles start every
// interval, give or take a 5% jitter.
//
// Targets come from share links, files that convert reads, and
// subscription URLs (with a FetchFunc), listed on the command line or in a
// YAML config of groups. Reload (and a change to a watched file) reads
// them again; targets that did not change keep their results and history.
//
// Every series is labelled name, server, transport and group (and the
// config's extra labels), never with a user id; the series per target are
// bounded and listed in docs/serve.md.
package serve
