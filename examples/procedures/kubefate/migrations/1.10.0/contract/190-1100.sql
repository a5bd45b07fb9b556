-- KubeFATE's per-version SQL for 1.10.0 (see 170-171.sql).
CREATE TABLE t_permission (
  f_role VARCHAR(50) NOT NULL,
  f_party_id VARCHAR(10) NOT NULL,
  f_type VARCHAR(50) NOT NULL,
  f_value TEXT NOT NULL
);
INSERT INTO t_schema_upgrade (f_script, f_applied_at) VALUES ('190-1100.sql', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
