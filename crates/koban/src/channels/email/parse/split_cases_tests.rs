//! The walk that takes large files out of a mail ([`super::split`]), one
//! kind of mail at a time: what is taken out comes back byte for byte,
//! and what is unclear is given as it is or read whole.

use super::split::{Splitter, Streamed, Whole};
use super::split_tests::{split, NONCE};
use super::spool::SpoolFile;
use super::{parse, parse_skeleton, Taken};
use base64::Engine;
use std::sync::Arc;

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
    let taken = finished(split.streamed);
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

/// `raw` walked in pieces of 64 KiB into spools on disk (`stream_from`
/// as the desk has it unless said), then read from its skeleton: how
/// many parts were taken out, the skeleton's length, the mail.
fn read_split(raw: &[u8], stream_from: usize) -> (usize, usize, super::Mail) {
    let dir = tempfile::tempdir().unwrap();
    let mut splitter = Splitter::new(
        || SpoolFile::create(dir.path(), 10 * 1024 * 1024),
        stream_from,
        NONCE,
    );
    for chunk in raw.chunks(64 * 1024) {
        std::io::Write::write_all(&mut splitter, chunk).unwrap();
    }
    let split = splitter.finish().unwrap();
    let taken = finished(split.streamed);
    let mail = parse_skeleton(&split.skeleton, &taken, &[]).unwrap();
    (taken.len(), split.skeleton.len(), mail)
}

/// The parts taken out, their spools finished, as the ingest hands them
/// to the parse.
fn finished(streamed: Vec<Streamed<SpoolFile>>) -> Vec<Taken> {
    streamed
        .into_iter()
        .map(|s| Taken {
            marker: s.marker,
            size: s.size,
            spooled: s.spool.finish().unwrap().map(Arc::new),
        })
        .collect()
}

/// The mail's files, as the desk keeps them: name, type, bytes.
fn files(mail: &super::Mail) -> Vec<(String, String, Vec<u8>)> {
    mail.files
        .iter()
        .map(|f| {
            let bytes = f.content().unwrap().to_vec();
            assert_eq!(f.size, bytes.len());
            (f.name.clone(), f.content_type.clone(), bytes)
        })
        .collect()
}

fn multipart(eol: &str, parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut raw = format!("From: a@example.jp{eol}Subject: log{eol}Message-ID: <l@example.jp>{eol}MIME-Version: 1.0{eol}Content-Type: multipart/mixed; boundary=\"b1\"{eol}{eol}").into_bytes();
    for (head, body) in parts {
        raw.extend_from_slice(format!("--b1{eol}{}{eol}", head.replace('\n', eol)).as_bytes());
        raw.extend_from_slice(body);
        raw.extend_from_slice(eol.as_bytes());
    }
    raw.extend_from_slice(format!("--b1--{eol}").as_bytes());
    raw
}

/// A log of about 1 MiB sent as it is (7bit), as Thunderbird sends an
/// `application/octet-stream` file: taken out, and read back byte for
/// byte, its own last line break included, in CRLF and in LF mails.
#[test]
fn a_7bit_log_is_taken_out_and_read_back_byte_for_byte() {
    for eol in ["\r\n", "\n"] {
        let log = (0..20_000)
            .map(|i| {
                format!(
                    "2026-01-01 10:00:{:02} INFO worker {i}: job -- done{eol}",
                    i % 60
                )
            })
            .collect::<String>()
            .into_bytes();
        let raw = multipart(
            eol,
            &[
                ("Content-Type: text/plain; charset=utf-8\n", b"log attached"),
                ("Content-Type: application/octet-stream; name=\"app.log\"\nContent-Disposition: attachment; filename=\"app.log\"\nContent-Transfer-Encoding: 7bit\n", &log),
            ],
        );
        let (taken, skeleton, mail) = read_split(&raw, super::split::STREAM_FROM);
        assert_eq!(taken, 1);
        assert!(skeleton < 1000, "{skeleton}");
        let whole = parse(&raw, &[]).unwrap();
        assert_eq!(mail.text, whole.text);
        assert_eq!(files(&mail), files(&whole));
        assert_eq!(files(&mail)[0].2, log);
    }
}

/// A text file sent as an attachment is taken out in each encoding and
/// kept as its bytes; the body shows the sender's words, never the
/// reference that stood for the file. The same part as the body is not.
#[test]
fn a_text_attachment_is_taken_out_and_never_shown_as_text() {
    let text = "2026-01-01 ログ: 接続しました ✓ -- ok\r\n"
        .repeat(3000)
        .into_bytes();
    let base64 = base64::engine::general_purpose::STANDARD
        .encode(&text)
        .into_bytes()
        .chunks(76)
        .collect::<Vec<_>>()
        .join(&b"\r\n"[..]);
    let qp = super::split_tests::quoted_printable(&text, 76, "\r\n");
    for (cte, body) in [
        ("8bit", &text),
        ("base64", &base64),
        ("quoted-printable", &qp),
    ] {
        let head = format!("Content-Type: text/plain; charset=utf-8; name=\"app.log\"\nContent-Disposition: attachment; filename=\"app.log\"\nContent-Transfer-Encoding: {cte}\n");
        let raw = multipart(
            "\r\n",
            &[
                ("Content-Type: text/plain\n", b"see the log"),
                (&head, body),
            ],
        );
        let (taken, skeleton, mail) = read_split(&raw, 4096);
        assert_eq!(taken, 1, "{cte}");
        assert!(skeleton < 1000, "{cte}: {skeleton}");
        let whole = parse(&raw, &[]).unwrap();
        assert_eq!(mail.text, "see the log");
        assert_eq!(mail.text, whole.text);
        assert_eq!(files(&mail), files(&whole), "{cte}");
        assert_eq!(files(&mail)[0].2, text, "{cte}");
    }
    // Text mail-parser reads as a body stays in the mail.
    let raw = multipart(
        "\r\n",
        &[(
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n",
            &text,
        )],
    );
    let given = split(&raw, 1000, 4096).unwrap();
    assert!(given.streamed.is_empty());
    assert_eq!(given.skeleton, raw);
}

/// A text attachment that is not UTF-8: found before it is taken out, it
/// stays in the mail; found after, the mail is read whole.
#[test]
fn a_text_attachment_not_its_charset_stays_or_is_read_whole() {
    let head = "Content-Type: text/plain; name=\"app.log\"\nContent-Disposition: attachment\n";
    let lines = "line of the log\r\n".repeat(1000).into_bytes();
    let early = multipart(
        "\r\n",
        &[(head, &[b"caf\xe9\r\n".as_slice(), &lines].concat())],
    );
    let given = split(&early, 4096, 4096).unwrap();
    assert!(given.streamed.is_empty());
    assert_eq!(given.skeleton, early);
    let late = multipart("\r\n", &[(head, &[lines.as_slice(), b"caf\xe9"].concat())]);
    assert!(matches!(split(&late, 4096, 4096), Err(Whole::Unclear(_))));
    // Cut inside a character at the part's end.
    let cut = multipart("\r\n", &[(head, &[lines.as_slice(), b"\xe3\x83"].concat())]);
    assert!(matches!(split(&cut, 4096, 4096), Err(Whole::Unclear(_))));
}

/// A file in a forwarded mail's own multipart is taken out, and the
/// forwarded mail reads as before: its words in the text, its file kept.
#[test]
fn a_file_in_a_forwarded_mail_is_taken_out() {
    let pdf: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(31) >> 3) as u8)
        .collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&pdf);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    let forwarded = format!(
        "From: Mai <mai@example.jp>\r\nSubject: the invoice\r\nContent-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n\
         --b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ninner words\r\n\
         --b2\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b2--\r\n",
        lines.join("\r\n")
    );
    let raw = multipart(
        "\r\n",
        &[
            ("Content-Type: text/plain\n", b"see below"),
            ("Content-Type: message/rfc822\n", forwarded.as_bytes()),
        ],
    );
    let (taken, skeleton, mail) = read_split(&raw, super::split::STREAM_FROM);
    assert_eq!(taken, 1);
    assert!(skeleton < 2000, "{skeleton}");
    let whole = parse(&raw, &[]).unwrap();
    assert!(mail.text.contains("inner words"), "{}", mail.text);
    assert_eq!(mail.text, whole.text);
    assert_eq!(files(&mail), files(&whole));
    assert_eq!(files(&mail)[0].2, pdf);
}

/// A quoted-printable file with soft line breaks comes back as its bytes.
#[test]
fn a_quoted_printable_file_is_taken_out() {
    let file: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    for eol in ["\r\n", "\n"] {
        let body = super::split_tests::quoted_printable(&file, 76, eol);
        let raw = multipart(
            eol,
            &[("Content-Type: application/octet-stream\nContent-Transfer-Encoding: quoted-printable\n", &body)],
        );
        let (taken, _, mail) = read_split(&raw, super::split::STREAM_FROM);
        assert_eq!(taken, 1);
        assert_eq!(files(&mail), files(&parse(&raw, &[]).unwrap()));
        assert_eq!(files(&mail)[0].2, file);
    }
}
