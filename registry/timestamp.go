package registry

import "time"

// LogicalBits is the number of low bits of a Milvus hybrid timestamp that hold
// the logical counter; the bits above hold the physical time in milliseconds
// since the Unix epoch.
const LogicalBits = 18

const (
	logicalMask = 1<<LogicalBits - 1
	dayMillis   = 24 * 60 * 60 * 1000
)

// ComposeTS builds a Milvus hybrid timestamp from a physical time (kept to the
// millisecond) and a logical counter (only its low [LogicalBits] bits are kept).
func ComposeTS(physical time.Time, logical uint32) uint64 {
	return uint64(physical.UnixMilli())<<LogicalBits | uint64(logical)&logicalMask
}

// ParseTS splits a Milvus hybrid timestamp into its physical time and its
// logical counter.
func ParseTS(ts uint64) (physical time.Time, logical uint32) {
	return time.UnixMilli(int64(ts >> LogicalBits)), uint32(ts & logicalMask)
}

// Mod24H returns ts with its physical part reduced modulo 24 hours and its
// logical part kept, as Milvus's tsoutil.Mod24H does. The result is below
// 2^45, so a float64 gauge holds it exactly. This is the value Milvus v2.0's
// "Time tick of … in 24H" gauges hold.
func Mod24H(ts uint64) uint64 {
	physical := (ts >> LogicalBits) % dayMillis
	return physical<<LogicalBits | ts&logicalMask
}
