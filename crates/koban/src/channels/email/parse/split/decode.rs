//! A part's body decoded as it streams, to exactly the bytes mail-parser's
//! `contents()` gives for it: each decoder copies mail-parser's own MIME
//! decoder (`decoders/base64.rs`, `decoders/quoted_printable.rs`,
//! `parsers/mime.rs` in mail-parser 0.11), fed whole lines instead of the
//! whole mail. The line break before the delimiter belongs to the
//! delimiter, so the last one seen is held back until the next line shows
//! it was the part's own.

/// How a part's body is written, as mail-parser reads its
/// Content-Transfer-Encoding: base64, quoted-printable, or anything else
/// (7bit, 8bit, binary, none, or a name it does not know) as it is.
pub enum Decoder {
    Base64(Base64),
    QuotedPrintable(QuotedPrintable),
    Raw(Raw),
}

/// What the decoded bytes must be for mail-parser to keep them as they are:
/// a text part is made a `String` through its charset.
#[derive(Clone, Copy)]
pub enum Check {
    /// A file: kept as bytes, whatever they are.
    Bytes,
    /// No charset mail-parser has a decoder for: valid UTF-8 is kept as it
    /// is, anything else gets replacement characters.
    Utf8(Utf8),
    /// US-ASCII, which mail-parser reads as Windows-1252: the same
    /// characters below 0x80 only.
    Ascii,
}

/// A part's decoder and the check its bytes must pass.
pub struct Leaf {
    pub decoder: Decoder,
    pub check: Check,
}

impl Leaf {
    /// Whole lines of the body, line breaks included: the bytes certain to
    /// be the part's go to `out`. An error means mail-parser would read the
    /// part otherwise (as broken, or with replaced characters).
    pub fn feed(&mut self, lines: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
        let from = out.len();
        match &mut self.decoder {
            Decoder::Base64(d) => {
                if !is_base64_line(lines) {
                    return Err("a character base64 does not allow");
                }
                d.feed(lines, out);
            }
            Decoder::QuotedPrintable(d) => d.feed(lines, out)?,
            Decoder::Raw(d) => d.feed(lines, out),
        }
        let decoded = &out[from..];
        let valid = match &mut self.check {
            Check::Bytes => true,
            Check::Utf8(utf8) => utf8.feed(decoded),
            Check::Ascii => decoded.is_ascii(),
        };
        if valid {
            Ok(())
        } else {
            Err("a text attachment mail-parser would not keep as it is")
        }
    }

    /// The part ended at its delimiter: whether what was given is all of it.
    pub fn end(&self) -> Result<(), &'static str> {
        if let Decoder::QuotedPrintable(d) = &self.decoder {
            d.end()?;
        }
        match self.check {
            Check::Utf8(utf8) if !utf8.ended() => Err("a text attachment ends inside a character"),
            _ => Ok(()),
        }
    }
}

/// A line of base64 as mail-parser decodes it without surprise.
pub fn is_base64_line(line: &[u8]) -> bool {
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

/// A body kept as it is (mail-parser's `mime_part`): every byte up to the
/// line break before the delimiter.
#[derive(Default)]
pub struct Raw {
    /// The last line break seen: the delimiter's, if one follows.
    held: Vec<u8>,
}

impl Raw {
    fn feed(&mut self, lines: &[u8], out: &mut Vec<u8>) {
        out.append(&mut self.held);
        let cut = if lines.ends_with(b"\r\n") {
            2
        } else {
            usize::from(lines.ends_with(b"\n"))
        };
        let (body, held) = lines.split_at(lines.len() - cut);
        out.extend_from_slice(body);
        self.held.extend_from_slice(held);
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Qp {
    #[default]
    Plain,
    /// After `=`.
    Eq,
    /// After `=` and one hexadecimal digit.
    Hex1(u8),
}

/// mail-parser's quoted-printable decoding of a MIME part, quirks and all:
/// a `=` not followed by two hexadecimal digits is kept as written, spaces
/// and tabs before a line break go, every line break is written as CRLF
/// once a CR was seen anywhere in the part (and a CR alone is dropped),
/// and `==` makes the part one mail-parser reads as broken.
#[derive(Default)]
pub struct QuotedPrintable {
    state: Qp,
    last: u8,
    /// Whitespace written last, taken away if a line break follows.
    spaces: usize,
    crlf: bool,
    /// Whether the last line ended in a line break written out (not `=`
    /// before it, not an escape cut by it).
    hard: bool,
    /// That line break: mail-parser takes it away when the delimiter
    /// follows.
    held: Vec<u8>,
}

impl QuotedPrintable {
    fn feed(&mut self, lines: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
        out.append(&mut self.held);
        for &ch in lines {
            match ch {
                b'=' if self.state == Qp::Plain => self.state = Qp::Eq,
                b'=' => return Err("quoted-printable mail-parser reads as broken"),
                b'\n' => {
                    self.hard = self.state == Qp::Plain;
                    if self.state == Qp::Eq {
                        self.state = Qp::Plain;
                    } else {
                        out.truncate(out.len() - self.spaces);
                        out.extend_from_slice(if self.crlf { b"\r\n" } else { b"\n" });
                    }
                    self.spaces = 0;
                }
                b'\r' => self.crlf = true,
                _ => match self.state {
                    Qp::Plain => {
                        if ch.is_ascii_whitespace() {
                            self.spaces += 1;
                        } else {
                            self.spaces = 0;
                        }
                        out.push(ch);
                    }
                    Qp::Eq => {
                        if let Some(high) = hex(ch) {
                            self.state = Qp::Hex1(high);
                        } else if !ch.is_ascii_whitespace() {
                            self.state = Qp::Plain;
                            out.extend_from_slice(&[b'=', ch]);
                            self.spaces = 0;
                        }
                    }
                    Qp::Hex1(high) => {
                        self.state = Qp::Plain;
                        match hex(ch) {
                            Some(low) => out.push((high << 4) | low),
                            None => out.extend_from_slice(&[b'=', self.last, ch]),
                        }
                        self.spaces = 0;
                    }
                },
            }
            self.last = ch;
        }
        // The line break just written is the delimiter's if the delimiter
        // comes next.
        if lines.ends_with(b"\n") && self.hard {
            let kept = out.len() - if self.crlf { 2 } else { 1 };
            self.held.extend_from_slice(&out[kept..]);
            out.truncate(kept);
        }
        Ok(())
    }

    /// mail-parser takes away as many bytes as a line break has, whatever
    /// they are: only after a line break written out are they the one held
    /// back.
    fn end(&self) -> Result<(), &'static str> {
        if self.hard && !self.held.is_empty() {
            Ok(())
        } else {
            Err("quoted-printable that ends in a soft line break or an escape")
        }
    }
}

fn hex(ch: u8) -> Option<u8> {
    match ch {
        b'0'..=b'9' => Some(ch - b'0'),
        b'A'..=b'F' => Some(ch - b'A' + 10),
        b'a'..=b'f' => Some(ch - b'a' + 10),
        _ => None,
    }
}

/// A streaming UTF-8 check (std's): a character cut between two pieces is
/// carried over to the next.
#[derive(Clone, Copy, Default)]
pub struct Utf8 {
    /// The start of a character the last piece cut, and its length.
    carry: [u8; 4],
    len: u8,
}

impl Utf8 {
    /// Whether `bytes` go on valid UTF-8.
    pub fn feed(&mut self, mut bytes: &[u8]) -> bool {
        // First the character the last piece cut, a byte at a time.
        while self.len > 0 {
            let Some((&b, rest)) = bytes.split_first() else {
                return true;
            };
            self.carry[usize::from(self.len)] = b;
            self.len += 1;
            bytes = rest;
            match std::str::from_utf8(&self.carry[..usize::from(self.len)]) {
                Ok(_) => self.len = 0,
                Err(e) if e.error_len().is_some() => return false,
                Err(_) => {}
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => true,
            // Cut inside a character: its start waits for the next piece.
            Err(e) if e.error_len().is_none() => {
                let tail = &bytes[e.valid_up_to()..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.len = tail.len() as u8;
                true
            }
            Err(_) => false,
        }
    }

    /// Whether the text ended between characters.
    pub fn ended(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::Utf8;
    use proptest::prelude::*;

    proptest! {
        /// Fed in two pieces cut anywhere, the check says what std says of
        /// the whole.
        #[test]
        fn utf8_in_pieces_is_utf8_whole(
            text in "\\PC{0,12}",
            noise in prop::collection::vec(any::<u8>(), 0..4),
            at in any::<prop::sample::Index>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = text.into_bytes();
            let spot = at.index(bytes.len() + 1);
            bytes.splice(spot..spot, noise);
            let cut = cut.index(bytes.len() + 1);
            let mut check = Utf8::default();
            let valid = check.feed(&bytes[..cut]) && check.feed(&bytes[cut..]) && check.ended();
            prop_assert_eq!(valid, std::str::from_utf8(&bytes).is_ok());
        }
    }
}
