//! A mail as it arrives: deflated as it is written, known by its
//! Message-ID (else a digest of its bytes) once its header block is read.

use super::deflated::{encoders, Deflated, Pieces};
use crate::channels::email::{store, EmailError};
use crate::state::App;
use crate::store::now_ms;
use flate2::write::DeflateEncoder;
use sha2::{Digest, Sha256};
use std::io::Write;

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

/// Where the header block of `bytes` ends (after its blank line).
fn blank_line(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).enumerate().find_map(|(i, w)| match w {
        b"\n\n" => Some(i + 2),
        b"\n\r" if bytes.get(i + 2) == Some(&b'\n') => Some(i + 3),
        _ => None,
    })
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

#[cfg(test)]
mod tests {
    use super::super::inflate;
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
