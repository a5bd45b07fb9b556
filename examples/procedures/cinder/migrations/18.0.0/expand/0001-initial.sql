-- The schema of a new 18.0.0 installation (`ferry db migrate --to 18.0.0` on an empty database).
-- services: one row per service and host; Cinder detects RPC versions from it (orphans block newer services).
CREATE TABLE services (
  id serial PRIMARY KEY,
  "binary" text NOT NULL,
  host text NOT NULL,
  version text,
  rpc_current_version text,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz,
  UNIQUE ("binary", host)
);
-- Volumes are soft-deleted (deleted, deleted_at): `ferry db purge` removes the old ones.
CREATE TABLE volumes (
  id serial PRIMARY KEY,
  display_name text,
  size integer NOT NULL,
  status text NOT NULL,
  host text,
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted boolean NOT NULL DEFAULT false,
  deleted_at timestamptz
);
-- key 'temporary' marks a volume that does not count towards the quota (a migration's target).
CREATE TABLE volume_admin_metadata (
  id serial PRIMARY KEY,
  volume_id integer NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
  key text NOT NULL,
  value text NOT NULL,
  deleted boolean NOT NULL DEFAULT false
);
CREATE TABLE backups (
  id serial PRIMARY KEY,
  volume_id integer NOT NULL UNIQUE REFERENCES volumes (id) ON DELETE CASCADE,
  host text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
