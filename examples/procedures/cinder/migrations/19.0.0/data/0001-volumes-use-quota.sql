-- The online data migration (cinder-manage db online_data_migrations): the volumes 18.0.0 wrote
-- get use_quota from their admin metadata, {{batch}} at a time, while every service runs.
UPDATE volumes v
SET use_quota = NOT COALESCE(
  (SELECT bool_or(m.value::boolean) FROM volume_admin_metadata m
   WHERE m.volume_id = v.id AND m.key = 'temporary' AND NOT m.deleted),
  false)
WHERE v.id IN (SELECT id FROM volumes WHERE use_quota IS NULL ORDER BY id LIMIT {{batch}});
