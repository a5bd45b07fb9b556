-- KubeFATE's per-version SQL for 1.7.2 (see 170-171.sql).
CREATE TABLE t_storage_connector (
  f_name VARCHAR(100) NOT NULL PRIMARY KEY,
  f_engine VARCHAR(100) NOT NULL,
  f_connector_info TEXT
);
INSERT INTO t_schema_upgrade (f_script, f_applied_at) VALUES ('171-172.sql', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
