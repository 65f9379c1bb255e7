//! A stored mail read for ingest without holding it whole: inflated piece
//! by piece from the store straight into the MIME walk
//! ([`parse::split`]), whose large files go to spools on disk, then the
//! skeleton parsed. A mail the walk cannot take apart safely is read
//! whole, as before.

use crate::channels::email::inbound::PIECE_BYTES;
use crate::channels::email::parse::split::{Splitter, Whole, STREAM_FROM};
use crate::channels::email::parse::spool::SpoolFile;
use crate::channels::email::parse::{self, Mail, Taken};
use crate::channels::email::store::{self, Stored};
use crate::channels::email::{settings, EmailError};
use crate::state::App;
use flate2::write::DeflateDecoder;
use std::io::{self, Write};
use std::sync::Arc;

/// What [`split_mail`] found.
pub(super) enum Read {
    Parsed(Box<Result<Mail, String>>),
    /// The walk gave up: read the mail whole.
    Whole(&'static str),
}

/// Refuses to pass more than `left` bytes on: a damaged or hostile copy
/// cannot inflate without end.
struct Limited<W> {
    inner: W,
    left: usize,
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.left = self
            .left
            .checked_sub(bytes.len())
            .ok_or_else(|| io::Error::other("inflates past the message size limit"))?;
        self.inner.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Whether a piece `length` bytes long, after which `inflated` bytes of a
/// mail of `size` are out, is the last one: most mails are one piece, and
/// this spares asking the store for a second. A piece shorter than a full
/// one ends the stream only when every byte of the mail came out of it
/// (so a copy written with other piece sizes is still read to its end).
pub(super) fn last_piece(length: usize, inflated: u64, size: i64) -> bool {
    length < PIECE_BYTES && size > 0 && u64::try_from(size).is_ok_and(|size| inflated >= size)
}

/// The stored mail inflated through the walk and parsed.
/// `raw` is the copy's first piece and the mail's size, as the store has them.
pub(super) async fn split_mail(
    app: &App,
    stored: &Stored,
    raw: Option<(Vec<u8>, i64)>,
) -> Result<Read, EmailError> {
    let limit = app.config.email_max_message_bytes.saturating_add(64 * 1024);
    let Some((first, size)) = raw else {
        return Ok(Read::Parsed(Box::new(Err("raw mail pruned".into()))));
    };
    let dir = std::path::Path::new(&app.config.data_dir).join("tmp");
    let cap = usize::try_from(crate::desk::attachments::limits().max_bytes).unwrap_or(usize::MAX);
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let splitter = Splitter::new(|| SpoolFile::create(&dir, cap), STREAM_FROM, &nonce);
    let mut decoder = DeflateDecoder::new(Limited {
        inner: splitter,
        left: limit,
    });
    let mut piece = Some(first);
    let mut seq = 1;
    while let Some(deflated) = piece.take() {
        // In slices, so the limit is checked before much more is inflated.
        for slice in deflated.chunks(4096) {
            if let Err(e) = decoder.write_all(slice) {
                return Ok(Read::Parsed(Box::new(Err(e.to_string()))));
            }
        }
        let length = deflated.len();
        drop(deflated);
        if decoder.get_ref().inner.gave_up() {
            return Ok(Read::Whole("the walk gave up"));
        }
        if last_piece(length, decoder.total_out(), size) {
            break;
        }
        piece = store::piece(app.store.read(), stored.id, seq).await?;
        seq += 1;
    }
    let splitter = match decoder.finish() {
        Ok(limited) => limited.inner,
        Err(e) => return Ok(Read::Parsed(Box::new(Err(e.to_string())))),
    };
    let split = match splitter.finish() {
        Ok(split) => split,
        Err(Whole::Unclear(why)) => return Ok(Read::Whole(why)),
        Err(Whole::Io(e)) => {
            tracing::warn!(inbound = stored.id, error = %e, "a mail's file could not be spooled; read whole");
            return Ok(Read::Whole("spool failed"));
        }
    };
    let mut taken = Vec::with_capacity(split.streamed.len());
    for streamed in split.streamed {
        let spooled = match streamed.spool.finish() {
            Ok(spooled) => spooled.map(Arc::new),
            Err(e) => {
                tracing::warn!(inbound = stored.id, error = %e, "a mail's file could not be spooled; read whole");
                return Ok(Read::Whole("spool failed"));
            }
        };
        taken.push(Taken {
            marker: streamed.marker,
            size: streamed.size,
            spooled,
        });
    }
    let trusted = &settings(app).trusted_authserv_ids;
    Ok(Read::Parsed(Box::new(
        parse::parse_skeleton(&split.skeleton, &taken, trusted).map_err(|e| e.to_string()),
    )))
}

#[cfg(test)]
mod tests {
    use super::{last_piece, PIECE_BYTES};

    #[test]
    fn only_a_short_piece_that_holds_the_rest_of_the_mail_is_the_last() {
        // One piece, the whole mail out of it.
        assert!(last_piece(1_200, 4_000, 4_000));
        // A full piece: another may follow, even with every byte out.
        assert!(!last_piece(PIECE_BYTES, 4_000, 4_000));
        // Short but bytes missing: written with larger pieces than today's.
        assert!(!last_piece(1_200, 3_999, 4_000));
        // An empty mail, or one whose size was not recorded: ask the store.
        assert!(!last_piece(0, 0, 0));
        assert!(!last_piece(10, 50, -1));
    }
}
