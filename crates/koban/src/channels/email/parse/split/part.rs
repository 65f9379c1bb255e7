//! What follows a header block, as mail-parser reads it: the same
//! classification as its `parsers/message.rs`, from the same parsed
//! headers, so a part is only taken out where mail-parser would make it a
//! file (an attachment), never a body the agent reads as text.

use super::decode::{Base64, Check, Decoder, Leaf, QuotedPrintable, Raw, Utf8};
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{ContentType, GetHeader, HeaderName, HeaderValue, MessageParser};

/// A multipart's subtype, where it changes how mail-parser reads its parts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    /// A part without a Content-Type is a forwarded mail.
    Digest,
    /// Its text parts other than the first are attachments.
    Related,
    /// Its text/plain and text/html parts are bodies, whatever else they say.
    Alternative,
    Other,
}

/// What a header block is the head of.
#[derive(Clone, Copy)]
pub enum Place {
    /// The mail itself: never taken out (no boundary ends it).
    Root,
    /// A forwarded mail's own head, inside a multipart.
    Forwarded,
    /// A part of a multipart.
    Part { sub: Sub, first: bool },
}

pub enum Next {
    /// Passed through as it is.
    Through,
    /// A multipart, with its boundary.
    Multipart { boundary: Vec<u8>, sub: Sub },
    /// A forwarded mail (kept as it is): its own header block follows.
    Forwarded,
    /// A file, taken out when it is large.
    Leaf(Leaf),
}

/// What follows `block`. `taken`: whether a file here may be taken out at
/// all (not one in forwarded mails nested deeper than the body reads).
pub fn after_headers(block: &[u8], place: Place, taken: bool) -> Result<Next, &'static str> {
    let in_digest = matches!(
        place,
        Place::Part {
            sub: Sub::Digest,
            ..
        }
    );
    if block == b"\n" || block == b"\r\n" {
        // No headers: text/plain, or a forwarded mail in a digest.
        return if in_digest {
            Err("a forwarded mail without headers")
        } else {
            Ok(Next::Through)
        };
    }
    let parsed = MessageParser::new()
        .parse_headers(block)
        .ok_or("a header block mail-parser does not read")?;
    let root = parsed.root_part();
    if root.offset_body as usize != block.len() {
        return Err("a header block mail-parser ends elsewhere");
    }
    let headers = &root.headers;
    let content_type = headers
        .header_value(&HeaderName::ContentType)
        .and_then(|v| v.as_content_type());
    let decoder = match headers.header_value(&HeaderName::ContentTransferEncoding) {
        Some(HeaderValue::Text(cte)) if cte.eq_ignore_ascii_case("base64") => {
            Decoder::Base64(Base64::default())
        }
        Some(HeaderValue::Text(cte)) if cte.eq_ignore_ascii_case("quoted-printable") => {
            Decoder::QuotedPrintable(QuotedPrintable::default())
        }
        _ => Decoder::Raw(Raw::default()),
    };
    let Some(content_type) = content_type else {
        return match (in_digest, decoder) {
            (true, Decoder::Raw(_)) => Ok(Next::Forwarded),
            (true, _) => Err("an encoded forwarded mail"),
            (false, _) => Ok(Next::Through),
        };
    };
    // mail-parser's own names, which its header parser has lower-cased.
    match (content_type.ctype(), content_type.subtype()) {
        ("multipart", subtype) => {
            let boundary = content_type
                .attribute("boundary")
                .filter(|b| !b.is_empty() && !b.contains(['\r', '\n']))
                .ok_or("a multipart without a boundary")?;
            let sub = match subtype {
                Some("digest") => Sub::Digest,
                Some("related") => Sub::Related,
                Some("alternative") => Sub::Alternative,
                _ => Sub::Other,
            };
            Ok(Next::Multipart {
                boundary: boundary.as_bytes().to_vec(),
                sub,
            })
        }
        ("message", Some("rfc822" | "global")) => match (place, decoder) {
            // A forwarded mail's head directly in another's: mail-parser
            // reads the parts after it as the inner mail's.
            (Place::Part { .. }, Decoder::Raw(_)) => Ok(Next::Forwarded),
            _ => Err("a forwarded mail"),
        },
        _ if !taken || matches!(place, Place::Root) => Ok(Next::Through),
        ("text", subtype) => {
            let disposed = headers
                .header_value(&HeaderName::ContentDisposition)
                .is_some_and(|d| d.as_content_type().is_some_and(|d| d.is_attachment()));
            Ok(text(content_type, subtype, disposed, place)
                .map_or(Next::Through, |check| Next::Leaf(Leaf { decoder, check })))
        }
        _ => Ok(Next::Leaf(Leaf {
            decoder,
            check: Check::Bytes,
        })),
    }
}

/// How a text part's bytes must be checked to be taken out: `None` when
/// it is not certain to be an attachment mail-parser keeps as the bytes
/// decoded.
fn text(
    content_type: &ContentType,
    subtype: Option<&str>,
    disposed: bool,
    place: Place,
) -> Option<Check> {
    let (first, related) = match place {
        // Plain and HTML parts are bodies here, whatever else they say.
        Place::Part {
            sub: Sub::Alternative,
            ..
        } => return None,
        Place::Part { sub, first } => (first, sub == Sub::Related),
        Place::Forwarded | Place::Root => (true, false),
    };
    // mail-parser's rule: any other text is an attachment; plain and HTML
    // are when disposed so, or named (or in a related multipart) and not
    // the first part.
    let attachment = !matches!(subtype, Some("plain" | "html"))
        || disposed
        || (!first && (related || content_type.has_attribute("name")));
    if !attachment {
        return None;
    }
    match content_type.attribute("charset") {
        None => Some(Check::Utf8(Utf8::default())),
        Some(c) if charset_decoder(c.as_bytes()).is_none() => Some(Check::Utf8(Utf8::default())),
        Some(c) if c.eq_ignore_ascii_case("us-ascii") || c.eq_ignore_ascii_case("ascii") => {
            Some(Check::Ascii)
        }
        Some(_) => None,
    }
}
