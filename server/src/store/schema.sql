-- The nowls store: one SQLite database per project, <root>/.now/db.sqlite, in WAL mode.
--
-- This file is the whole current schema; a new store is created from it and stamped with
-- PRAGMA user_version = 3. An older store is brought forward by the steps in
-- migrations.ts (forward only); a store with a higher version than this file is refused.
-- History: 1, the first; 2, code.elided (coarse mode records the first calls_keep
-- activations of each code object and counts the rest); 3, trial.incomplete (what the
-- record misses when it could not be kept whole: a full disk, a tracer that had to stop).
--
-- Contents (scripts, modules, accessed files) are not here: they are blobs in
-- .now/content/, named by the SHA-256 hashes these tables hold.
--
-- Times: trial.started_at/finished_at are Unix seconds; activation and file times are
-- seconds since the trial's t0 (trial.started_at), as in the event log.
-- Paths: root-relative when under the project root, absolute otherwise.
--
-- History:
--   1  2026-11-26  trials, deployment, environment, modules, code objects, activations,
--                  file accesses, warnings; tags, notes, snapshots, heads; fine-grained
--                  values and their dependencies; definition provenance (file versions,
--                  definitions, their history).
--   2  2026-11-26  code.elided.
--   3  2026-12-07  trial.incomplete.

CREATE TABLE trial (
  id             INTEGER PRIMARY KEY,            -- the number users type: 1, 2, 3 …
  uuid           TEXT NOT NULL UNIQUE,           -- names .now/trials/<uuid>/ and the log
  script         TEXT NOT NULL,
  script_hash    TEXT,                           -- the script as it ran (content store)
  argv           TEXT NOT NULL,                  -- JSON array: the script's sys.argv
  command        TEXT NOT NULL,                  -- the command line, for display
  python         TEXT NOT NULL,                  -- the interpreter `now run` started
  cwd            TEXT NOT NULL,
  root           TEXT NOT NULL,
  granularity    TEXT NOT NULL DEFAULT 'coarse',
  kind           TEXT NOT NULL DEFAULT 'run'
                 CHECK (kind IN ('run', 'backup')),  -- backup: files saved by `now restore`
  status         TEXT NOT NULL
                 CHECK (status IN ('running', 'finished', 'failed', 'interrupted', 'cancelled')),
  exit_code      INTEGER,                        -- NULL when killed by a signal
  signal         TEXT,                           -- e.g. 'SIGKILL' for an interrupted trial
  started_at     REAL NOT NULL,
  finished_at    REAL,
  runner_pid     INTEGER,                        -- the `now run` ingesting the log; lets a
  runner_host    TEXT,                           -- later command finish a killed runner's job
  tracer_pid     INTEGER,
  tracer_version TEXT,
  core           TEXT,                           -- tracer core: settrace | sysmon
  core_reason    TEXT,                           -- why that core, when it was a fallback
  event_version  INTEGER,                        -- version of the event log it came from
  ingested_bytes INTEGER NOT NULL DEFAULT 0,     -- how much of the log is already here;
                                                 -- updated in the same transaction as rows
  exception_type    TEXT,
  exception_message TEXT,
  traceback      TEXT,                           -- JSON [{file, line, function}], innermost last
  stdout_chars   INTEGER,
  stderr_chars   INTEGER,
  parent_id      INTEGER REFERENCES trial(id),   -- the trial whose code this one started from
  incomplete     TEXT                            -- NULL: the record is whole; else why not
                                                 -- (status is still the script's outcome)
);

CREATE TABLE deployment (
  trial_id       INTEGER PRIMARY KEY REFERENCES trial(id) ON DELETE CASCADE,
  os_system      TEXT, os_release TEXT, os_version TEXT, os_name TEXT,
  hostname       TEXT,
  machine        TEXT,
  py_implementation TEXT, py_version TEXT, py_executable TEXT, py_prefix TEXT
);

CREATE TABLE environment (
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  value          TEXT NOT NULL,                  -- '<redacted>' when redacted
  redacted       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (trial_id, name)
) WITHOUT ROWID;

CREATE TABLE module (
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  version        TEXT,
  path           TEXT,
  hash           TEXT,
  local          INTEGER NOT NULL DEFAULT 0,     -- under the root: content is stored
  PRIMARY KEY (trial_id, name)
) WITHOUT ROWID;

-- A code object that ran: the link from execution to definition provenance.
CREATE TABLE code (
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  id             INTEGER NOT NULL,
  file           TEXT NOT NULL,
  name           TEXT NOT NULL,
  qualname       TEXT NOT NULL,
  line           INTEGER NOT NULL,
  kind           TEXT NOT NULL DEFAULT 'function', -- module | class | function | generator |
                                                   -- coroutine | async_generator
  calls          INTEGER,                          -- activations, counted when the trial
  total          REAL,                             -- ends (NULL before): hover and lenses
                                                   -- read them instead of scanning; calls
                                                   -- includes the elided ones, total not
  elided         INTEGER NOT NULL DEFAULT 0,       -- activations after the first calls_keep:
                                                   -- counted by the tracer, no activation row
  PRIMARY KEY (trial_id, id)
) WITHOUT ROWID;

CREATE TABLE activation (
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  id             INTEGER NOT NULL,
  code_id        INTEGER NOT NULL,
  parent_id      INTEGER,                        -- calling activation, NULL for the first
  start          REAL NOT NULL,
  finish         REAL,                           -- NULL: still running when the log ended
  status         TEXT NOT NULL DEFAULT 'running'   -- suspended: a generator at a yield
                 CHECK (status IN ('running', 'suspended', 'returned', 'raised')),
  args           TEXT NOT NULL DEFAULT '[]',     -- JSON [[name, repr], …]
  return_value   TEXT,
  exception_type TEXT,
  exception_message TEXT,
  yields         INTEGER NOT NULL DEFAULT 0,     -- generator/coroutine suspensions
  PRIMARY KEY (trial_id, id)
) WITHOUT ROWID;
-- No secondary indexes: every reader so far scans one trial's activations by the primary
-- key, and a call-heavy trial inserts a million rows; add an index with the query that
-- needs it.

CREATE TABLE file_access (
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  id             INTEGER NOT NULL,
  activation_id  INTEGER,
  path           TEXT NOT NULL,
  mode           TEXT NOT NULL,
  hash_before    TEXT,                           -- NULL: did not exist before
  hash_after     TEXT,                           -- NULL: not closed yet, or unreadable
  opened_at      REAL NOT NULL,
  closed_at      REAL,
  closed_at_exit INTEGER NOT NULL DEFAULT 0,     -- never closed by the script
  PRIMARY KEY (trial_id, id)
) WITHOUT ROWID;

CREATE TABLE trial_warning (
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  seq            INTEGER NOT NULL,
  message        TEXT NOT NULL,
  PRIMARY KEY (trial_id, seq)
) WITHOUT ROWID;

-- A name for a trial, usable wherever a trial number is.
CREATE TABLE tag (
  name           TEXT PRIMARY KEY,
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  created_at     REAL NOT NULL
);

CREATE TABLE note (
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  seq            INTEGER NOT NULL,
  text           TEXT NOT NULL,
  created_at     REAL NOT NULL,
  PRIMARY KEY (trial_id, seq)
) WITHOUT ROWID;

-- Files a backup trial saved before `now restore` overwrote them (a run trial's files are
-- its script, local modules and file accesses instead).
CREATE TABLE snapshot (
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  path           TEXT NOT NULL,
  hash           TEXT NOT NULL,
  role           TEXT NOT NULL CHECK (role IN ('script', 'module', 'input')),
  PRIMARY KEY (trial_id, path)
) WITHOUT ROWID;

-- For each script, the trial its next run derives from: the last trial of that script, or
-- the one `now restore` put back. A new trial's parent_id is read from here.
CREATE TABLE head (
  script         TEXT PRIMARY KEY,
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE
);

-- Fine granularity: a value a target got (kind 'return' for an activation's return value,
-- 'elided' for the stand-in of the loop values that were not kept; count says how many).
CREATE TABLE value (
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  id             INTEGER NOT NULL,
  activation_id  INTEGER NOT NULL,
  line           INTEGER NOT NULL,
  col            INTEGER,
  target         TEXT NOT NULL,
  kind           TEXT NOT NULL,
  value          TEXT,
  count          INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (trial_id, id)
) WITHOUT ROWID;

-- What a value was computed from: another value, an activation (its return value), or a
-- file access. Edges point from the source to the value.
CREATE TABLE dependency (
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  value_id       INTEGER NOT NULL,
  source_kind    TEXT NOT NULL CHECK (source_kind IN ('value', 'activation', 'file')),
  source_id      INTEGER NOT NULL,
  PRIMARY KEY (trial_id, value_id, source_kind, source_id)
) WITHOUT ROWID;
-- An alias rewrites edges to an elided value: found by source.
CREATE INDEX dependency_by_source ON dependency (trial_id, source_kind, source_id);

-- Lines the tracer could not analyse: their values are unknown, not missing.
CREATE TABLE unknown_line (
  trial_id       INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
  activation_id  INTEGER NOT NULL,
  line           INTEGER NOT NULL,
  reason         TEXT NOT NULL,
  PRIMARY KEY (trial_id, activation_id, line)
) WITHOUT ROWID;

-- Definition provenance, kept by the daemon's index (tree-sitter). A file version is
-- named by its content hash, the same hash trials record for their script and local
-- modules: that is how a trial links to the definitions it ran.
CREATE TABLE file_version (
  hash           TEXT PRIMARY KEY,
  errors         INTEGER NOT NULL DEFAULT 0,       -- syntax errors tree-sitter recovered from
  skipped        TEXT,                             -- binary | too large: not parsed
  indexed_at     REAL NOT NULL,
  data           TEXT NOT NULL                     -- the whole index as JSON (calls, imports …)
);

CREATE TABLE definition (
  file_hash      TEXT NOT NULL REFERENCES file_version(hash) ON DELETE CASCADE,
  qualname       TEXT NOT NULL,                    -- as Python's __qualname__
  kind           TEXT NOT NULL,                    -- function | class
  line           INTEGER NOT NULL,                 -- 1-based, as tracebacks count
  end_line       INTEGER NOT NULL,
  signature      TEXT NOT NULL,                    -- parameters as written, for display
  signature_hash TEXT NOT NULL,
  body_hash      TEXT NOT NULL,
  PRIMARY KEY (file_hash, qualname)
) WITHOUT ROWID;

-- Which version a path had, and when: saves seen by the watcher, versions trials ran.
CREATE TABLE file_seen (
  path           TEXT NOT NULL,
  hash           TEXT NOT NULL,
  seen_at        REAL NOT NULL,
  source         TEXT NOT NULL CHECK (source IN ('disk', 'trial')),
  PRIMARY KEY (path, seen_at, hash)
) WITHOUT ROWID;

-- Each change of a definition between two consecutive versions of a path.
CREATE TABLE definition_change (
  path           TEXT NOT NULL,
  qualname       TEXT NOT NULL,
  change         TEXT NOT NULL CHECK (change IN ('added', 'removed', 'signature', 'body', 'moved')),
  from_hash      TEXT,
  to_hash        TEXT NOT NULL,
  at             REAL NOT NULL
);
CREATE INDEX definition_change_by_name ON definition_change (qualname, at);
