-- 1.2.0 reads and writes title only. Destructive: ferry runs it once every server runs 1.2.0, and
-- a hop to 1.2.0 requires 1.1.0's back-fill done, so no note has its text in body alone.
ALTER TABLE notes DROP COLUMN body;
