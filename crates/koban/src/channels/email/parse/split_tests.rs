//! The walk that takes large files out of a mail ([`super::split`]):
//! mail-parser must read the skeleton as it reads the mail, and the files
//! taken out must be the bytes mail-parser decodes.

use super::split::{Split, Splitter, Whole};
use super::spool::SpoolFile;
use super::{parse, parse_skeleton, Taken};
use base64::Engine;
use mail_parser::{MessageParser, PartType};
use proptest::prelude::*;
use std::sync::Arc;

const NONCE: &str = "0123456789abcdef0123456789abcdef";

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    File {
        ctype: &'static str,
        bytes: Vec<u8>,
        line: usize,
        named: bool,
    },
    Multi {
        subtype: &'static str,
        preamble: bool,
        children: Vec<Node>,
    },
}

fn node() -> impl Strategy<Value = Node> {
    let text = "[a-zA-Z0-9 .,!?]{0,80}".prop_map(Node::Text);
    let file = (
        prop::sample::select(vec![
            "application/pdf",
            "image/png",
            "application/octet-stream",
        ]),
        prop::collection::vec(any::<u8>(), 0..600),
        prop::sample::select(vec![4usize, 17, 60, 76, 200]),
        any::<bool>(),
    )
        .prop_map(|(ctype, bytes, line, named)| Node::File {
            ctype,
            bytes,
            line,
            named,
        });
    let leaf = prop_oneof![text, file];
    leaf.prop_recursive(3, 16, 4, |inner| {
        (
            prop::sample::select(vec!["mixed", "related", "alternative"]),
            any::<bool>(),
            prop::collection::vec(inner, 1..4),
        )
            .prop_map(|(subtype, preamble, children)| Node::Multi {
                subtype,
                preamble,
                children,
            })
    })
}

/// The part's headers and body, lines ended by `eol`.
fn render(node: &Node, eol: &str, next: &mut usize, out: &mut String) {
    match node {
        Node::Text(text) => {
            out.push_str(&format!(
                "Content-Type: text/plain; charset=utf-8{eol}{eol}{text}{eol}"
            ));
        }
        Node::File {
            ctype,
            bytes,
            line,
            named,
        } => {
            *next += 1;
            let name = if *named {
                format!("; name=\"file{next}\"")
            } else {
                String::new()
            };
            out.push_str(&format!(
                "Content-Type: {ctype}{name}{eol}Content-Transfer-Encoding: base64{eol}{eol}"
            ));
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            for chunk in encoded.as_bytes().chunks(*line) {
                out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
                out.push_str(eol);
            }
        }
        Node::Multi {
            subtype,
            preamble,
            children,
        } => {
            *next += 1;
            let boundary = format!("=_b{next}_=");
            out.push_str(&format!(
                "Content-Type: multipart/{subtype}; boundary=\"{boundary}\"{eol}{eol}"
            ));
            if *preamble {
                out.push_str(&format!("This is a MIME message.{eol}"));
            }
            for child in children {
                out.push_str(&format!("--{boundary}{eol}"));
                render(child, eol, next, out);
            }
            out.push_str(&format!("--{boundary}--{eol}"));
        }
    }
}

fn mail(root: &Node, eol: &str) -> Vec<u8> {
    let mut out = format!(
        "From: Ken <ken@example.jp>{eol}Subject: files{eol}Message-ID: <m@example.jp>{eol}MIME-Version: 1.0{eol}"
    );
    render(root, eol, &mut 0, &mut out);
    out.into_bytes()
}

fn files(node: &Node) -> usize {
    match node {
        Node::Text(_) => 0,
        // An empty file has no body line to take out.
        Node::File { bytes, .. } => usize::from(!bytes.is_empty()),
        Node::Multi { children, .. } => children.iter().map(files).sum(),
    }
}

/// `raw` walked in pieces of `piece` bytes into in-memory spools.
fn split(raw: &[u8], piece: usize, stream_from: usize) -> Result<Split<Vec<u8>>, Whole> {
    let mut splitter = Splitter::new(|| Ok(Vec::new()), stream_from, NONCE);
    for chunk in raw.chunks(piece.max(1)) {
        std::io::Write::write_all(&mut splitter, chunk).map_err(Whole::Io)?;
    }
    splitter.finish()
}

/// Every part as mail-parser reads it: kind, contents (a reference replaced
/// by the bytes it stands for), encoding problem; and the body lists.
fn reading(raw: &[u8], streamed: &[(Vec<u8>, Vec<u8>)]) -> Vec<String> {
    let Some(message) = MessageParser::default().parse(raw) else {
        return vec!["unparsed".into()];
    };
    let mut seen: Vec<String> = message
        .parts
        .iter()
        .map(|part| {
            let contents = part.contents();
            let contents = streamed
                .iter()
                .find(|(marker, _)| marker.as_slice() == contents)
                .map_or(contents, |(_, bytes)| bytes.as_slice());
            let kind = match &part.body {
                PartType::Text(_) => "text",
                PartType::Html(_) => "html",
                PartType::Binary(_) => "binary",
                PartType::InlineBinary(_) => "inline",
                PartType::Message(_) => "message",
                PartType::Multipart(_) => "multipart",
            };
            format!("{kind} {:?} {}", contents, part.is_encoding_problem)
        })
        .collect();
    seen.push(format!(
        "text {:?} html {:?} attachments {:?}",
        message.text_body, message.html_body, message.attachments
    ));
    seen
}

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
        let raw = mail(&root, if crlf { "\r\n" } else { "\n" });
        let split = split(&raw, piece, 0).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        // A mail that is one file is not taken apart (no boundary ends it).
        let expected = if matches!(root, Node::Multi { .. }) { files(&root) } else { 0 };
        prop_assert_eq!(split.streamed.len(), expected);
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

    /// Any bytes at all: the walk never panics, and what it gives back
    /// reads as the mail.
    #[test]
    fn any_bytes_read_as_they_are(
        raw in prop::collection::vec(prop::sample::select(b"-=\r\n abAB/+:;\"xb".to_vec()), 0..400),
        piece in 1usize..50,
    ) {
        let mut raw = raw;
        raw.splice(0..0, b"Content-Type: multipart/mixed; boundary=\"xb\"\r\n\r\n--xb\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n".iter().copied());
        if let Ok(split) = split(&raw, piece, 0) {
            let streamed: Vec<(Vec<u8>, Vec<u8>)> =
                split.streamed.into_iter().map(|s| (s.marker, s.spool)).collect();
            prop_assert_eq!(reading(&split.skeleton, &streamed), reading(&raw, &[]));
        }
    }
}

/// The benchmark's kind of mail: two large scans, cut out to spools on
/// disk and read back as the same files the whole mail gives.
#[test]
fn large_files_wait_on_disk_and_come_back_whole() {
    let mut raw = b"From: a@example.jp\r\nSubject: scans\r\nMessage-ID: <s@example.jp>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nscans attached\r\n".to_vec();
    let scans: Vec<Vec<u8>> = (0..2u8)
        .map(|n| {
            (0..300_000u32)
                .map(|i| (i.wrapping_mul(7) as u8) ^ n)
                .collect()
        })
        .collect();
    for (n, scan) in scans.iter().enumerate() {
        raw.extend_from_slice(format!("--b1\r\nContent-Type: application/pdf; name=\"scan{n}.pdf\"\r\nContent-Disposition: attachment; filename=\"scan{n}.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n").as_bytes());
        let encoded = base64::engine::general_purpose::STANDARD.encode(scan);
        for line in encoded.as_bytes().chunks(76) {
            raw.extend_from_slice(line);
            raw.extend_from_slice(b"\r\n");
        }
    }
    raw.extend_from_slice(b"--b1--\r\n");
    let dir = tempfile::tempdir().unwrap();
    let mut splitter = Splitter::new(
        || SpoolFile::create(dir.path(), 10 * 1024 * 1024),
        super::split::STREAM_FROM,
        NONCE,
    );
    for chunk in raw.chunks(256 * 1024) {
        std::io::Write::write_all(&mut splitter, chunk).unwrap();
    }
    let split = splitter.finish().unwrap();
    assert_eq!(split.streamed.len(), 2);
    assert!(split.skeleton.len() < 2000, "{}", split.skeleton.len());
    // Unlinked at once: nothing is left in the folder.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let taken: Vec<Taken> = split
        .streamed
        .into_iter()
        .map(|s| Taken {
            marker: s.marker,
            size: s.size,
            spooled: s.spool.finish().unwrap().map(Arc::new),
        })
        .collect();
    let from_skeleton = parse_skeleton(&split.skeleton, &taken, &[]).unwrap();
    let whole = parse(&raw, &[]).unwrap();
    assert_eq!(from_skeleton.text, whole.text);
    assert_eq!(from_skeleton.files.len(), 2);
    for ((a, b), scan) in from_skeleton.files.iter().zip(&whole.files).zip(&scans) {
        assert_eq!(
            (&a.name, &a.content_type, a.size),
            (&b.name, &b.content_type, b.size)
        );
        assert!(a.bytes.is_empty() && a.spooled.is_some());
        assert_eq!(&a.content().unwrap()[..], &scan[..]);
        assert_eq!(&b.content().unwrap()[..], &scan[..]);
    }
}

/// A sender cannot point at a spooled file: the reference is this
/// reading's own, and a file that merely looks like one is its own bytes.
#[test]
fn a_file_that_looks_like_a_reference_is_its_own() {
    let fake = format!("kp{NONCE}{:014}", 0);
    let raw = format!("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{fake}\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n");
    // Nothing taken out under the threshold: the skeleton is the mail.
    let kept = split(raw.as_bytes(), 7, 1024).unwrap();
    assert!(kept.streamed.is_empty());
    assert_eq!(kept.skeleton, raw.as_bytes());
    let other = "fedcba9876543210fedcba9876543210";
    let mut splitter = Splitter::new(|| Ok(Vec::new()), 0, other);
    std::io::Write::write_all(&mut splitter, raw.as_bytes()).unwrap();
    let taken = splitter.finish().unwrap();
    assert_eq!(taken.streamed.len(), 2);
    assert_ne!(taken.streamed[0].marker, taken.streamed[1].marker);
    assert!(taken
        .streamed
        .iter()
        .all(|s| !contains(&s.marker, fake.as_bytes())));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where mail-parser could read the mail otherwise, the walk stops: before
/// anything was taken out the mail is given as it is, after it is read whole.
#[test]
fn an_unclear_mail_is_given_as_it_is_or_read_whole() {
    let head = "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    // A boundary inside a line, before the file: nothing is taken out.
    let early = "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\nsee --b here\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";
    let given = split(early.as_bytes(), 5, 0).unwrap();
    assert!(given.streamed.is_empty());
    assert_eq!(given.skeleton, early.as_bytes());
    // Dashes inside a file being taken out: read whole.
    let late = format!("{head}JVBERi0xLjQK\r\n--x\r\n--b--\r\n");
    assert!(matches!(
        split(late.as_bytes(), 5, 0),
        Err(Whole::Unclear(_))
    ));
    // A multipart never closed after a file was taken out: read whole.
    let open = format!("{head}JVBERi0xLjQK\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n");
    assert!(matches!(
        split(open.as_bytes(), 5, 0),
        Err(Whole::Unclear(_))
    ));
    // A forwarded mail: given as it is.
    let forwarded = "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nhi\r\n--b--\r\n";
    let given = split(forwarded.as_bytes(), 3, 0).unwrap();
    assert!(given.streamed.is_empty());
    assert_eq!(given.skeleton, forwarded.as_bytes());
}
