//go:build !race

package builder

const raceDetector = false
