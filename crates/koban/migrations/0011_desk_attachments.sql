-- Attachments, merge and split, category forms, identity documents.
-- Times are BIGINT milliseconds (UTC); JSON as TEXT.

-- A file uploaded before the ticket or message that carries it exists
-- (the Zendesk flow: upload, get a token, name the token when posting).
-- Only the token's keyed hash is kept; a token is used once and expires.
CREATE TABLE desk_uploads (
    id {id},
    token_hash TEXT NOT NULL UNIQUE,
    -- The session that uploaded it; a signed-out upload has none and its
    -- token alone is the capability.
    uploader_account_id BIGINT REFERENCES accounts(id),
    -- attachment or identity_document.
    kind TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    thumbnail_key TEXT,
    file_name TEXT NOT NULL,
    file_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    CHECK (kind IN ('attachment', 'identity_document'))
);
CREATE INDEX desk_uploads_by_expiry ON desk_uploads(expires_at);

CREATE TABLE desk_attachments (
    id {id},
    ticket_id BIGINT NOT NULL REFERENCES desk_tickets(id),
    message_id BIGINT REFERENCES desk_messages(id),
    kind TEXT NOT NULL,
    -- Content-addressed blob names (identity documents: of the sealed bytes).
    blob_key TEXT NOT NULL,
    thumbnail_key TEXT,
    -- Sanitised by koban_policy::desk::attachment::inspect.
    file_name TEXT NOT NULL,
    -- What the content is, detected from its bytes.
    file_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    uploader_account_id BIGINT REFERENCES accounts(id),
    -- Identity documents: the agent who asked for it (the verifying
    -- agent, who with supervisors alone may open it) and when it goes.
    verifier_account_id BIGINT REFERENCES accounts(id),
    delete_after BIGINT,
    created_at BIGINT NOT NULL,
    CHECK (kind IN ('attachment', 'identity_document'))
);
CREATE INDEX desk_attachments_by_ticket ON desk_attachments(ticket_id, id);
CREATE INDEX desk_attachments_by_expiry ON desk_attachments(delete_after);

-- An agent's request for an identity document on a ticket (the
-- lost-everything path); the requester's upload answers it.
CREATE TABLE desk_document_requests (
    id {id},
    ticket_id BIGINT NOT NULL REFERENCES desk_tickets(id),
    agent_id BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    fulfilled_at BIGINT
);
CREATE INDEX desk_document_requests_by_ticket ON desk_document_requests(ticket_id, id);

-- A category form changed by a desk admin: the extra fields it asks for
-- (as JSON), beside the built-in defaults.
CREATE TABLE desk_forms (
    category TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    updated_by BIGINT NOT NULL REFERENCES accounts(id),
    updated_at BIGINT NOT NULL
);

-- Every change to a form, with who made it.
CREATE TABLE desk_form_changes (
    id {id},
    category TEXT NOT NULL,
    definition TEXT NOT NULL,
    actor_account_id BIGINT NOT NULL REFERENCES accounts(id),
    at BIGINT NOT NULL
);
