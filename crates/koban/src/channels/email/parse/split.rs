//! A mail's large files taken out before it is parsed, so that a 20 MiB
//! mail is never held whole, nor beside its decoded files.
//!
//! The raw mail is read in pieces (as it is inflated from the store) and
//! walked line by line along its MIME boundaries. A leaf part that is a
//! file (not text, not a forwarded mail) in base64 and longer than
//! [`STREAM_FROM`] is decoded as it goes into a spool of its own, and the
//! skeleton handed to mail-parser keeps the part's headers but only a small
//! reference (a marker unique to this reading) for its body. Everything
//! else (headers, text parts, small files, preamble and epilogue) is passed
//! through byte for byte, so mail-parser reads the same mail as before,
//! with the same encodings, threading and inline decisions.
//!
//! The walk only takes a part out where mail-parser would find exactly the
//! same part: any line where the two could disagree (a boundary inside a
//! line or followed by anything but its end, a character base64 does not
//! allow, a forwarded mail, a header block mail-parser ends elsewhere)
//! stops it. Before anything was taken out, the rest is passed through and
//! the result is the mail itself; after, the mail is read whole instead
//! ([`Whole`]), as it was before this existed.

use mail_parser::{GetHeader, HeaderValue, MessageParser, MimeHeaders};
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
    /// A header block (the mail's or a part's), until its blank line.
    Headers(Vec<u8>),
    /// Lines passed through as they are.
    Through,
    /// A file's base64 body, held until it is long enough to stream.
    Held(Vec<u8>),
    /// A file's base64 body being decoded into `streamed[index]`.
    Streaming { index: usize, decoder: Base64 },
    /// Stopped: the rest is passed through (nothing was taken out yet).
    Stopped,
}

/// One multipart the walk is inside.
struct Multipart {
    /// `--` and the boundary.
    delimiter: Vec<u8>,
    /// multipart/digest: a part without a Content-Type is a forwarded mail.
    digest: bool,
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
            state: State::Headers(Vec::new()),
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
        if let State::Held(pending) = std::mem::replace(&mut self.state, State::Stopped) {
            self.skeleton.extend_from_slice(&pending);
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
            State::Headers(held) | State::Held(held) => self.skeleton.extend_from_slice(&held),
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
            State::Headers(mut block) => {
                block.extend_from_slice(line);
                self.state = State::Headers(block);
                self.header_line(line);
            }
            State::Held(mut pending) => {
                if line.starts_with(b"--") {
                    self.skeleton.extend_from_slice(&pending);
                    self.state = State::Through;
                    return self.through(line);
                }
                pending.extend_from_slice(line);
                self.state = State::Held(pending);
                if !is_base64_line(line) {
                    return self.stop("a character base64 does not allow");
                }
                if let State::Held(pending) = &self.state {
                    if pending.len() > self.stream_from {
                        self.start_streaming();
                    }
                }
            }
            State::Streaming { index, mut decoder } => {
                if line.starts_with(b"--") {
                    // mail-parser fails a base64 body on any other `--`.
                    let ends = self
                        .open
                        .last()
                        .is_some_and(|m| delimiter_kind(line, &m.delimiter).is_some());
                    if !ends {
                        self.failed = Some(Whole::Unclear("a line of dashes in base64"));
                        return;
                    }
                    self.state = State::Through;
                    return self.through(line);
                }
                if !is_base64_line(line) {
                    self.failed = Some(Whole::Unclear("a character base64 does not allow"));
                    return;
                }
                let mut out = Vec::with_capacity(line.len() / 4 * 3 + 3);
                decoder.feed(line, &mut out);
                self.state = State::Streaming { index, decoder };
                self.spool(index, &out);
            }
        }
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
    /// its bytes into a new spool.
    fn start_streaming(&mut self) {
        let State::Held(pending) = std::mem::replace(&mut self.state, State::Stopped) else {
            return;
        };
        let spool = match (self.new_spool)() {
            Ok(spool) => spool,
            Err(e) => {
                // No spool: the part stays in the skeleton, read as before.
                tracing::warn!(error = %e, "no spool for a mail's file; it is read in memory");
                self.skeleton.extend_from_slice(&pending);
                self.state = State::Stopped;
                return;
            }
        };
        let index = self.streamed.len();
        // Letters and digits only, 48 of them: the same text under any
        // encoding mail-parser reads, and whole base64 quanta.
        let reference = format!("kp{:0>32}{index:014}", self.nonce);
        let mut marker = Vec::new();
        Base64::default().feed(reference.as_bytes(), &mut marker);
        self.skeleton.extend_from_slice(reference.as_bytes());
        self.skeleton.extend_from_slice(b"\r\n");
        self.streamed.push(Streamed {
            marker,
            size: 0,
            spool,
        });
        let mut decoder = Base64::default();
        let mut out = Vec::with_capacity(pending.len() / 4 * 3 + 3);
        decoder.feed(&pending, &mut out);
        drop(pending);
        self.state = State::Streaming { index, decoder };
        self.spool(index, &out);
    }

    /// A line passed through: a delimiter opens the next part or closes
    /// the innermost multipart.
    fn through(&mut self, line: &[u8]) {
        let Some(inner) = self.open.last() else {
            self.skeleton.extend_from_slice(line);
            return;
        };
        let delimiter = inner.delimiter.clone();
        let named = self.open.iter().any(|m| contains(line, &m.delimiter));
        if !named {
            self.skeleton.extend_from_slice(line);
            return;
        }
        self.skeleton.extend_from_slice(line);
        match delimiter_kind(line, &delimiter) {
            Some(Delimiter::Next) => self.state = State::Headers(Vec::new()),
            Some(Delimiter::Close) => {
                self.open.pop();
            }
            None => self.stop("a boundary where mail-parser could read it otherwise"),
        }
    }

    fn header_line(&mut self, line: &[u8]) {
        let State::Headers(block) = &self.state else {
            return;
        };
        if block.len() > MAX_HEADER_BYTES {
            return self.stop("a header block too long to take apart");
        }
        if self.open.iter().any(|m| contains(line, &m.delimiter)) {
            return self.stop("a boundary inside a header block");
        }
        if line != b"\n" && line != b"\r\n" {
            return;
        }
        let State::Headers(block) = std::mem::replace(&mut self.state, State::Through) else {
            return;
        };
        let next = self.after_headers(&block);
        self.skeleton.extend_from_slice(&block);
        match next {
            Ok(next) => self.state = next,
            Err(why) => self.stop(why),
        }
    }

    /// What follows a header block, as mail-parser reads it.
    fn after_headers(&mut self, block: &[u8]) -> Result<State, &'static str> {
        let in_digest = self.open.last().is_some_and(|m| m.digest);
        if block == b"\n" || block == b"\r\n" {
            // No headers: text/plain, or a forwarded mail in a digest.
            return if in_digest {
                Err("a forwarded mail")
            } else {
                Ok(State::Through)
            };
        }
        let parsed = MessageParser::new()
            .parse_headers(block)
            .ok_or("a header block mail-parser does not read")?;
        let root = parsed.root_part();
        if root.offset_body as usize != block.len() {
            return Err("a header block mail-parser ends elsewhere");
        }
        let Some(content_type) = root.content_type() else {
            return if in_digest {
                Err("a forwarded mail")
            } else {
                Ok(State::Through)
            };
        };
        let ctype = content_type.ctype();
        if ctype.eq_ignore_ascii_case("message") {
            return Err("a forwarded mail");
        }
        if ctype.eq_ignore_ascii_case("multipart") {
            let Some(boundary) = content_type.attribute("boundary").filter(|b| !b.is_empty())
            else {
                return Err("a multipart without a boundary");
            };
            if self.open.len() >= MAX_NESTING {
                return Err("multiparts nested too deep");
            }
            let digest = content_type
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("digest"));
            self.open.push(Multipart {
                delimiter: [b"--", boundary.as_bytes()].concat(),
                digest,
            });
            return Ok(State::Through);
        }
        let base64 = matches!(
            root.headers
                .header_value(&mail_parser::HeaderName::ContentTransferEncoding),
            Some(HeaderValue::Text(cte)) if cte.eq_ignore_ascii_case("base64")
        );
        let file = !ctype.eq_ignore_ascii_case("text");
        Ok(if base64 && file && !self.open.is_empty() {
            State::Held(Vec::new())
        } else {
            State::Through
        })
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

/// A line of base64 as mail-parser decodes it without surprise.
fn is_base64_line(line: &[u8]) -> bool {
    line.iter().all(|&b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b' ' | b'\t' | b'\r' | b'\n')
    })
}

/// mail-parser's base64 decoding of a MIME part, fed in pieces: padding
/// ends a quantum wherever it is (and decoding goes on after it), and a
/// quantum left unfinished at the part's end is dropped.
#[derive(Default)]
pub struct Base64 {
    quantum: u32,
    count: u8,
}

impl Base64 {
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for &b in bytes {
            let value = match b {
                b'A'..=b'Z' => b - b'A',
                b'a'..=b'z' => b - b'a' + 26,
                b'0'..=b'9' => b - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => {
                    let q = self.quantum;
                    match self.count {
                        1 => out.push((q << 2) as u8),
                        2 => out.push((q >> 4) as u8),
                        3 => out.extend_from_slice(&[(q >> 10) as u8, (q >> 2) as u8]),
                        _ => {}
                    }
                    *self = Base64::default();
                    continue;
                }
                _ => continue,
            };
            self.quantum = (self.quantum << 6) | u32::from(value);
            self.count += 1;
            if self.count == 4 {
                let q = self.quantum;
                out.extend_from_slice(&[(q >> 16) as u8, (q >> 8) as u8, q as u8]);
                *self = Base64::default();
            }
        }
    }
}
