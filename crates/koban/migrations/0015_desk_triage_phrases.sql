-- Phrases a desk admin adds to triage's rule layer, beside the built-in
-- list. Removing one keeps the row (who removed it and when), so the
-- history of what steered triage stays readable.
CREATE TABLE desk_triage_phrases (
    id {id},
    -- A category, `urgent`, `urgent@<category>` or `-` (a guard).
    target TEXT NOT NULL,
    phrase TEXT NOT NULL,
    weight DOUBLE PRECISION NOT NULL,
    created_by BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    removed_by BIGINT REFERENCES accounts(id),
    removed_at BIGINT
);
CREATE INDEX desk_triage_phrases_live ON desk_triage_phrases(removed_at, id);
