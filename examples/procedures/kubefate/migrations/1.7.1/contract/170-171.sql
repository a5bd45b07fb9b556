-- KubeFATE's per-version SQL, run by ferry once the cluster runs 1.7.1 or later (a contract
-- migration: after the roll and the point of no return), in sequence with those of later releases.
ALTER TABLE t_job ADD COLUMN f_cores INTEGER DEFAULT 0;
INSERT INTO t_schema_upgrade (f_script, f_applied_at) VALUES ('170-171.sql', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
