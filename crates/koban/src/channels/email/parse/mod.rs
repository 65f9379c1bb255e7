//! A raw mail made into what the desk needs: who wrote, what they wrote
//! (as text, and as sanitised HTML when they wrote HTML), their files, the
//! ids that thread it, and the marks of a machine's mail. MIME and every
//! charset this market writes in (ISO-2022-JP, Shift_JIS, EUC-JP, GBK,
//! GB18030, Big5, EUC-KR) are `mail-parser`'s work, with `full_encoding`;
//! the body is read within limits (`body`), whatever was cut or guessed is
//! said in `Mail::problems`, and no input makes this panic.
mod body;
mod html;
mod names;
pub mod split;
#[cfg(test)]
mod split_cases_tests;
#[cfg(test)]
mod split_tests;
pub mod spool;
#[cfg(test)]
mod tests;

use koban_policy::mail::automation::Signals;
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

/// Someone named in a mail's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Lower-cased.
    pub address: String,
    pub name: Option<String>,
}

/// A file that came with a mail (an attachment or an inline image).
#[derive(Debug, Clone)]
pub struct File {
    pub name: String,
    pub content_type: String,
    /// Empty when the file was larger than the desk takes ([`File::size`]).
    pub bytes: bytes::Bytes,
    /// Decoded size, in bytes.
    pub size: usize,
    /// Shown in the body (`Content-Disposition: inline` with a Content-ID).
    pub inline: bool,
    /// Without angle brackets: what the HTML's `cid:` images name.
    pub content_id: Option<String>,
    /// Where the bytes wait when the file was taken out before parsing
    /// ([`split`]); `bytes` is then empty.
    pub spooled: Option<std::sync::Arc<spool::Spooled>>,
}

impl File {
    /// The file's bytes, read from its spool when it has one.
    pub fn content(&self) -> std::io::Result<bytes::Bytes> {
        match &self.spooled {
            Some(spooled) => spooled.read(),
            None => Ok(self.bytes.clone()),
        }
    }
}

/// A file taken out of the mail before parsing: the part of the skeleton
/// whose contents are `marker` is this file.
pub struct Taken {
    pub marker: Vec<u8>,
    /// Decoded size, in bytes.
    pub size: usize,
    /// `None` when it was larger than the desk takes.
    pub spooled: Option<std::sync::Arc<spool::Spooled>>,
}

/// What a trusted relay's `Authentication-Results` said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authentication {
    pub spf: Option<String>,
    pub dkim: Option<String>,
    pub dmarc: Option<String>,
}

impl Authentication {
    /// Whether a trusted relay said the sender is not who From says.
    pub fn failed(&self) -> bool {
        [&self.spf, &self.dkim, &self.dmarc]
            .iter()
            .any(|r| matches!(r.as_deref(), Some("fail" | "softfail" | "permerror")))
    }
}

/// A parsed mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Option<Person>,
    pub reply_to: Option<Person>,
    pub subject: String,
    /// The body as text: the plain part, else the HTML part made text.
    pub text: String,
    /// The HTML part, sanitised, when there was one.
    pub html: Option<String>,
    /// The text part's declared charset, lower-cased (a hint to its language).
    pub charset: Option<String>,
    pub files: Vec<File>,
    pub signals: Signals,
    pub authentication: Authentication,
    /// What was wrong with the mail and contained (an unknown charset,
    /// too many parts): shown to the agent beside the ticket.
    pub problems: Vec<String>,
}

/// Why a mail could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("not a mail: no header could be read")]
    NoHeaders,
}

/// Longest subject kept: a header line can be a megabyte long.
const MAX_SUBJECT_CHARS: usize = 300;
/// Longest display name kept.
const MAX_NAME_CHARS: usize = 120;

/// `text` on one line (folded headers and control characters gone), trimmed
/// and cut to `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    spaced
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// Parses `raw`. `trusted_authserv_ids` are the relays whose
/// `Authentication-Results` are believed.
pub fn parse(raw: &[u8], trusted_authserv_ids: &[String]) -> Result<Mail, Unreadable> {
    parse_skeleton(raw, &[], trusted_authserv_ids)
}

/// Parses a mail whose files `taken` were taken out of it ([`split`]).
pub fn parse_skeleton(
    raw: &[u8],
    taken: &[Taken],
    trusted_authserv_ids: &[String],
) -> Result<Mail, Unreadable> {
    let mut message = MessageParser::default()
        .parse(raw)
        .ok_or(Unreadable::NoHeaders)?;
    let ids = |value: &HeaderValue| -> Vec<String> {
        match value {
            HeaderValue::Text(t) => vec![t.to_string()],
            HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
            _ => Vec::new(),
        }
    };
    let person = |address: Option<&mail_parser::Address>| {
        let first = address?.first()?;
        Some(Person {
            address: first.address()?.trim().to_ascii_lowercase(),
            name: first
                .name()
                .map(|n| one_line(n, MAX_NAME_CHARS))
                .filter(|n| !n.is_empty()),
        })
    };
    let body = body::read(&mut message, taken);
    let header_text = |name: &str| {
        message
            .header(name)
            .and_then(|v| v.as_text())
            .map(str::to_string)
    };
    let from = person(message.from());
    let signals = Signals {
        auto_submitted: header_text("Auto-Submitted"),
        precedence: header_text("Precedence"),
        list: !message.list_id().is_empty() || !message.list_unsubscribe().is_empty(),
        vendor_auto_reply: message.header("X-Autoreply").is_some()
            || message.header("X-Autorespond").is_some()
            || header_text("X-Auto-Response-Suppress")
                .is_some_and(|v| v.to_ascii_lowercase().contains("oof")),
        delivery_report: message.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
                && ct
                    .attribute("report-type")
                    .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
        }),
        from_local: from
            .as_ref()
            .and_then(|p| p.address.split('@').next().map(str::to_string)),
    };
    let body::Body {
        text,
        html,
        charset,
        files,
        mut problems,
        ..
    } = body;
    let subject = one_line(message.subject().unwrap_or(""), MAX_SUBJECT_CHARS);
    if message
        .subject()
        .is_some_and(|s| s.chars().count() > MAX_SUBJECT_CHARS)
    {
        problems.push(format!(
            "subject longer than {MAX_SUBJECT_CHARS} characters: the rest was cut"
        ));
    }
    Ok(Mail {
        message_id: message
            .message_id()
            .map(koban_policy::mail::threading::normalise_message_id),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        reply_to: person(message.reply_to()),
        from,
        subject,
        text,
        html,
        charset,
        files,
        signals,
        authentication: authentication(&message, trusted_authserv_ids),
        problems,
    })
}

/// The results in the first `Authentication-Results` header whose
/// authserv-id is trusted (a relay adds its own on top; anything below
/// it could have been written by the sender).
fn authentication(message: &mail_parser::Message, trusted: &[String]) -> Authentication {
    let mut found = Authentication::default();
    if trusted.is_empty() {
        return found;
    }
    for header in message.headers() {
        if !header.name().eq_ignore_ascii_case("Authentication-Results") {
            continue;
        }
        let Some(value) = header.value().as_text() else {
            continue;
        };
        let mut parts = value.split(';');
        let authserv = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let authserv = authserv.split_whitespace().next().unwrap_or("");
        if !trusted.iter().any(|t| t == authserv) {
            continue;
        }
        for result in parts {
            let result = result.trim().to_ascii_lowercase();
            let Some((method, rest)) = result.split_once('=') else {
                continue;
            };
            let verdict = rest.split_whitespace().next().unwrap_or("").to_string();
            match method.trim() {
                "spf" => found.spf = Some(verdict),
                "dkim" => found.dkim = Some(verdict),
                "dmarc" => found.dmarc = Some(verdict),
                _ => {}
            }
        }
        break;
    }
    found
}
