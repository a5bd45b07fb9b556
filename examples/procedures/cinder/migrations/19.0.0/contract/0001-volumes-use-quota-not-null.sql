-- Once every volume has use_quota (the data migration is complete; ferry refuses this file until
-- it is) and nothing runs 18.0.0 any more, which wrote volumes without it.
ALTER TABLE volumes ALTER COLUMN use_quota SET NOT NULL;
