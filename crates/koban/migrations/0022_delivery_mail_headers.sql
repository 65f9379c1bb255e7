-- What makes a mail part of a conversation in the reader's client
-- (In-Reply-To, References, Reply-To, Auto-Submitted …), as JSON; NULL
-- for a message that stands alone (a code, a notice).
ALTER TABLE deliveries ADD COLUMN mail_headers TEXT;
