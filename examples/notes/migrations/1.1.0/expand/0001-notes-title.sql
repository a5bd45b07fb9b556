-- 1.1.0 keeps a note's text in notes.title. Additive: 1.0.x servers keep running on this schema
-- (they never name the column), so ferry applies it before the first 1.1.0 server starts.
ALTER TABLE notes ADD COLUMN title TEXT;
