//! Taking a mail in: stored raw (deflated) with its ingest job in one
//! transaction, before the peer is told it was accepted. The SMTP listener
//! answers 250 and IMAP polling records the UID only after [`accept`]
//! returns, so a crash either loses nothing or makes the peer send again.

mod deflated;
mod incoming;

pub use deflated::{inflate, Deflated, Inflater, Pieces, PIECE_BYTES};
pub use incoming::{identity, Incoming};

use super::store::{self, Arrival};
use super::EmailError;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
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
    let mut incoming = Incoming::new();
    incoming
        .write(raw)
        .map_err(|e| EmailError::Stored(0, e.to_string()))?;
    accept_incoming(app, envelope, incoming).await
}

/// Stores the mail written into `incoming` and queues its ingest.
pub async fn accept_incoming(
    app: &App,
    envelope: &Envelope,
    incoming: Incoming,
) -> Result<Accepted, EmailError> {
    let now = now_ms();
    let deflated = incoming
        .finish()
        .map_err(|e| EmailError::Stored(0, e.to_string()))?;
    let recipients = serde_json::to_string(&envelope.recipients).unwrap_or_else(|_| "[]".into());
    let mut tx = app.store.write().begin().await?;
    let (first, rest) = match deflated.pieces.split_first() {
        Some((first, rest)) => (first.as_slice(), rest),
        None => (&[][..], &[][..]),
    };
    let arrival = Arrival {
        source: &envelope.source,
        envelope_from: &envelope.mail_from,
        recipients: &recipients,
        message_id: &deflated.identity,
        raw_deflated: first,
        raw_size: deflated.size as i64,
    };
    let Some(id) = store::insert(&mut tx, &arrival, now).await? else {
        drop(tx);
        if let Some((receipt, _)) = &deflated.spilled {
            store::drop_spilled(app.store.write(), receipt).await?;
        }
        return Ok(Accepted::Duplicate);
    };
    let mut next_seq = 1;
    if let Some((receipt, spilled)) = &deflated.spilled {
        store::adopt_spilled(&mut tx, id, receipt).await?;
        next_seq += spilled;
    }
    for (seq, piece) in (next_seq..).zip(rest) {
        store::insert_piece(&mut tx, id, seq, piece).await?;
    }
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

/// Job kind: drop raw copies past `email_raw_retention_days`.
pub const PRUNE_JOB: JobKind = JobKind {
    kind: "email.prune_raw",
    round: None,
    every_ms: Some(crate::jobs::HOUR_MS),
    run: run_prune,
};

fn run_prune<'a>(app: &'a Arc<App>, _job: &'a crate::jobs::Job) -> JobFuture<'a> {
    Box::pin(async move {
        // Pieces of mails whose session a crash ended: no DATA lasts
        // beyond `email_smtp_data_timeout_seconds` (10 minutes by default).
        let timeout_ms = i64::try_from(
            app.config
                .email_smtp_data_timeout_seconds
                .saturating_mul(1000),
        )
        .unwrap_or(i64::MAX);
        let abandoned = now_ms()
            .saturating_sub(timeout_ms)
            .saturating_sub(crate::jobs::HOUR_MS);
        store::prune_spilled(app.store.write(), abandoned)
            .await
            .map_err(|e| e.to_string())?;
        let days = app.config.email_raw_retention_days.max(1);
        let before = now_ms() - days * 86_400_000;
        // In slices, so one run never holds the writer for long.
        loop {
            let mut tx = app.store.write().begin().await.map_err(|e| e.to_string())?;
            let pruned = store::prune_raw(&mut tx, before, 500)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            if pruned < 500 {
                return Ok(());
            }
        }
    })
}
