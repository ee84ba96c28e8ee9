//go:build !race

package transport_test

// xrayRaceFree: see race_on_test.go.
const xrayRaceFree = true
