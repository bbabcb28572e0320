//go:build race

package builder

// raceDetector: sync.Pool drops what is put back under the race detector, so regexp and others
// allocate far more than in a normal build; allocation bounds are only checked without it.
const raceDetector = true
