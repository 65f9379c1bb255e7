//! A mail's large files taken out before it is parsed, so that a 20 MiB
//! mail is never held whole, nor beside its decoded files.
//!
//! The raw mail is read in pieces (as it is inflated from the store) and
//! walked line by line along its MIME boundaries. A leaf part inside a
//! multipart whose encoded body is longer than [`STREAM_FROM`] is decoded
//! as it goes into a spool of its own when mail-parser would make it a
//! file: any part that is not text nor a multipart nor a forwarded mail,
//! and a text part mail-parser lists as an attachment (`part`) whose
//! bytes are certain to come out of its charset as they went in (UTF-8 or
//! no charset mail-parser knows, checked as they stream; ASCII). Base64,
//! quoted-printable and bodies kept as they are (7bit, 8bit, binary) are
//! decoded exactly as mail-parser does (`decode`). The walk goes on into a
//! forwarded mail kept as it is (`message/rfc822`, or a digest's part
//! without a Content-Type): its own parts are taken out the same way.
//! The skeleton handed to mail-parser keeps the part's headers but only a
//! small reference (a marker unique to this reading) for its body.
//! Everything else (headers, body text, small files, preamble and
//! epilogue) is passed through byte for byte, so mail-parser reads the
//! same mail as before, with the same encodings, threading and inline
//! decisions.
//!
//! The walk only takes a part out where mail-parser would find exactly the
//! same part: any line where the two could disagree (a boundary inside a
//! line or followed by anything but its end, a character base64 does not
//! allow, an encoded forwarded mail, a header block mail-parser ends
//! elsewhere, text not of its charset) stops it. Before anything was taken
//! out, the rest is passed through and the result is the mail itself (a
//! part found unclear before it was worth taking out just stays in it);
//! after, the mail is read whole instead ([`Whole`]), as it was before this
//! existed.

mod decode;
mod part;

use decode::Leaf;
use part::{Next, Place, Sub};
use std::io::{self, Write};

/// Encoded bytes of a part held before it is streamed: smaller files stay
/// in the skeleton, where mail-parser reads them as it always did.
pub const STREAM_FROM: usize = 64 * 1024;
/// A header block longer than this is not a part this walk takes apart.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Multiparts nested deeper than this are passed through.
const MAX_NESTING: usize = 32;

/// A part taken out of the mail: its decoded bytes went to `spool`.
pub struct Streamed<W> {
    /// What mail-parser decodes the reference in the skeleton to: a part
    /// whose contents are exactly these bytes is this one.
    pub marker: Vec<u8>,
    /// Decoded size in bytes (all of them, whatever the spool kept).
    pub size: usize,
    pub spool: W,
}

/// The mail with its large files taken out.
pub struct Split<W> {
    /// The mail as mail-parser is to read it.
    pub skeleton: Vec<u8>,
    pub streamed: Vec<Streamed<W>>,
}

/// Why the mail must be read whole after all.
#[derive(Debug)]
pub enum Whole {
    /// After a part was taken out, a line where mail-parser could see the
    /// mail otherwise.
    Unclear(&'static str),
    /// A spool could not be written.
    Io(io::Error),
}

enum State {
    /// A header block (the mail's, a part's, or a forwarded mail's own),
    /// until its blank line.
    Headers { block: Vec<u8>, forwarded: bool },
    /// Lines passed through as they are.
    Through,
    /// A file's body, held until it is long enough to stream.
    Held { leaf: Leaf, pending: Vec<u8> },
    /// A file's body being decoded into `streamed[index]`.
    Streaming { index: usize, leaf: Leaf },
    /// Stopped: the rest is passed through (nothing was taken out yet).
    Stopped,
}

/// One multipart the walk is inside.
struct Multipart {
    /// `--` and the boundary.
    delimiter: Vec<u8>,
    sub: Sub,
    /// Its parts opened so far.
    parts: usize,
    /// Forwarded mails around it.
    depth: usize,
}

/// Walks a mail written into it in pieces; see the module documentation.
pub struct Splitter<W, F> {
    line: Vec<u8>,
    state: State,
    open: Vec<Multipart>,
    skeleton: Vec<u8>,
    streamed: Vec<Streamed<W>>,
    new_spool: F,
    stream_from: usize,
    /// Makes this reading's markers unguessable by the sender.
    nonce: String,
    failed: Option<Whole>,
}

impl<W: Write, F: FnMut() -> io::Result<W>> Splitter<W, F> {
    /// `new_spool` makes the spool of each part taken out; parts whose
    /// encoded body is longer than `stream_from` bytes are; `nonce` is
    /// 32 random hexadecimal digits.
    pub fn new(new_spool: F, stream_from: usize, nonce: &str) -> Self {
        Splitter {
            line: Vec::new(),
            state: State::Headers {
                block: Vec::new(),
                forwarded: false,
            },
            open: Vec::new(),
            skeleton: Vec::new(),
            streamed: Vec::new(),
            new_spool,
            stream_from,
            nonce: nonce
                .chars()
                .filter(char::is_ascii_hexdigit)
                .take(32)
                .collect(),
            failed: None,
        }
    }

    /// The next piece of the mail, cut anywhere.
    fn write_piece(&mut self, mut bytes: &[u8]) {
        while self.failed.is_none() {
            let Some(end) = bytes.iter().position(|&b| b == b'\n') else {
                self.line.extend_from_slice(bytes);
                return;
            };
            self.line.extend_from_slice(&bytes[..=end]);
            let mut line = std::mem::take(&mut self.line);
            self.on_line(&line);
            line.clear();
            self.line = line;
            bytes = &bytes[end + 1..];
        }
    }

    /// Whether the walk gave up (the mail must be read whole): reading
    /// more is wasted.
    pub fn gave_up(&self) -> bool {
        self.failed.is_some()
    }

    /// The mail with its large files taken out, or why it must be read whole.
    pub fn finish(mut self) -> Result<Split<W>, Whole> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.on_line(&line);
        }
        if let Some(why) = self.failed {
            return Err(why);
        }
        let ended = matches!(self.state, State::Through | State::Stopped) && self.open.is_empty();
        if !ended {
            // A part never closed: mail-parser's reading of the end is its
            // own, so only a mail with nothing taken out is given as it is.
            self.stop("a multipart was never closed");
            if let Some(why) = self.failed {
                return Err(why);
            }
        }
        Ok(Split {
            skeleton: self.skeleton,
            streamed: self.streamed,
        })
    }

    /// Passes the rest through; after a part was taken out, gives up.
    fn stop(&mut self, why: &'static str) {
        if !self.streamed.is_empty() {
            self.failed = Some(Whole::Unclear(why));
            return;
        }
        match std::mem::replace(&mut self.state, State::Stopped) {
            State::Headers { block: held, .. } | State::Held { pending: held, .. } => {
                self.skeleton.extend_from_slice(&held)
            }
            _ => {}
        }
    }

    fn on_line(&mut self, line: &[u8]) {
        match std::mem::replace(&mut self.state, State::Stopped) {
            State::Stopped => self.skeleton.extend_from_slice(line),
            State::Through => {
                self.state = State::Through;
                self.through(line);
            }
            State::Headers {
                mut block,
                forwarded,
            } => {
                block.extend_from_slice(line);
                self.state = State::Headers { block, forwarded };
                self.header_line(line);
            }
            State::Held { leaf, mut pending } => {
                if self.names_a_boundary(line) {
                    // Ended (or unclear) before it was worth taking out:
                    // it stays in the skeleton as it was.
                    self.skeleton.extend_from_slice(&pending);
                    self.state = State::Through;
                    return self.through(line);
                }
                pending.extend_from_slice(line);
                if pending.len() > self.stream_from {
                    self.start_streaming(leaf, pending);
                } else {
                    self.state = State::Held { leaf, pending };
                }
            }
            State::Streaming { index, mut leaf } => {
                if self.names_a_boundary(line) {
                    let ends = self
                        .open
                        .last()
                        .is_some_and(|m| delimiter_kind(line, &m.delimiter).is_some());
                    if !ends {
                        self.failed = Some(Whole::Unclear("a boundary inside a file"));
                        return;
                    }
                    if let Err(why) = leaf.end() {
                        self.failed = Some(Whole::Unclear(why));
                        return;
                    }
                    self.state = State::Through;
                    return self.through(line);
                }
                let mut out = Vec::with_capacity(line.len());
                if let Err(why) = leaf.feed(line, &mut out) {
                    self.failed = Some(Whole::Unclear(why));
                    return;
                }
                self.state = State::Streaming { index, leaf };
                self.spool(index, &out);
            }
        }
    }

    /// Whether `line` has any open multipart's delimiter in it: mail-parser
    /// looks for the innermost one anywhere, not only at a line's start.
    fn names_a_boundary(&self, line: &[u8]) -> bool {
        // Every delimiter starts with `--`: most lines have none.
        contains(line, b"--") && self.open.iter().any(|m| contains(line, &m.delimiter))
    }

    fn spool(&mut self, index: usize, decoded: &[u8]) {
        let Some(part) = self.streamed.get_mut(index) else {
            return;
        };
        part.size += decoded.len();
        if let Err(e) = part.spool.write_all(decoded) {
            self.failed = Some(Whole::Io(e));
        }
    }

    /// The held body is long enough: its reference goes in the skeleton,
    /// its bytes into a new spool. A body mail-parser would not decode to
    /// the same bytes stays in the skeleton, read as before.
    fn start_streaming(&mut self, mut leaf: Leaf, pending: Vec<u8>) {
        let mut out = Vec::with_capacity(pending.len());
        if leaf.feed(&pending, &mut out).is_err() {
            self.skeleton.extend_from_slice(&pending);
            self.state = State::Through;
            return;
        }
        let spool = match (self.new_spool)() {
            Ok(spool) => spool,
            Err(e) => {
                tracing::warn!(error = %e, "no spool for a mail's file; it is read in memory");
                self.skeleton.extend_from_slice(&pending);
                self.state = State::Through;
                return;
            }
        };
        drop(pending);
        let index = self.streamed.len();
        // Letters and digits only, 48 of them: the same text under any
        // charset mail-parser reads a text part in, and valid UTF-8.
        let marker = format!("kp{:0>32}{index:014}", self.nonce).into_bytes();
        match leaf.decoder {
            // Whole base64 quanta: it decodes to the marker.
            decode::Decoder::Base64(_) => {
                use base64::Engine;
                let reference = base64::engine::general_purpose::STANDARD.encode(&marker);
                self.skeleton.extend_from_slice(reference.as_bytes());
            }
            // No `=`, no trailing space: quoted-printable leaves it as is.
            decode::Decoder::QuotedPrintable(_) | decode::Decoder::Raw(_) => {
                self.skeleton.extend_from_slice(&marker)
            }
        }
        self.skeleton.extend_from_slice(b"\r\n");
        self.streamed.push(Streamed {
            marker,
            size: 0,
            spool,
        });
        self.state = State::Streaming { index, leaf };
        self.spool(index, &out);
    }

    /// A line passed through: a delimiter opens the next part or closes
    /// the innermost multipart.
    fn through(&mut self, line: &[u8]) {
        self.skeleton.extend_from_slice(line);
        if !self.names_a_boundary(line) {
            return;
        }
        let Some(inner) = self.open.last_mut() else {
            return;
        };
        match delimiter_kind(line, &inner.delimiter) {
            Some(Delimiter::Next) => {
                inner.parts += 1;
                self.state = State::Headers {
                    block: Vec::new(),
                    forwarded: false,
                };
            }
            Some(Delimiter::Close) => {
                self.open.pop();
            }
            None => self.stop("a boundary where mail-parser could read it otherwise"),
        }
    }

    fn header_line(&mut self, line: &[u8]) {
        let State::Headers { block, .. } = &self.state else {
            return;
        };
        if block.len() > MAX_HEADER_BYTES {
            return self.stop("a header block too long to take apart");
        }
        if self.names_a_boundary(line) {
            return self.stop("a boundary inside a header block");
        }
        if line != b"\n" && line != b"\r\n" {
            return;
        }
        let State::Headers { block, forwarded } =
            std::mem::replace(&mut self.state, State::Through)
        else {
            return;
        };
        let inner = self.open.last();
        let place = match inner {
            _ if forwarded => Place::Forwarded,
            None => Place::Root,
            Some(m) => Place::Part {
                sub: m.sub,
                first: m.parts == 1,
            },
        };
        let depth = inner.map_or(0, |m| m.depth) + usize::from(forwarded);
        // Files in forwarded mails nested deeper are not read (`body`).
        let taken = depth <= super::body::MAX_DEPTH;
        let next = part::after_headers(&block, place, taken);
        self.skeleton.extend_from_slice(&block);
        match next {
            Ok(Next::Through) => {}
            Ok(Next::Multipart { boundary, sub }) => {
                if self.open.len() >= MAX_NESTING {
                    return self.stop("multiparts nested too deep");
                }
                self.open.push(Multipart {
                    delimiter: [b"--", boundary.as_slice()].concat(),
                    sub,
                    parts: 0,
                    depth,
                });
            }
            Ok(Next::Forwarded) => {
                self.state = State::Headers {
                    block: Vec::new(),
                    forwarded: true,
                }
            }
            Ok(Next::Leaf(leaf)) => {
                self.state = State::Held {
                    leaf,
                    pending: Vec::new(),
                }
            }
            Err(why) => self.stop(why),
        }
    }
}

impl<W: Write, F: FnMut() -> io::Result<W>> Write for Splitter<W, F> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_piece(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Delimiter {
    Next,
    Close,
}

/// Whether `line` is exactly a delimiter line of `delimiter` (`--b` or
/// `--b--`, then its line break) and which.
fn delimiter_kind(line: &[u8], delimiter: &[u8]) -> Option<Delimiter> {
    let rest = line.strip_prefix(delimiter)?;
    let (close, rest) = match rest.strip_prefix(b"--") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let ended = matches!(rest, b"\r\n" | b"\n") || (close && rest.is_empty());
    // Only one occurrence: mail-parser looks for it anywhere in the line.
    if !ended || contains(&line[delimiter.len()..], delimiter) {
        return None;
    }
    Some(if close {
        Delimiter::Close
    } else {
        Delimiter::Next
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
