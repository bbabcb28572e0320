package sqlite

// storeSchema is the store's migration history; append, never edit (see Migrate).
// Times are INTEGER nanoseconds since 1970 UTC, 0 for "not yet".
var storeSchema = []string{
	// 1: the first schema.
	`CREATE TABLE repositories (
		id              INTEGER PRIMARY KEY AUTOINCREMENT,
		forge           TEXT NOT NULL,
		forge_id        TEXT NOT NULL,
		owner           TEXT NOT NULL,
		name            TEXT NOT NULL,
		path_key        TEXT NOT NULL UNIQUE,
		default_branch  TEXT NOT NULL DEFAULT '',
		private         INTEGER NOT NULL DEFAULT 0,
		installation_id INTEGER NOT NULL DEFAULT 0,
		disabled        INTEGER NOT NULL DEFAULT 0,
		created         INTEGER NOT NULL,
		UNIQUE (forge, forge_id)
	);
	CREATE TABLE events (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		forge       TEXT NOT NULL,
		delivery_id TEXT NOT NULL,
		kind        TEXT NOT NULL,
		payload     BLOB,
		received    INTEGER NOT NULL,
		processed   INTEGER NOT NULL DEFAULT 0,
		UNIQUE (forge, delivery_id)
	);
	CREATE INDEX events_by_state ON events (processed, received);
	CREATE TABLE builds (
		id           INTEGER PRIMARY KEY AUTOINCREMENT,
		repo_id      INTEGER NOT NULL REFERENCES repositories (id),
		commit_sha   TEXT NOT NULL,
		ref_kind     TEXT NOT NULL,
		ref_name     TEXT NOT NULL,
		trigger_kind TEXT NOT NULL,
		actor        TEXT NOT NULL DEFAULT '',
		forced       INTEGER NOT NULL DEFAULT 0,
		status       TEXT NOT NULL,
		created      INTEGER NOT NULL,
		started      INTEGER NOT NULL DEFAULT 0,
		finished     INTEGER NOT NULL DEFAULT 0,
		delivery_id  TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX builds_by_ref ON builds (repo_id, ref_kind, ref_name, id);
	CREATE TABLE jobs (
		id           INTEGER PRIMARY KEY AUTOINCREMENT,
		build_id     INTEGER NOT NULL REFERENCES builds (id),
		series       TEXT NOT NULL,
		arch         TEXT NOT NULL,
		image        TEXT NOT NULL DEFAULT '',
		content_key  TEXT NOT NULL DEFAULT '',
		status       TEXT NOT NULL,
		check_run_id TEXT NOT NULL DEFAULT '',
		result       BLOB,
		log_path     TEXT NOT NULL DEFAULT '',
		created      INTEGER NOT NULL,
		started      INTEGER NOT NULL DEFAULT 0,
		finished     INTEGER NOT NULL DEFAULT 0,
		attempts     INTEGER NOT NULL DEFAULT 0,
		worker_id    TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX jobs_by_build ON jobs (build_id, id);
	CREATE INDEX jobs_by_content ON jobs (content_key, status, finished);`,
	// 2: where workers clone a repository from.
	`ALTER TABLE repositories ADD COLUMN clone_url TEXT NOT NULL DEFAULT '';`,
	// 3: PendingJobs reads jobs by status.
	`CREATE INDEX jobs_by_status ON jobs (status, id);`,
	// 4: per-project and per-group webhook secrets, by their hash.
	`CREATE TABLE webhook_secrets (
		id         INTEGER PRIMARY KEY,
		forge      TEXT NOT NULL,
		scope_kind TEXT NOT NULL,
		scope_id   INTEGER NOT NULL,
		sha256     TEXT NOT NULL,
		note       TEXT NOT NULL DEFAULT '',
		created_by TEXT NOT NULL DEFAULT '',
		created    INTEGER NOT NULL,
		UNIQUE (forge, sha256, scope_kind, scope_id)
	);`,
	// 5: repositories registered by URL: how to reach them, and their poll state.
	`CREATE TABLE remotes (
		repo_id  INTEGER PRIMARY KEY,
		data     BLOB NOT NULL
	);`,
	// 6: build configurations given outside the repository (a Kubernetes Repository's spec).
	`CREATE TABLE repo_configs (
		repo_id  INTEGER PRIMARY KEY,
		data     BLOB NOT NULL
	);`,
}
