package redis

import (
	"context"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Keys: job:<id> (JSON); build:<id>:jobs (sorted set of job ids); indexes kept with every write
// of a job: <ref key>:pending (set of queued and running job ids of that ref), success:<content
// key> (sorted set of successful job ids by finish time), repo:<id>:logs (set of job ids that
// still have a log file).

func jobFixTimes(j *store.Job) {
	j.Created, j.Started, j.Finished = j.Created.UTC(), j.Started.UTC(), j.Finished.UTC()
}

// indexJob queues the index changes that follow a job's write; old is the job as it was (zero
// for a new job), b its build.
func (s *Store) indexJob(ctx context.Context, p goredis.Pipeliner, old, j store.Job, b store.Build) {
	pending := s.refKey(b.RepoID, b.Ref) + ":pending"
	if j.Status.Pending() {
		p.SAdd(ctx, pending, j.ID)
		p.ZAdd(ctx, s.key("jobs", "pending"), goredis.Z{Score: float64(j.ID), Member: j.ID})
	} else {
		p.SRem(ctx, pending, j.ID)
		p.ZRem(ctx, s.key("jobs", "pending"), j.ID)
	}
	if old.ContentKey != "" && old.ContentKey != j.ContentKey {
		p.ZRem(ctx, s.key("success", old.ContentKey), j.ID)
	}
	if j.ContentKey != "" {
		if j.Status == store.StatusSuccess {
			p.ZAdd(ctx, s.key("success", j.ContentKey), goredis.Z{Score: score(j.Finished), Member: j.ID})
		} else {
			p.ZRem(ctx, s.key("success", j.ContentKey), j.ID)
		}
	}
	if j.LogPath != "" {
		p.SAdd(ctx, s.key("repo", b.RepoID, "logs"), j.ID)
	} else {
		p.SRem(ctx, s.key("repo", b.RepoID, "logs"), j.ID)
	}
}

// CreateJobs implements store.Store.
func (s *Store) CreateJobs(ctx context.Context, jobs []store.Job) ([]store.Job, error) {
	out := make([]store.Job, 0, len(jobs))
	builds := map[int64]store.Build{}
	for _, j := range jobs {
		if j.Status == "" {
			j.Status = store.StatusQueued
		}
		if j.Created.IsZero() {
			j.Created = now()
		}
		if err := store.CheckJob(j); err != nil {
			return nil, err
		}
		jobFixTimes(&j)
		if _, ok := builds[j.BuildID]; !ok {
			b, err := s.Build(ctx, j.BuildID)
			if err != nil {
				return nil, err
			}
			builds[j.BuildID] = b
		}
		out = append(out, j)
	}
	if len(out) == 0 {
		return out, nil
	}
	last, err := s.c.IncrBy(ctx, s.key("seq", "job"), int64(len(out))).Result()
	if err != nil {
		return nil, fmt.Errorf("numbering jobs: %w", err)
	}
	for i := range out {
		out[i].ID = last - int64(len(out)) + int64(i) + 1
	}
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for _, j := range out {
			p.Set(ctx, s.key("job", j.ID), mustJSON(j), 0)
			p.ZAdd(ctx, s.key("build", j.BuildID, "jobs"), goredis.Z{Score: float64(j.ID), Member: j.ID})
			s.indexJob(ctx, p, store.Job{}, j, builds[j.BuildID])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storing %d jobs: %w", len(out), err)
	}
	return out, nil
}

// Job implements store.Store.
func (s *Store) Job(ctx context.Context, id int64) (store.Job, error) {
	return getJSON[store.Job](ctx, s.c, s.key("job", id), fmt.Sprintf("job %d", id))
}

// UpdateJob implements store.Store.
func (s *Store) UpdateJob(ctx context.Context, id int64, fn func(*store.Job) error) (store.Job, error) {
	first, err := s.Job(ctx, id)
	if err != nil {
		return store.Job{}, err
	}
	// A job's build, and so its repository and ref, never change: read it once, outside WATCH.
	b, err := s.Build(ctx, first.BuildID)
	if err != nil {
		return store.Job{}, fmt.Errorf("reading the build of job %d: %w", id, err)
	}
	k := s.key("job", id)
	var out store.Job
	err = s.atomic(ctx, func(tx *goredis.Tx) error {
		old, err := getJSON[store.Job](ctx, tx, k, fmt.Sprintf("job %d", id))
		if err != nil {
			return err
		}
		j := old
		j.Result = append([]byte(nil), old.Result...)
		if err := fn(&j); err != nil {
			return fmt.Errorf("updating job %d: %w", id, err)
		}
		j.ID, j.BuildID = old.ID, old.BuildID
		if err := store.CheckJob(j); err != nil {
			return err
		}
		jobFixTimes(&j)
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Set(ctx, k, mustJSON(j), 0)
			s.indexJob(ctx, p, old, j, b)
			return nil
		})
		if err != nil {
			return fmt.Errorf("writing job %d: %w", id, err)
		}
		out = j
		return nil
	}, k)
	return out, err
}

func (s *Store) jobsByID(ctx context.Context, ids []string) ([]store.Job, error) {
	keys := make([]string, len(ids))
	for i, x := range ids {
		keys[i] = s.key("job", x)
	}
	js, err := mgetJSON[store.Job](ctx, s.c, keys)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(js, func(a, b store.Job) int { return int(a.ID - b.ID) })
	return js, nil
}

// JobsOfBuild implements store.Store.
func (s *Store) JobsOfBuild(ctx context.Context, buildID int64) ([]store.Job, error) {
	ids, err := s.c.ZRange(ctx, s.key("build", buildID, "jobs"), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("listing jobs of build %d: %w", buildID, err)
	}
	return s.jobsByID(ctx, ids)
}

// LatestSuccessfulJob implements store.Store.
func (s *Store) LatestSuccessfulJob(ctx context.Context, contentKey string) (store.Job, error) {
	ids, err := s.c.ZRevRange(ctx, s.key("success", contentKey), 0, 0).Result()
	if err != nil {
		return store.Job{}, fmt.Errorf("finding a successful job by content key: %w", err)
	}
	if len(ids) == 0 {
		return store.Job{}, fmt.Errorf("successful job with that content key: %w", store.ErrNotFound)
	}
	return getJSON[store.Job](ctx, s.c, s.key("job", ids[0]), "job "+ids[0])
}

// PendingJobsBefore implements store.Store.
func (s *Store) PendingJobsBefore(ctx context.Context, repoID int64, ref store.Ref, buildID int64) ([]store.Job, error) {
	ids, err := s.c.SMembers(ctx, s.refKey(repoID, ref)+":pending").Result()
	if err != nil {
		return nil, fmt.Errorf("listing pending jobs of %s: %w", ref, err)
	}
	js, err := s.jobsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(js, func(j store.Job) bool { return j.BuildID >= buildID || !j.Status.Pending() }), nil
}

// PendingJobs implements store.Store.
func (s *Store) PendingJobs(ctx context.Context, afterID int64, limit int) ([]store.Job, error) {
	ids, err := s.c.ZRangeByScore(ctx, s.key("jobs", "pending"), &goredis.ZRangeBy{
		Min: fmt.Sprintf("(%d", afterID), Max: "+inf", Count: int64(store.Limit(limit)),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("listing pending jobs: %w", err)
	}
	return s.jobsByID(ctx, ids)
}

// ExpiredLogs implements store.Store.
func (s *Store) ExpiredLogs(ctx context.Context, repoID int64, keep int) ([]store.Job, error) {
	ids, err := s.c.SMembers(ctx, s.key("repo", repoID, "logs")).Result()
	if err != nil {
		return nil, fmt.Errorf("listing logs of repository %d: %w", repoID, err)
	}
	js, err := s.jobsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	// A build's rank among its ref's builds, newest first, decides; read each build once.
	expired := map[int64]bool{}
	for _, j := range js {
		if _, seen := expired[j.BuildID]; seen {
			continue
		}
		b, err := s.Build(ctx, j.BuildID)
		if err != nil {
			return nil, err
		}
		rank, err := s.c.ZRevRank(ctx, s.refKey(repoID, b.Ref), fmt.Sprint(b.ID)).Result()
		if err != nil {
			return nil, fmt.Errorf("ranking build %d: %w", b.ID, err)
		}
		expired[b.ID] = rank >= int64(keep)
	}
	return slices.DeleteFunc(js, func(j store.Job) bool { return !expired[j.BuildID] || j.LogPath == "" }), nil
}
