//! The body of a mail: its text, its HTML, its files and the mails it
//! forwards, read within limits so that a hostile mail (ten thousand
//! parts, forwards nested a hundred deep, gigabytes of attachments) costs
//! a bounded amount of work and says what was cut.

use super::{html, names, File, Taken};
use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

/// Parts of one message looked at (text bodies and attachments each).
pub const MAX_PARTS: usize = 500;
/// Forwarded mails inside forwarded mails read.
pub const MAX_DEPTH: usize = 5;
/// Files kept from one mail.
pub const MAX_FILES: usize = 100;
/// Decoded bytes of files kept from one mail.
pub const MAX_FILE_BYTES: usize = 40 * 1024 * 1024;
/// Text kept, in bytes (a desk message is read by a person).
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

#[derive(Default)]
pub struct Body {
    pub text: String,
    pub html: Option<String>,
    pub charset: Option<String>,
    pub files: Vec<File>,
    pub problems: Vec<String>,
    file_bytes: usize,
    /// Largest file kept: the desk's own limit.
    max_file_bytes: u64,
}

impl Body {
    fn problem(&mut self, problem: String) {
        if !self.problems.contains(&problem) {
            self.problems.push(problem);
        }
    }
}

pub fn read(message: &mut Message, taken: &[Taken]) -> Body {
    let mut body = Body {
        charset: message
            .text_part(0)
            .or_else(|| message.html_part(0))
            .and_then(|p| p.content_type())
            .and_then(|ct| ct.attribute("charset"))
            .map(str::to_ascii_lowercase),
        max_file_bytes: koban_policy::desk::attachment::Limits::default().max_bytes,
        ..Body::default()
    };
    if message.parts.len() > MAX_PARTS {
        body.problem(format!(
            "{} MIME parts: only the first {MAX_PARTS} were read",
            message.parts.len()
        ));
    }
    body.text = text_of(message, &mut body);
    let first_html = message.html_bodies().find_map(|p| match &p.body {
        PartType::Html(h) => Some(h),
        _ => None,
    });
    if let Some(h) = first_html {
        if html::bounded(h).1 {
            body.problem(format!(
                "HTML of more than {} tags: the rest was cut",
                html::MAX_TAGS
            ));
        }
        body.html = Some(html::sanitise(h)).filter(|h| !h.trim().is_empty());
    }
    let mut text = std::mem::take(&mut body.text);
    collect(message, 0, &mut body, &mut text, taken);
    if text.len() > MAX_TEXT_BYTES {
        let mut cut = MAX_TEXT_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        body.problem(format!(
            "text longer than {MAX_TEXT_BYTES} bytes: the rest was cut"
        ));
    }
    body.text = text;
    body
}

/// The message's own text: its plain parts, or its HTML made text when
/// it has no plain part.
fn text_of(message: &Message, body: &mut Body) -> String {
    let mut pieces: Vec<String> = Vec::new();
    for &id in message.text_body.iter().take(MAX_PARTS) {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        note_charset(part, body);
        match &part.body {
            PartType::Text(text) => pieces.push(text.replace("\r\n", "\n").trim_end().to_string()),
            PartType::Html(h) => {
                if html::bounded(h).1 {
                    body.problem(format!(
                        "HTML of more than {} tags: the rest was cut",
                        html::MAX_TAGS
                    ));
                }
                pieces.push(html::to_text(h))
            }
            _ => {}
        }
    }
    pieces.retain(|p| !p.trim().is_empty());
    pieces.join("\n\n")
}

/// A charset mail-parser has no decoder for was read as UTF-8 with
/// replacement characters: the agent is told which one, so they know the
/// odd characters were the sender's client's doing.
fn note_charset(part: &MessagePart, body: &mut Body) {
    if part.is_encoding_problem {
        body.problem("a part's encoding was broken: it was read as far as it could be".into());
    }
    let Some(charset) = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(|c| c.trim().to_ascii_lowercase())
    else {
        return;
    };
    let utf8 = matches!(
        charset.as_str(),
        "utf-8" | "utf8" | "unicode-1-1-utf-8" | "unicode11utf8" | "unicode20utf8"
    );
    if !utf8 && mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes()).is_none()
    {
        let shown: String = charset
            .chars()
            .filter(|c| !c.is_control())
            .take(40)
            .collect();
        body.problem(format!(
            "unknown charset \"{shown}\": the text was read as UTF-8"
        ));
    }
}

/// Files and forwarded mails of `message`; a forwarded mail's text is
/// appended to `text` as a forwarded block.
/// Files are moved out of the parsed message, not copied: a large file
/// is held once.
fn collect(
    message: &mut Message,
    depth: usize,
    body: &mut Body,
    text: &mut String,
    taken: &[Taken],
) {
    if message.attachments.len() > MAX_PARTS {
        body.problem(format!(
            "{} attachments: only the first {MAX_PARTS} were read",
            message.attachments.len()
        ));
    }
    let ids: Vec<u32> = message
        .attachments
        .iter()
        .take(MAX_PARTS)
        .copied()
        .collect();
    for id in ids {
        let Some(part) = message.parts.get_mut(id as usize) else {
            continue;
        };
        if part.is_encoding_problem {
            body.problem("a part's encoding was broken: it was read as far as it could be".into());
        }
        if let PartType::Message(forwarded) = &mut part.body {
            if depth + 1 > MAX_DEPTH {
                body.problem(format!(
                    "forwarded mails nested more than {MAX_DEPTH} deep: the inner ones were not read"
                ));
                continue;
            }
            text.push_str(&forwarded_block(forwarded, body));
            collect(forwarded, depth + 1, body, text, taken);
            continue;
        }
        if unparsed_multipart(part) {
            body.problem(
                "a multipart's boundary was missing or never found: its raw body is shown".into(),
            );
            let raw = String::from_utf8_lossy(part.contents());
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(raw.replace("\r\n", "\n").trim());
            continue;
        }
        keep_file(part, body, taken);
    }
}

/// mail-parser keeps a multipart whose boundary it cannot find as one
/// opaque part: the sender's words are inside, so they are shown raw rather
/// than lost in a file named "attachment".
fn unparsed_multipart(part: &MessagePart) -> bool {
    !matches!(part.body, PartType::Multipart(_) | PartType::Message(_))
        && part
            .content_type()
            .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"))
}

fn forwarded_block(forwarded: &Message, body: &mut Body) -> String {
    let mut block = String::from("\n\n---------- Forwarded message ----------\n");
    if let Some(from) = forwarded.from().and_then(|a| a.first()) {
        let address = from.address().unwrap_or("");
        match from.name() {
            Some(name) if !name.trim().is_empty() => {
                block.push_str(&format!("From: {} <{address}>\n", name.trim()))
            }
            _ => block.push_str(&format!("From: {address}\n")),
        }
    }
    if let Some(date) = forwarded.date() {
        block.push_str(&format!("Date: {}\n", date.to_rfc822()));
    }
    if let Some(subject) = forwarded.subject() {
        block.push_str(&format!("Subject: {}\n", subject.trim()));
    }
    block.push('\n');
    block.push_str(&text_of(forwarded, body));
    block
}

fn keep_file(part: &mut MessagePart, body: &mut Body, taken: &[Taken]) {
    if body.files.len() >= MAX_FILES {
        body.problem(format!(
            "more than {MAX_FILES} files: the rest were not kept"
        ));
        return;
    }
    // A file taken out before parsing: its reference stands for it.
    let taken = taken
        .iter()
        .find(|t| part.contents() == t.marker.as_slice());
    let size = taken.map_or(part.contents().len(), |t| t.size);
    // A file the desk would refuse anyway is named, not kept.
    let too_large = size as u64 > body.max_file_bytes;
    if !too_large && body.file_bytes + size > MAX_FILE_BYTES {
        body.problem(format!(
            "files larger than {} MiB in all: the rest were not kept",
            MAX_FILE_BYTES / 1024 / 1024
        ));
        return;
    }
    let content_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .map(|t| t.to_ascii_lowercase())
        .unwrap_or_else(|| "application/octet-stream".into());
    let content_id = part
        .content_id()
        .map(|id| id.trim().trim_matches(['<', '>']).to_string())
        .filter(|id| !id.is_empty());
    let attachment = part
        .content_disposition()
        .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
    let inline = !attachment
        && (content_id.is_some()
            || part
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline")));
    let name = names::file_name(part.attachment_name(), &content_type);
    let (bytes, spooled) = match taken {
        _ if too_large => (bytes::Bytes::new(), None),
        Some(taken) => {
            body.file_bytes += size;
            (bytes::Bytes::new(), taken.spooled.clone())
        }
        None => {
            body.file_bytes += size;
            (take_contents(part), None)
        }
    };
    body.files.push(File {
        name,
        content_type,
        bytes,
        size,
        inline,
        content_id,
        spooled,
    });
}

/// The part's decoded bytes, moved out of it (mail-parser decoded them
/// into a buffer of their own; only an unencoded part is copied).
fn take_contents(part: &mut MessagePart) -> bytes::Bytes {
    let empty = PartType::Binary(std::borrow::Cow::Borrowed(&[]));
    match std::mem::replace(&mut part.body, empty) {
        PartType::Binary(c) | PartType::InlineBinary(c) => bytes::Bytes::from(c.into_owned()),
        PartType::Text(t) | PartType::Html(t) => bytes::Bytes::from(t.into_owned().into_bytes()),
        other => {
            part.body = other;
            bytes::Bytes::copy_from_slice(part.contents())
        }
    }
}
