-- Additive, before any service runs 19.0.0 (cinder-manage db sync): 18.0.0 ignores the column,
-- 19.0.0 writes it for every volume it creates and refuses to start without it.
ALTER TABLE volumes ADD COLUMN use_quota boolean;
