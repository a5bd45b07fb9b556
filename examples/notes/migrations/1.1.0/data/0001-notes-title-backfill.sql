-- Copies the text of notes written by 1.0.x into title, {{batch}} notes per run, until none is
-- left. Notes are never edited, so a copied title cannot go stale; 1.1.x writes both columns.
UPDATE notes SET title = body
WHERE id IN (SELECT id FROM notes WHERE title IS NULL AND body IS NOT NULL LIMIT {{batch}});
