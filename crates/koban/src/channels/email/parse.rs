//! A raw mail made into what the desk needs: who wrote, what they wrote
//! (as text, and as sanitised HTML when they wrote HTML), their files, the
//! ids that thread it, and the marks of a machine's mail. MIME and every
//! charset this market writes in (ISO-2022-JP, Shift_JIS, EUC-JP, GBK,
//! GB18030, Big5, EUC-KR) are `mail-parser`'s work, with `full_encoding`.

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
    pub bytes: Vec<u8>,
    /// Shown in the body (`Content-Disposition: inline` with a Content-ID).
    pub inline: bool,
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
    pub problems: Vec<&'static str>,
}

/// Why a mail could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("not a mail: no header could be read")]
    NoHeaders,
}

/// Parses `raw`. `trusted_authserv_ids` are the relays whose
/// `Authentication-Results` are believed.
pub fn parse(raw: &[u8], trusted_authserv_ids: &[String]) -> Result<Mail, Unreadable> {
    let message = MessageParser::default()
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
                .map(str::to_string)
                .filter(|n| !n.trim().is_empty()),
        })
    };
    let text = message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    let html = message.body_html(0).map(|h| h.into_owned());
    let charset = message
        .text_part(0)
        .or_else(|| message.html_part(0))
        .and_then(|p| p.content_type())
        .and_then(|ct| ct.attribute("charset"))
        .map(str::to_ascii_lowercase);
    let mut files = Vec::new();
    for part in message.attachments() {
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        files.push(File {
            name: part.attachment_name().unwrap_or("attachment").to_string(),
            content_type,
            bytes: part.contents().to_vec(),
            inline: part
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline")),
        });
    }
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
    Ok(Mail {
        message_id: message
            .message_id()
            .map(koban_policy::mail::threading::normalise_message_id),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        reply_to: person(message.reply_to()),
        from,
        subject: message.subject().unwrap_or("").trim().to_string(),
        text,
        html,
        charset,
        files,
        signals,
        authentication: authentication(&message, trusted_authserv_ids),
        problems: Vec::new(),
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
