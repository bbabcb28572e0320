package kubeapi

import (
	"log/slog"

	"github.com/go-logr/logr"
)

// The line controller-runtime's manager logs at ERROR on every clean shutdown of a leader: it
// cancels its own leader election, whose OnStoppedLeading sends this error, and its stop
// procedure logs whatever error arrives meanwhile (pkg/manager/internal.go,
// kubernetes-sigs/controller-runtime#3535).
const (
	stopEngagedMsg = "error received after stop sequence was engaged"
	leaderLostMsg  = "leader election lost"
)

// managerLogger is the service's logger for controller-runtime, with that one line at INFO: a
// lease handed back on shutdown is what LeaderElectionReleaseOnCancel asks for, and an ERROR
// at each rolling update would teach operators to ignore errors. A lease lost while running
// still ends Run with the error.
func managerLogger(h slog.Handler) logr.Logger {
	return logr.New(releaseSink{logr.FromSlogHandler(h).GetSink()})
}

// releaseSink passes everything to its sink but the shutdown's lease release.
type releaseSink struct{ logr.LogSink }

func (s releaseSink) Error(err error, msg string, kv ...any) {
	if msg == stopEngagedMsg && err != nil && err.Error() == leaderLostMsg {
		s.LogSink.Info(0, "leader election lease released on shutdown", kv...)
		return
	}
	s.LogSink.Error(err, msg, kv...)
}

func (s releaseSink) WithValues(kv ...any) logr.LogSink {
	return releaseSink{s.LogSink.WithValues(kv...)}
}

func (s releaseSink) WithName(name string) logr.LogSink {
	return releaseSink{s.LogSink.WithName(name)}
}
