//! The walk that takes large files out of a mail ([`super::split`]):
//! mail-parser must read the skeleton as it reads the mail, and the files
//! taken out must be the bytes mail-parser decodes.

use super::split::{Split, Splitter, Whole};
use mail_parser::{Message, MessageParser, PartType};
use proptest::prelude::*;

mod mails;

pub(crate) use mails::quoted_printable;
use mails::{content, mail, node, Cte, Node};

pub(super) const NONCE: &str = "0123456789abcdef0123456789abcdef";

/// Where a part is, as the walk sees it.
#[derive(Clone, Copy)]
enum Place {
    Root,
    Forwarded,
    Part { subtype: &'static str, first: bool },
}

/// Parts the walk takes out with `stream_from` 0: those it certainly
/// does, and text attachments that are not the text their charset says,
/// which it takes out or not depending on where that shows (and gives up
/// on if it shows after it began).
fn taken(node: &Node, place: Place, eol: &str) -> (usize, usize) {
    match (node, place) {
        (Node::Leaf { .. } | Node::Text(_), Place::Root) => (0, 0),
        // Body text where mail-parser reads it as such, else an attachment.
        (Node::Text(text), place) => taken(
            &Node::Leaf {
                ctype: "text/plain",
                charset: Some("utf-8"),
                named: false,
                attachment: false,
                cte: Cte::Absent,
                lines: vec![text.clone().into_bytes()],
                width: 0,
            },
            place,
            eol,
        ),
        (
            Node::Multi {
                subtype, children, ..
            },
            _,
        ) => children
            .iter()
            .enumerate()
            .map(|(i, child)| {
                taken(
                    child,
                    Place::Part {
                        subtype,
                        first: i == 0,
                    },
                    eol,
                )
            })
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d)),
        (Node::Forwarded(child), Place::Part { .. }) => taken(child, Place::Forwarded, eol),
        (Node::Forwarded(_), _) => (0, 0),
        (
            Node::Leaf {
                ctype,
                charset,
                named,
                attachment,
                cte,
                lines,
                ..
            },
            place,
        ) => {
            let bytes = content(lines, *cte, eol);
            let encoded = matches!(cte, Cte::Base64 | Cte::Qp);
            if (encoded && bytes.is_empty()) || lines.is_empty() {
                return (0, 0);
            }
            let Some(sub) = ctype.strip_prefix("text/") else {
                return (1, 0);
            };
            let (first, related) = match place {
                Place::Part {
                    subtype: "alternative",
                    ..
                } => return (0, 0),
                Place::Part { subtype, first } => (first, subtype == "related"),
                _ => (true, false),
            };
            let attached =
                !matches!(sub, "plain" | "html") || *attachment || (!first && (related || *named));
            let clean = match charset {
                None | Some("utf-8") => std::str::from_utf8(&bytes).is_ok(),
                Some("us-ascii") => bytes.is_ascii(),
                _ => return (0, 0),
            };
            match (attached, clean) {
                (false, _) => (0, 0),
                (true, true) => (1, 0),
                (true, false) => (0, 1),
            }
        }
    }
}

/// `raw` walked in pieces of `piece` bytes into in-memory spools.
pub(super) fn split(raw: &[u8], piece: usize, stream_from: usize) -> Result<Split<Vec<u8>>, Whole> {
    let mut splitter = Splitter::new(|| Ok(Vec::new()), stream_from, NONCE);
    for chunk in raw.chunks(piece.max(1)) {
        std::io::Write::write_all(&mut splitter, chunk).map_err(Whole::Io)?;
    }
    splitter.finish()
}

/// Every part as mail-parser reads it: kind, contents, encoding problem
/// (a forwarded mail as its own parts); and the body lists. A reference
/// stands for the bytes taken out only in an attachment, as the body
/// reads them: a body part showing one is a difference.
fn parts(message: &Message, streamed: &[(Vec<u8>, Vec<u8>)]) -> Vec<String> {
    let mut seen: Vec<String> = message
        .parts
        .iter()
        .enumerate()
        .map(|(id, part)| {
            let kind = match &part.body {
                PartType::Text(_) => "text",
                PartType::Html(_) => "html",
                PartType::Binary(_) => "binary",
                PartType::InlineBinary(_) => "inline",
                PartType::Message(inner) => {
                    return format!(
                        "message {:?} {}",
                        parts(inner, streamed),
                        part.is_encoding_problem
                    )
                }
                PartType::Multipart(_) => "multipart",
            };
            let contents = part.contents();
            let contents = streamed
                .iter()
                .find(|(marker, _)| {
                    marker.as_slice() == contents && message.attachments.contains(&(id as u32))
                })
                .map_or(contents, |(_, bytes)| bytes.as_slice());
            format!("{kind} {:?} {}", contents, part.is_encoding_problem)
        })
        .collect();
    seen.push(format!(
        "text {:?} html {:?} attachments {:?}",
        message.text_body, message.html_body, message.attachments
    ));
    seen
}

pub(super) fn reading(raw: &[u8], streamed: &[(Vec<u8>, Vec<u8>)]) -> Vec<String> {
    match MessageParser::default().parse(raw) {
        Some(message) => parts(&message, streamed),
        None => vec!["unparsed".into()],
    }
}

/// Any bytes after the head of one of each kind of part taken out.
const HEADS: [&str; 6] = [
    "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
    "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
    "Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment\r\n\r\n",
    "Content-Type: text/plain\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    "Content-Type: message/rfc822\r\n\r\nSubject: fwd\r\nContent-Type: application/pdf\r\n\r\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, .. ProptestConfig::default() })]

    /// Whatever the tree and however the mail arrives in pieces, the
    /// skeleton reads as the mail, and every file was taken out.
    #[test]
    fn the_skeleton_reads_as_the_mail(
        root in node(),
        crlf in any::<bool>(),
        piece in 1usize..300,
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let raw = mail(&root, eol);
        let (certain, maybe) = taken(&root, Place::Root, eol);
        let split = match split(&raw, piece, 0) {
            Ok(split) => split,
            // A text attachment found not to be its charset's text after
            // it began to be taken out: the mail is read whole.
            Err(Whole::Unclear(_)) if maybe > 0 => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
        };
        prop_assert!(
            (certain..=certain + maybe).contains(&split.streamed.len()),
            "{} taken, {certain} expected and {maybe} more maybe", split.streamed.len()
        );
        let streamed: Vec<(Vec<u8>, Vec<u8>)> = split
            .streamed
            .into_iter()
            .map(|s| {
                assert_eq!(s.size, s.spool.len());
                (s.marker, s.spool)
            })
            .collect();
        prop_assert_eq!(reading(&split.skeleton, &streamed), reading(&raw, &[]));
    }

    /// Quoted-printable as no client writes it (`=` before anything,
    /// spaces before line breaks, CRs alone, bytes of any kind): taken out
    /// as mail-parser decodes it, kept, or the mail read whole.
    #[test]
    fn odd_quoted_printable_reads_as_mail_parser_reads_it(
        lines in prop::collection::vec(
            prop::collection::vec(prop_oneof![
                6 => prop::sample::select(b"aZ0F9f .\t\xff".to_vec()),
                1 => Just(b'='),
                1 => Just(b'\r'),
            ], 0..24),
            1..10,
        ),
        crlf in any::<bool>(),
        piece in 1usize..40,
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let body = lines.join(eol.as_bytes());
        let raw = [
            format!("Content-Type: multipart/mixed; boundary=\"xb\"{eol}{eol}--xb{eol}Content-Type: application/octet-stream{eol}Content-Transfer-Encoding: quoted-printable{eol}{eol}").as_bytes(),
            &body,
            format!("{eol}--xb--{eol}").as_bytes(),
        ]
        .concat();
        if let Ok(split) = split(&raw, piece, 0) {
            // None when mail-parser reads the first line as broken.
            prop_assert!(split.streamed.len() <= 1);
            let streamed: Vec<(Vec<u8>, Vec<u8>)> =
                split.streamed.into_iter().map(|s| (s.marker, s.spool)).collect();
            prop_assert_eq!(reading(&split.skeleton, &streamed), reading(&raw, &[]));
        }
    }

    /// Any bytes at all: the walk never panics, and what it gives back
    /// reads as the mail.
    #[test]
    fn any_bytes_read_as_they_are(
        head in prop::sample::select(HEADS.to_vec()),
        raw in prop::collection::vec(prop::sample::select(b"-=\r\n \tabAB0F/+:;\"xb\xc3\xa9\xff".to_vec()), 0..400),
        piece in 1usize..50,
    ) {
        let mut raw = raw;
        raw.splice(0..0, format!("Content-Type: multipart/mixed; boundary=\"xb\"\r\n\r\n--xb\r\n{head}").bytes());
        if let Ok(split) = split(&raw, piece, 0) {
            let streamed: Vec<(Vec<u8>, Vec<u8>)> =
                split.streamed.into_iter().map(|s| (s.marker, s.spool)).collect();
            prop_assert_eq!(reading(&split.skeleton, &streamed), reading(&raw, &[]));
        }
    }
}
