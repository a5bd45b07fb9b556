-- KubeFATE's per-version SQL for 1.9.0 (see 170-171.sql).
ALTER TABLE t_job ADD COLUMN f_protocol VARCHAR(50) DEFAULT 'fate';
INSERT INTO t_schema_upgrade (f_script, f_applied_at) VALUES ('180-190.sql', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
