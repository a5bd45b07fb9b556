-- The database of a FATE 1.7.0 cluster that has run for a while, cut down to what the example
-- needs: what KubeFATE's MySQL keeps on its persistent volume (the metadata of the FATE jobs).
-- `./fate install` lays it down on mysql-0's volume; ferry's migrations take it on from there.
CREATE TABLE t_job (
  f_job_id VARCHAR(25) NOT NULL,
  f_role VARCHAR(50) NOT NULL,
  f_party_id VARCHAR(10) NOT NULL,
  f_status VARCHAR(50) NOT NULL,
  f_create_time BIGINT NOT NULL,
  PRIMARY KEY (f_job_id, f_role, f_party_id)
);

CREATE TABLE t_task (
  f_job_id VARCHAR(25) NOT NULL,
  f_task_id VARCHAR(100) NOT NULL,
  f_component_name TEXT NOT NULL,
  f_status VARCHAR(50) NOT NULL,
  PRIMARY KEY (f_job_id, f_task_id)
);

-- Each upgrade script adds its own row: which ran, in what order, and when (the stand-in's
-- record, which the example's test reads beside each pod's events.log).
CREATE TABLE t_schema_upgrade (
  f_id INTEGER PRIMARY KEY AUTOINCREMENT,
  f_script VARCHAR(50) NOT NULL,
  f_applied_at VARCHAR(30) NOT NULL
);

INSERT INTO t_job VALUES ('202206280915551234560', 'guest', '9999', 'success', 1656407755000);
INSERT INTO t_job VALUES ('202206291022087654320', 'guest', '9999', 'success', 1656498128000);
INSERT INTO t_job VALUES ('202206301407331122330', 'host', '10000', 'failed', 1656598053000);
INSERT INTO t_task VALUES ('202206280915551234560', 'reader_0', 'reader_0', 'success');
INSERT INTO t_task VALUES ('202206280915551234560', 'hetero_lr_0', 'hetero_lr_0', 'success');
