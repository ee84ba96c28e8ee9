//go:build !race

package vmesstest

// XrayRaceFree: see race_on.go.
const XrayRaceFree = true
