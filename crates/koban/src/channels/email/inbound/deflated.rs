//! A mail's raw copy deflated in pieces of [`PIECE_BYTES`], and inflated
//! back within a limit.

use std::io::Write;

/// Deflate encoders kept for the next mail. A new one allocates and
/// zeroes about 300 KiB of tables (miniz_oxide's), which for a mail of a
/// few KiB cost more than deflating it: 4.8 % of the server's CPU in an
/// ingest profile at 8 senders. A reset one is zeroed in place instead.
pub(super) mod encoders {
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
    pub(super) pieces: Vec<Vec<u8>>,
    /// How many were taken out: the pieces left after the first follow
    /// them in order.
    pub(super) spilled: i64,
}

impl Pieces {
    /// The full pieces after the first: all but the first and the last.
    pub(super) fn full(&self) -> &[Vec<u8>] {
        match self.pieces.len() {
            0..=2 => &[],
            n => &self.pieces[1..n - 1],
        }
    }

    pub(super) fn take_full(&mut self) -> Vec<Vec<u8>> {
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
