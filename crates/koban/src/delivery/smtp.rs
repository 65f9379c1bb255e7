//! Mail over SMTP with lettre.

use bytes::Bytes;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Sends mail through the configured relay. Without a relay (outbox mode)
/// every send fails, which never happens because nothing is routed here.
pub struct MailSender {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: String,
}

impl MailSender {
    /// Builds the transport from `smtp_*` settings.
    pub fn from_config(config: &crate::config::Config) -> Result<MailSender, String> {
        if config.smtp_host.is_empty() {
            return Ok(MailSender {
                transport: None,
                from: config.mail_from.clone(),
            });
        }
        let host = config.smtp_host.as_str();
        let builder = match config.smtp_tls.as_str() {
            "tls" => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(|e| e.to_string())?
            }
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| e.to_string())?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder
            .port(config.smtp_port)
            .timeout(Some(std::time::Duration::from_secs(20)));
        if !config.smtp_username.is_empty() {
            builder = builder.credentials(Credentials::new(
                config.smtp_username.clone(),
                config.smtp_password.clone(),
            ));
        }
        config
            .mail_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("mail_from: {e}"))?;
        Ok(MailSender {
            transport: Some(builder.build()),
            from: config.mail_from.clone(),
        })
    }

    /// Sends delivery `id`'s message: plain text, or with `headers` (a mail
    /// of a conversation) plain text beside HTML, threaded; with `files`
    /// attached.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        id: i64,
        headers: Option<&super::MailHeaders>,
        files: &[(super::MailFile, Bytes)],
    ) -> Result<(), String> {
        let transport = self
            .transport
            .as_ref()
            .ok_or("no SMTP relay is configured (smtp_host)")?;
        let message = compose(&self.from, to, subject, body, id, headers, files)?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}

/// The mail as it goes out.
pub(super) fn compose(
    default_from: &str,
    to: &str,
    subject: &str,
    body: &str,
    id: i64,
    headers: Option<&super::MailHeaders>,
    files: &[(super::MailFile, Bytes)],
) -> Result<Message, String> {
    let from = headers
        .and_then(|h| h.from.as_deref())
        .unwrap_or(default_from);
    let bracketed = |id: &str| format!("<{id}>");
    let mut builder = Message::builder()
        .from(from.parse().map_err(|e| format!("from: {e}"))?)
        .to(to.parse().map_err(|e| format!("recipient: {e}"))?)
        .subject(subject)
        .message_id(Some(bracketed(&super::message_id(id, from))));
    let Some(h) = headers else {
        if files.is_empty() {
            return builder
                .header(ContentType::TEXT_PLAIN)
                .body(body.to_string())
                .map_err(|e| e.to_string());
        }
        let text = MultiPart::mixed().singlepart(SinglePart::plain(body.to_string()));
        return builder
            .multipart(with_files(text, files)?)
            .map_err(|e| e.to_string());
    };
    if let Some(reply_to) = &h.reply_to {
        builder = builder.reply_to(reply_to.parse().map_err(|e| format!("reply-to: {e}"))?);
    }
    if let Some(parent) = &h.in_reply_to {
        builder = builder.in_reply_to(bracketed(parent));
    }
    if !h.references.is_empty() {
        let all: Vec<String> = h.references.iter().map(|r| bracketed(r)).collect();
        builder = builder.references(all.join(" "));
    }
    let raw = |name: &'static str, value: String| {
        HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
    };
    if let Some(auto) = &h.auto_submitted {
        builder = builder
            .raw_header(raw("Auto-Submitted", auto.clone()))
            // Exchange and Outlook: no out-of-office answers to this.
            .raw_header(raw("X-Auto-Response-Suppress", "All".into()));
    }
    if let Some(topic) = &h.thread_topic {
        builder = builder.raw_header(raw("Thread-Topic", topic.clone()));
    }
    if let Some(root) = &h.thread_root {
        builder = builder.raw_header(raw("Thread-Index", thread_index(root, id)));
    }
    let alternative = MultiPart::alternative_plain_html(body.to_string(), html_of(body));
    let content = if files.is_empty() {
        alternative
    } else {
        with_files(MultiPart::mixed().multipart(alternative), files)?
    };
    builder.multipart(content).map_err(|e| e.to_string())
}

/// `mixed` (the text already in it) with each file attached: its type as
/// stored, `Content-Disposition: attachment` with the name in RFC 2231
/// (`filename*=utf-8''…`, which every current client reads, so Japanese,
/// Chinese and Thai names arrive intact), base64 for anything not text.
fn with_files(
    mut mixed: MultiPart,
    files: &[(super::MailFile, Bytes)],
) -> Result<MultiPart, String> {
    for (file, bytes) in files {
        let content_type = ContentType::parse(&file.content_type)
            .map_err(|e| format!("{}: {e}", file.file_name))?;
        mixed = mixed
            .singlepart(Attachment::new(file.file_name.clone()).body(bytes.to_vec(), content_type));
    }
    Ok(mixed)
}

/// Outlook's Thread-Index: 22 bytes naming the conversation (here from its
/// root id, so every mail of a ticket shares them) and 5 more per reply.
/// Outlook groups by the first 22; the rest only orders.
fn thread_index(root: &str, id: i64) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(root.as_bytes());
    let mut bytes = digest[..22].to_vec();
    bytes.extend_from_slice(&(id as u64).to_be_bytes()[3..]);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The HTML part beside the text: the same words, escaped, paragraphs and
/// line breaks kept, links clickable.
fn html_of(text: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let linked = |line: &str| {
        line.split(' ')
            .map(|word| {
                if word.starts_with("https://") || word.starts_with("http://") {
                    let w = escape(word);
                    format!("<a href=\"{w}\">{w}</a>")
                } else {
                    escape(word)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| {
            format!(
                "<p>{}</p>",
                p.lines().map(linked).collect::<Vec<_>>().join("<br>\n")
            )
        })
        .collect();
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body style=\"font-family: sans-serif; line-height: 1.5\">\n{}\n</body></html>\n",
        paragraphs.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threaded_mail_carries_its_conversation() {
        let headers = super::super::MailHeaders {
            from: Some("Support <support@desk.example>".into()),
            reply_to: Some("support+26120345678.abc@desk.example".into()),
            in_reply_to: Some("m1@example.jp".into()),
            references: vec![
                "m1@example.jp".into(),
                "koban-delivery-3@desk.example".into(),
            ],
            auto_submitted: Some("auto-replied".into()),
            thread_topic: Some("ログインできません".into()),
            thread_root: Some("m1@example.jp".into()),
        };
        let message = compose(
            "x@y.z",
            "taro@example.jp",
            "Re: ログイン [#2612-0345-678]",
            "Hello <you>\n\nhttps://desk.example/t",
            7,
            Some(&headers),
            &[],
        )
        .unwrap();
        let text = String::from_utf8(message.formatted()).unwrap();
        for wanted in [
            "Message-ID: <koban-delivery-7@desk.example>",
            "In-Reply-To: <m1@example.jp>",
            "References: <m1@example.jp> <koban-delivery-3@desk.example>",
            "Reply-To: support+26120345678.abc@desk.example",
            "Auto-Submitted: auto-replied",
            "Thread-Index: ",
            "multipart/alternative",
            "text/html",
        ] {
            assert!(text.contains(wanted), "{wanted} missing from:\n{text}");
        }
        assert!(text.contains("&lt;you&gt;"));
        let plain = compose("x@y.z", "a@b.c", "code", "123456", 8, None, &[]).unwrap();
        let plain = String::from_utf8(plain.formatted()).unwrap();
        assert!(plain.contains("Message-ID: <koban-delivery-8@y.z>"));
        assert!(!plain.contains("multipart"));
    }

    #[test]
    fn files_go_as_attachments_with_their_names_in_any_script() {
        use mail_parser::MimeHeaders;
        let file = |name: &str, content_type: &str| super::super::MailFile {
            blob_key: "0".repeat(64),
            file_name: name.into(),
            content_type: content_type.into(),
            size: 0,
        };
        let png = Bytes::from_static(b"\x89PNG\r\n\x1a\n\x00\x01binary");
        let log = Bytes::from("บันทึก: ล็อกอินไม่ได้\n".repeat(40));
        let files = [
            (
                file("画面のスクリーンショット（ログイン画面）.png", "image/png"),
                png.clone(),
            ),
            (
                file("บันทึกการใช้งาน.txt", "text/plain; charset=utf-8"),
                log.clone(),
            ),
        ];
        let headers = super::super::MailHeaders::default();
        for headers in [Some(&headers), None] {
            let message = compose(
                "x@y.z",
                "a@b.c",
                "Re: 截图",
                "見てください",
                9,
                headers,
                &files,
            )
            .unwrap();
            let raw = message.formatted();
            let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
            assert_eq!(parsed.attachment_count(), 2);
            let first = parsed.attachment(0).unwrap();
            assert_eq!(
                first.attachment_name(),
                Some("画面のスクリーンショット（ログイン画面）.png")
            );
            assert_eq!(first.contents(), &png[..]);
            assert_eq!(
                first.content_type().map(|c| (c.ctype(), c.subtype())),
                Some(("image", Some("png")))
            );
            let second = parsed.attachment(1).unwrap();
            assert_eq!(second.attachment_name(), Some("บันทึกการใช้งาน.txt"));
            assert_eq!(second.contents(), &log[..]);
            assert_eq!(parsed.body_text(0).as_deref(), Some("見てください"));
            let text = String::from_utf8_lossy(&raw);
            assert!(text.contains("Content-Disposition: attachment;"), "{text}");
            assert!(text.contains("filename*0*=utf-8''"), "{text}");
        }
    }
}
