//! Taking a mail in: stored raw (deflated) with its ingest job in one
//! transaction, before the peer is told it was accepted. The SMTP listener
//! answers 250 and IMAP polling records the UID only after [`accept`]
//! returns, so a crash either loses nothing or makes the peer send again.

use super::store::{self, Arrival};
use super::EmailError;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use flate2::write::DeflateEncoder;
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

/// A mail being received, kept only deflated: the listener writes DATA
/// into it as it arrives, so a large mail is never held whole (nor grown
/// by doubling a buffer) before it is stored, and hands its full pieces
/// to the database as they fill ([`Incoming::spill`]), so it holds at
/// most the first piece and the one being filled.
pub struct Incoming {
    encoder: DeflateEncoder<Pieces>,
    /// The key of the pieces spilled so far, once there are any.
    receipt: Option<String>,
    /// The header block, until its end is seen (its Message-ID is the
    /// mail's identity); at most [`MAX_HEAD_BYTES`].
    head: Vec<u8>,
    head_ended: bool,
    identity: Identity,
    size: usize,
}

/// What a mail will be known by, as far as it has been read.
enum Identity {
    /// No Message-ID yet: a digest of every byte so far.
    Hashing(Sha256),
    /// The header block named one; the rest need not be hashed.
    MessageId(String),
}

/// Header bytes read for the Message-ID: a mail whose header block is
/// longer is known by its digest. Twenty times Postfix's own cap on a
/// header block (`header_size_limit`, 100 KiB), so only a mail no relay
/// would pass gets there.
const MAX_HEAD_BYTES: usize = 2 * 1024 * 1024;

impl Default for Incoming {
    fn default() -> Self {
        Incoming::new()
    }
}

impl Incoming {
    pub fn new() -> Incoming {
        Incoming {
            encoder: encoders::take(),
            receipt: None,
            head: Vec::new(),
            head_ended: false,
            identity: Identity::Hashing(Sha256::new()),
            size: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Appends the next bytes of the mail.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.size += bytes.len();
        self.encoder.write_all(bytes)?;
        if let Identity::Hashing(digest) = &mut self.identity {
            digest.update(bytes);
        }
        if !self.head_ended && self.head.len() < MAX_HEAD_BYTES {
            // Look for the blank line from a little before the new bytes,
            // in case its line breaks were split between two writes.
            let from = self.head.len().saturating_sub(3);
            let take = bytes.len().min(MAX_HEAD_BYTES - self.head.len());
            self.head.extend_from_slice(&bytes[..take]);
            if let Some(end) = blank_line(&self.head[from..]) {
                self.head.truncate(from + end);
                self.head_ended = true;
                if let Some(id) = header_message_id(&self.head) {
                    self.identity = Identity::MessageId(id);
                }
            }
        }
        Ok(())
    }

    /// The mail as it is stored: deflated, its identity and its size.
    pub fn finish(self) -> std::io::Result<Deflated> {
        let identity = match self.identity {
            Identity::MessageId(id) => id,
            Identity::Hashing(digest) => {
                // A mail that is all header (no blank line) is read whole too.
                let whole_in_head = !self.head_ended && self.head.len() == self.size;
                whole_in_head
                    .then(|| header_message_id(&self.head))
                    .flatten()
                    .unwrap_or_else(|| format!("sha256:{}", hex::encode(digest.finalize())))
            }
        };
        let mut encoder = self.encoder;
        let pieces = encoder.reset(Pieces::default())?;
        encoders::give_back(encoder);
        Ok(Deflated {
            spilled: self.receipt.map(|receipt| (receipt, pieces.spilled)),
            pieces: pieces.pieces,
            identity,
            size: self.size,
        })
    }

    /// Whether full pieces wait to be [spilled](Incoming::spill).
    pub fn spillable(&self) -> bool {
        !self.encoder.get_ref().full().is_empty()
    }

    /// Writes the full pieces after the first to the database, under this
    /// mail's receipt, and lets them go.
    pub async fn spill(&mut self, app: &App) -> Result<(), EmailError> {
        let full = self.encoder.get_mut().take_full();
        if full.is_empty() {
            return Ok(());
        }
        let receipt = self
            .receipt
            .get_or_insert_with(|| crate::crypto::random_token(16))
            .clone();
        let first_seq = self.encoder.get_ref().spilled - full.len() as i64 + 1;
        let now = now_ms();
        let mut tx = app.store.write().begin().await?;
        for (seq, piece) in (first_seq..).zip(&full) {
            store::spill_piece(&mut *tx, &receipt, seq, piece, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Drops the mail, and the pieces it spilled.
    pub async fn abandon(self, app: &App) {
        if let Some(receipt) = self.receipt {
            if let Err(error) = store::drop_spilled(app.store.write(), &receipt).await {
                // The hourly prune deletes them.
                tracing::warn!(%error, "a refused mail's spilled pieces were left");
            }
        }
    }
}

/// Deflate encoders kept for the next mail. A new one allocates and
/// zeroes about 300 KiB of tables (miniz_oxide's), which for a mail of a
/// few KiB cost more than deflating it: 4.8 % of the server's CPU in an
/// ingest profile at 8 senders. A reset one is zeroed in place instead.
mod encoders {
    use super::Pieces;
    use flate2::write::DeflateEncoder;
    use flate2::Compression;
    use std::sync::Mutex;

    /// Enough for the mails being received at once under load; each held
    /// one is about 300 KiB.
    const KEPT: usize = 16;

    static POOL: Mutex<Vec<DeflateEncoder<Pieces>>> = Mutex::new(Vec::new());

    /// A reset encoder writing to no pieces yet.
    pub fn take() -> DeflateEncoder<Pieces> {
        POOL.lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_else(|| DeflateEncoder::new(Pieces::default(), Compression::fast()))
    }

    /// Keeps `encoder`, which has just been reset, for another mail.
    pub fn give_back(encoder: DeflateEncoder<Pieces>) {
        if let Ok(mut pool) = POOL.lock() {
            if pool.len() < KEPT {
                pool.push(encoder);
            }
        }
    }
}

/// The size of a stored piece of a deflated mail: small enough that the
/// database never builds or reads back a large value, large enough that
/// a 25 MiB mail is a hundred rows.
pub const PIECE_BYTES: usize = 256 * 1024;

/// Deflated bytes in pieces of [`PIECE_BYTES`], each allocated once at
/// its full size: a growing buffer would double (and, while it moves,
/// be held twice). The first piece stays (it goes in the mail's row);
/// full ones after it may be taken out to be spilled.
#[derive(Default)]
pub struct Pieces {
    pieces: Vec<Vec<u8>>,
    /// How many were taken out: the pieces left after the first follow
    /// them in order.
    spilled: i64,
}

impl Pieces {
    /// The full pieces after the first: all but the first and the last.
    fn full(&self) -> &[Vec<u8>] {
        match self.pieces.len() {
            0..=2 => &[],
            n => &self.pieces[1..n - 1],
        }
    }

    fn take_full(&mut self) -> Vec<Vec<u8>> {
        let n = self.full().len();
        self.spilled += n as i64;
        self.pieces.drain(1..1 + n).collect()
    }
}

impl Write for Pieces {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self.pieces.last_mut() {
            Some(last) if last.len() < PIECE_BYTES => {
                let take = bytes.len().min(PIECE_BYTES - last.len());
                last.extend_from_slice(&bytes[..take]);
                Ok(take)
            }
            _ => {
                self.pieces.push(Vec::with_capacity(PIECE_BYTES));
                self.write(bytes)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A received mail, deflated.
pub struct Deflated {
    /// The deflated stream in order, each piece at most [`PIECE_BYTES`]:
    /// the first, then those after the spilled ones.
    pub pieces: Vec<Vec<u8>>,
    /// The receipt of the pieces spilled to the database during DATA, and
    /// how many: they come between the first piece and the others.
    pub spilled: Option<(String, i64)>,
    /// Its Message-ID, else `sha256:` and the digest of its bytes.
    pub identity: String,
    pub size: usize,
}

/// Where the header block of `bytes` ends (after its blank line).
fn blank_line(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).enumerate().find_map(|(i, w)| match w {
        b"\n\n" => Some(i + 2),
        b"\n\r" if bytes.get(i + 2) == Some(&b'\n') => Some(i + 3),
        _ => None,
    })
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

/// The identity a mail is deduplicated by: its Message-ID, else a digest
/// of its bytes (Chatwoot skips mails without one; this keeps them).
pub fn identity(raw: &[u8]) -> String {
    let mut incoming = Incoming::new();
    match incoming.write(raw).and_then(|_| incoming.finish()) {
        Ok(deflated) => deflated.identity,
        Err(_) => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    }
}

/// The normalised Message-ID of a header block, if it has a usable one.
fn header_message_id(head: &[u8]) -> Option<String> {
    let headers = mail_parser::MessageParser::new().parse_headers(head)?;
    match headers.message_id() {
        Some(id) if !id.trim().is_empty() && id.len() <= 998 => {
            Some(koban_policy::mail::threading::normalise_message_id(id))
        }
        _ => None,
    }
}

/// The raw mail back from its deflated copy, refusing to inflate past
/// `limit` bytes: a damaged or hostile copy cannot fill memory.
pub fn inflate(deflated: &[u8], limit: usize) -> std::io::Result<Vec<u8>> {
    let mut inflater = Inflater::new(limit, 0);
    inflater.write(deflated)?;
    inflater.finish()
}

/// Inflates a deflated mail piece by piece into a buffer made as large as
/// the mail at once (its size recorded when it was stored), so a large
/// mail is neither copied from buffer to doubled buffer nor held deflated
/// whole beside it; refuses to go past `limit` bytes.
pub struct Inflater {
    decoder: flate2::write::DeflateDecoder<Vec<u8>>,
    limit: usize,
}

impl Inflater {
    pub fn new(limit: usize, size: usize) -> Inflater {
        let out = Vec::with_capacity(size.min(limit) + 1);
        Inflater {
            decoder: flate2::write::DeflateDecoder::new(out),
            limit,
        }
    }

    /// Inflates the next piece of the deflated stream.
    pub fn write(&mut self, deflated: &[u8]) -> std::io::Result<()> {
        // In slices, checking the limit after each: a slice this small
        // inflates to at most ~4 MiB however it was crafted.
        for slice in deflated.chunks(4096) {
            self.decoder.write_all(slice)?;
            if self.decoder.get_ref().len() > self.limit {
                return Err(std::io::Error::other(
                    "inflates past the message size limit",
                ));
            }
        }
        Ok(())
    }

    /// Bytes inflated so far.
    pub fn inflated(&self) -> u64 {
        self.decoder.total_out()
    }

    /// The whole mail.
    pub fn finish(self) -> std::io::Result<Vec<u8>> {
        let limit = self.limit;
        let out = self.decoder.finish()?;
        if out.len() > limit {
            return Err(std::io::Error::other(
                "inflates past the message size limit",
            ));
        }
        Ok(out)
    }
}

/// Job kind: drop raw copies past `email_raw_retention_days`.
pub const PRUNE_JOB: JobKind = JobKind {
    kind: "email.prune_raw",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_deflates_and_inflates_back_within_its_limit() {
        let raw = b"Subject: hi\r\n\r\n".repeat(1000);
        let mut incoming = Incoming::new();
        incoming.write(&raw).unwrap();
        let deflated = incoming.finish().unwrap().pieces.concat();
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

    /// The listener writes a mail in whatever pieces the network gave it:
    /// every split must store the same bytes under the same identity.
    #[test]
    fn a_mail_written_in_pieces_is_the_mail_written_whole() {
        let mails: [&[u8]; 4] = [
            b"Subject: a\r\nMessage-ID: <x.1@y.example>\r\n\r\nbody\r\n",
            b"Subject: a\nMessage-ID: <x.2@y.example>\n\nbody\n",
            b"Subject: no id\r\n\r\nMessage-ID: <in.body@y.example>\r\n",
            b"Message-ID: <only.head@y.example>\r\n",
        ];
        for mail in mails {
            let whole = identity(mail);
            for a in 0..=mail.len() {
                for b in a..=mail.len() {
                    let mut incoming = Incoming::new();
                    for piece in [&mail[..a], &mail[a..b], &mail[b..]] {
                        incoming.write(piece).unwrap();
                    }
                    assert_eq!(incoming.len(), mail.len());
                    let deflated = incoming.finish().unwrap();
                    assert_eq!(deflated.identity, whole, "split at {a}, {b}");
                    assert_eq!(
                        inflate(&deflated.pieces.concat(), mail.len()).unwrap(),
                        mail
                    );
                }
            }
        }
        assert_eq!(identity(mails[1]), "x.2@y.example");
        assert_eq!(identity(mails[3]), "only.head@y.example");
        // An id in the body is not the mail's.
        assert!(identity(mails[2]).starts_with("sha256:"));
    }
}
