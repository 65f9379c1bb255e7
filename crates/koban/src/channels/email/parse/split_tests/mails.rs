//! Mails as clients write them, generated: any tree of parts, each leaf
//! in any transfer encoding, forwarded mails and digests among them.

use base64::Engine;
use proptest::prelude::*;

/// How a leaf's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cte {
    Base64,
    Qp,
    Seven,
    Eight,
    Binary,
    Absent,
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    /// A body text part.
    Text(String),
    /// A file or a text attachment. `lines` is its content: written as
    /// lines of the mail when not encoded, joined by LF and encoded else.
    Leaf {
        ctype: &'static str,
        charset: Option<&'static str>,
        named: bool,
        attachment: bool,
        cte: Cte,
        lines: Vec<Vec<u8>>,
        width: usize,
    },
    Multi {
        subtype: &'static str,
        preamble: bool,
        children: Vec<Node>,
    },
    Forwarded(Box<Node>),
}

/// Bytes of any kind, but never a line break nor `_` (which every
/// boundary has, so no content is ever taken for one).
pub(super) fn byte_line() -> impl Strategy<Value = Vec<u8>> {
    let bytes = prop::collection::vec(any::<u8>(), 0..80).prop_map(|mut line| {
        for b in &mut line {
            if matches!(*b, b'\n' | b'_') {
                *b = b'x';
            }
        }
        line
    });
    prop_oneof![
        3 => bytes.clone(),
        1 => bytes.prop_map(|line| [b"--".as_slice(), &line].concat()),
    ]
}

pub(super) fn cte() -> impl Strategy<Value = Cte> {
    prop::sample::select(vec![
        Cte::Base64,
        Cte::Qp,
        Cte::Seven,
        Cte::Eight,
        Cte::Binary,
        Cte::Absent,
    ])
}

pub(super) fn node() -> impl Strategy<Value = Node> {
    let text = "[a-zA-Z0-9 .,!?]{0,80}".prop_map(Node::Text);
    let width = prop::sample::select(vec![4usize, 17, 60, 76, 200]);
    let file = (
        prop::sample::select(vec![
            "application/pdf",
            "image/png",
            "application/octet-stream",
            "message/delivery-status",
        ]),
        any::<(bool, bool)>(),
        cte(),
        prop::collection::vec(byte_line(), 0..8),
        width.clone(),
    )
        .prop_map(
            |(ctype, (named, attachment), cte, lines, width)| Node::Leaf {
                ctype,
                charset: None,
                named,
                attachment,
                cte,
                lines,
                width,
            },
        );
    let words = "[a-zA-Z0-9 .,!?\t-]{0,30}|[日本語ไทย中文 ]{1,12}".prop_map(String::into_bytes);
    let text_file = (
        prop::sample::select(vec!["text/plain", "text/csv", "text/html"]),
        prop::sample::select(vec![
            None,
            Some("utf-8"),
            Some("us-ascii"),
            Some("iso-8859-1"),
        ]),
        any::<(bool, bool)>(),
        cte(),
        prop::collection::vec(prop_oneof![8 => words, 1 => byte_line()], 0..6),
        width,
    )
        .prop_map(
            |(ctype, charset, (named, attachment), cte, lines, width)| Node::Leaf {
                ctype,
                charset,
                named,
                attachment,
                cte,
                lines,
                width,
            },
        );
    let leaf = prop_oneof![text, file, text_file];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            3 => (
                prop::sample::select(vec!["mixed", "related", "alternative", "digest"]),
                any::<bool>(),
                prop::collection::vec(inner.clone(), 1..4),
            )
                .prop_map(|(subtype, preamble, children)| Node::Multi {
                    subtype,
                    preamble,
                    children,
                }),
            // A forwarded mail's root is never one itself (the walk stops).
            1 => inner.prop_map(|child| Node::Forwarded(Box::new(match child {
                Node::Forwarded(_) => Node::Multi {
                    subtype: "mixed",
                    preamble: false,
                    children: vec![child],
                },
                child => child,
            }))),
        ]
    })
}

/// What a leaf's content decodes to, as mail-parser gives it.
pub(super) fn content(lines: &[Vec<u8>], cte: Cte, eol: &str) -> Vec<u8> {
    match cte {
        Cte::Base64 | Cte::Qp => lines.join(&b'\n'),
        _ => lines.join(eol.as_bytes()),
    }
}

/// Quoted-printable as a client writes it: all but letters and digits
/// escaped, soft line breaks every `width` characters or so.
pub(crate) fn quoted_printable(bytes: &[u8], width: usize, eol: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut column = 0;
    for &b in bytes {
        let token = if b.is_ascii_alphanumeric() {
            vec![b]
        } else {
            format!("={b:02X}").into_bytes()
        };
        if column + token.len() > width.max(4) {
            out.extend_from_slice(b"=");
            out.extend_from_slice(eol.as_bytes());
            column = 0;
        }
        column += token.len();
        out.extend_from_slice(&token);
    }
    out
}

/// The part's headers and body, lines ended by `eol`.
pub(super) fn render(node: &Node, eol: &str, next: &mut usize, in_digest: bool, out: &mut Vec<u8>) {
    match node {
        Node::Text(text) => out.extend_from_slice(
            format!("Content-Type: text/plain; charset=utf-8{eol}{eol}{text}{eol}").as_bytes(),
        ),
        Node::Leaf {
            ctype,
            charset,
            named,
            attachment,
            cte,
            lines,
            width,
        } => {
            *next += 1;
            let mut head = format!("Content-Type: {ctype}");
            if let Some(charset) = charset {
                head.push_str(&format!("; charset={charset}"));
            }
            if *named {
                head.push_str(&format!("; name=\"file{next}\""));
            }
            head.push_str(eol);
            if *attachment {
                head.push_str(&format!(
                    "Content-Disposition: attachment; filename=\"file{next}\"{eol}"
                ));
            }
            let label = match cte {
                Cte::Base64 => "base64",
                Cte::Qp => "quoted-printable",
                Cte::Seven => "7bit",
                Cte::Eight => "8bit",
                Cte::Binary => "binary",
                Cte::Absent => "",
            };
            if !label.is_empty() {
                head.push_str(&format!("Content-Transfer-Encoding: {label}{eol}"));
            }
            head.push_str(eol);
            out.extend_from_slice(head.as_bytes());
            let bytes = content(lines, *cte, eol);
            let body = match cte {
                Cte::Base64 => base64::engine::general_purpose::STANDARD
                    .encode(&bytes)
                    .into_bytes()
                    .chunks(*width)
                    .collect::<Vec<_>>()
                    .join(eol.as_bytes()),
                Cte::Qp => quoted_printable(&bytes, *width, eol),
                _ => bytes,
            };
            // Not encoded, no lines is no body; encoded, no bytes is none.
            if !body.is_empty() || (!lines.is_empty() && !matches!(cte, Cte::Base64 | Cte::Qp)) {
                out.extend_from_slice(&body);
                out.extend_from_slice(eol.as_bytes());
            }
        }
        Node::Multi {
            subtype,
            preamble,
            children,
        } => {
            *next += 1;
            let boundary = format!("=_b{next}_=");
            out.extend_from_slice(
                format!("Content-Type: multipart/{subtype}; boundary=\"{boundary}\"{eol}{eol}")
                    .as_bytes(),
            );
            if *preamble {
                out.extend_from_slice(format!("This is a MIME message.{eol}").as_bytes());
            }
            for child in children {
                out.extend_from_slice(format!("--{boundary}{eol}").as_bytes());
                render(child, eol, next, *subtype == "digest", out);
            }
            out.extend_from_slice(format!("--{boundary}--{eol}").as_bytes());
        }
        Node::Forwarded(child) => {
            // In a digest, a part without a Content-Type is a forwarded mail.
            let head = if in_digest {
                format!("Content-Description: forwarded{eol}{eol}")
            } else {
                format!("Content-Type: message/rfc822{eol}{eol}")
            };
            out.extend_from_slice(head.as_bytes());
            out.extend_from_slice(
                format!("From: Mai <mai@example.jp>{eol}Subject: fwd{eol}").as_bytes(),
            );
            render(child, eol, next, false, out);
        }
    }
}

pub(super) fn mail(root: &Node, eol: &str) -> Vec<u8> {
    let mut out = format!(
        "From: Ken <ken@example.jp>{eol}Subject: files{eol}Message-ID: <m@example.jp>{eol}MIME-Version: 1.0{eol}"
    )
    .into_bytes();
    render(root, eol, &mut 0, false, &mut out);
    out
}
