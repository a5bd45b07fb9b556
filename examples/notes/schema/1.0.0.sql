-- The database of notes 1.0.0 on SQLite (1.0.0.postgres.sql is the same for PostgreSQL), as a new
-- installation starts it (`ferry demo` and the tests run this file first). Every later change
-- comes through ferry's migrations in ../migrations.
-- Times are SQLite's text clock, "YYYY-MM-DD HH:MM:SS.SSS" UTC: it sorts in time order, and
-- `ferry db purge --table jobs --column done_at` compares it as text.

CREATE TABLE notes (
  id INTEGER PRIMARY KEY,
  body TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);

-- format: the message format of payload (1 in 1.0.x; 1.1 adds 2). claimed_at and worker let a
-- job whose worker died be queued again; attempts counts the claims.
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  payload TEXT NOT NULL,
  format INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  claimed_at TEXT,
  done_at TEXT,
  worker TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  error TEXT
);

-- The workers' claim looks for the oldest queued job; this keeps that a lookup, not a scan.
CREATE INDEX jobs_by_state ON jobs (state, id);
