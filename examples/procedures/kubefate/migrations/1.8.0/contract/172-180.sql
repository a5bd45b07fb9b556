-- KubeFATE's per-version SQL for 1.8.0 (see 170-171.sql).
ALTER TABLE t_job ADD COLUMN f_inheritance_info TEXT;
ALTER TABLE t_task ADD COLUMN f_provider_info TEXT;
INSERT INTO t_schema_upgrade (f_script, f_applied_at) VALUES ('172-180.sql', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
