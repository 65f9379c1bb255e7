//! Taking a mail in: stored raw (deflated) with its ingest job in one
//! transaction, before the peer is told it was accepted. The SMTP listener
//! answers 250 and IMAP polling records the UID only after [`accept`]
//! returns, so a crash either loses nothing or makes the peer send again.

use super::store::{self, Arrival};
use super::EmailError;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::Arc;

/// Where a mail came from and to whom it was sent.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// `smtp`, or `imap:<mailbox>`.
    pub source: String,
    /// MAIL FROM; empty for a bounce (`<>`) or when IMAP does not say.
    pub mail_from: String,
    /// RCPT TO (each one the desk's, checked by the listener).
    pub recipients: Vec<String>,
}

/// What [`accept`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Stored as this row, its ingest job queued.
    Stored(i64),
    /// A mail with the same Message-ID was stored before; nothing was.
    Duplicate,
}

/// Stores `raw` and queues its ingest. Safe to call twice with the same
/// mail: the second is a [`Accepted::Duplicate`].
pub async fn accept(app: &App, envelope: &Envelope, raw: &[u8]) -> Result<Accepted, EmailError> {
    let now = now_ms();
    let message_id = identity(raw);
    let deflated = deflate(raw).map_err(|e| EmailError::Stored(0, e.to_string()))?;
    let recipients = serde_json::to_string(&envelope.recipients).unwrap_or_else(|_| "[]".into());
    let mut tx = app.store.write().begin().await?;
    let arrival = Arrival {
        source: &envelope.source,
        envelope_from: &envelope.mail_from,
        recipients: &recipients,
        message_id: &message_id,
        raw_deflated: &deflated,
        raw_size: raw.len() as i64,
    };
    let Some(id) = store::insert(&mut tx, &arrival, now).await? else {
        return Ok(Accepted::Duplicate);
    };
    crate::jobs::enqueue(
        &mut *tx,
        super::ingest::JOB.kind,
        &serde_json::json!({ "inbound_id": id }),
        Some(&format!("email-ingest:{id}")),
        now,
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(Accepted::Stored(id))
}

/// The statuses a stored mail can be read again from: those on no ticket.
pub const REPLAYABLE: [&str; 5] = ["unreadable", "review", "held", "automatic", "bounce"];

/// Reads mails in `status` (or mail `only`) again from their raw copies,
/// as if they had just arrived: after a parsing fix, or after a change to
/// the rules. Mails on a ticket are never read again (they would only find
/// themselves there). How many were queued.
pub async fn replay(app: &App, status: &str, only: Option<i64>) -> Result<usize, EmailError> {
    if !REPLAYABLE.contains(&status) {
        return Ok(0);
    }
    let ids = store::replayable(app.store.read(), status, only).await?;
    let now = now_ms();
    let mut queued = 0;
    for id in ids {
        let mut tx = app.store.write().begin().await?;
        if store::rewind(&mut tx, id, status).await? {
            crate::jobs::enqueue(
                &mut *tx,
                super::ingest::JOB.kind,
                &serde_json::json!({ "inbound_id": id }),
                Some(&format!("email-replay:{id}:{now}")),
                now,
            )
            .await?;
            queued += 1;
        }
        tx.commit().await?;
    }
    app.jobs_wakeup.notify_one();
    Ok(queued)
}

/// The identity a mail is deduplicated by: its Message-ID, else a digest
/// of its bytes (Chatwoot skips mails without one; this keeps them).
pub fn identity(raw: &[u8]) -> String {
    let headers = mail_parser::MessageParser::new().parse_headers(raw);
    match headers.as_ref().and_then(|m| m.message_id()) {
        Some(id) if !id.trim().is_empty() && id.len() <= 998 => {
            koban_policy::mail::threading::normalise_message_id(id)
        }
        _ => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    }
}

fn deflate(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(raw.len() / 3), Compression::fast());
    encoder.write_all(raw)?;
    encoder.finish()
}

/// The raw mail back from its deflated copy, refusing to inflate past
/// `limit` bytes: a damaged or hostile copy cannot fill memory.
pub fn inflate(deflated: &[u8], limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let decoder = flate2::read::DeflateDecoder::new(deflated);
    decoder.take(limit as u64 + 1).read_to_end(&mut out)?;
    if out.len() > limit {
        return Err(std::io::Error::other(
            "inflates past the message size limit",
        ));
    }
    Ok(out)
}

/// Job kind: drop raw copies past `email_raw_retention_days`.
pub const PRUNE_JOB: JobKind = JobKind {
    kind: "email.prune_raw",
    every_ms: Some(crate::jobs::HOUR_MS),
    run: run_prune,
};

fn run_prune<'a>(app: &'a Arc<App>, _job: &'a crate::jobs::Job) -> JobFuture<'a> {
    Box::pin(async move {
        let days = app.config.email_raw_retention_days.max(1);
        let before = now_ms() - days * 86_400_000;
        // In slices, so one run never holds the writer for long.
        loop {
            let pruned = store::prune_raw(app.store.write(), before, 500)
                .await
                .map_err(|e| e.to_string())?;
            if pruned < 500 {
                return Ok(());
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_deflates_and_inflates_back_within_its_limit() {
        let raw = b"Subject: hi\r\n\r\n".repeat(1000);
        let deflated = deflate(&raw).unwrap();
        assert!(deflated.len() < raw.len() / 10);
        assert_eq!(inflate(&deflated, raw.len()).unwrap(), raw);
        assert!(inflate(&deflated, raw.len() - 1).is_err());
    }

    #[test]
    fn a_mail_is_known_by_its_message_id_else_by_its_digest() {
        assert_eq!(
            identity(b"Message-ID: <a.b@x.example>\r\n\r\nhi"),
            "a.b@x.example"
        );
        let bare = identity(b"Subject: none\r\n\r\nhi");
        assert!(bare.starts_with("sha256:"), "{bare}");
        assert_ne!(bare, identity(b"Subject: none\r\n\r\nho"));
        // Not a mail at all still gets an identity.
        assert!(identity(b"\xff\xfe").starts_with("sha256:"));
    }
}
