//! One pass over a selected mailbox: every message above the last UID
//! recorded, in UID order, stored through [`inbound::accept`] before its
//! UID is recorded. A crash between the two repeats one mail, which is
//! then stored once by its Message-ID; nothing is ever skipped.

use super::connect::Session;
use super::lease::Held;
use super::store::{self, Progress};
use super::Imap;
use crate::channels::email::inbound::{self, Accepted, Envelope};
use crate::channels::email::{settings, store as inbound_store, Settings};
use crate::state::App;
use crate::store::now_ms;
use futures_util::TryStreamExt;
use koban_policy::mail::imap::{fetch_range, new_uids};
use std::time::Duration;

/// One command (a message's bytes included) gets this long.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// The header of an oversized mail is read up to this many bytes, to say
/// whose it is and what it is about.
const HEADER_LIMIT: usize = 64 * 1024;

/// Why a pass stopped.
#[derive(Debug)]
pub enum Failure {
    /// The connection or the server failed; worded for an administrator.
    Imap(String),
    /// The database failed.
    Store(String),
    /// Another node holds the mailbox now.
    LeaseLost,
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Store(e.to_string())
    }
}

impl From<crate::channels::email::EmailError> for Failure {
    fn from(e: crate::channels::email::EmailError) -> Self {
        Failure::Store(e.to_string())
    }
}

/// Where a pass works.
pub struct Pass<'a> {
    pub app: &'a App,
    pub imap: &'a Imap,
    pub mailbox: &'a str,
    pub key: &'a str,
    pub validity: u32,
}

async fn timed<T, E: std::fmt::Display>(
    what: &str,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(COMMAND_TIMEOUT, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Failure::Imap(format!("{what} failed: {e}"))),
        Err(_) => Err(Failure::Imap(format!("{what} timed out"))),
    }
}

/// Takes every message above `after`; the last UID recorded after it.
pub async fn pass(
    p: &Pass<'_>,
    session: &mut Session,
    held: &mut Held<'_>,
    after: u32,
) -> Result<u32, Failure> {
    let listed: Vec<(u32, u32)> = timed("UID FETCH (listing)", async {
        let fetches = session
            .uid_fetch(fetch_range(after), "(UID RFC822.SIZE)")
            .await?;
        let all: Vec<_> = fetches.try_collect().await?;
        Ok::<_, async_imap::error::Error>(
            all.iter()
                .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
                .collect(),
        )
    })
    .await?;
    let max = p.app.config.email_max_message_bytes;
    let mut last = after;
    for (uid, size) in new_uids(after, &listed) {
        if !held.renew_if_due().await? {
            return Err(Failure::LeaseLost);
        }
        if size as usize > max {
            too_large(p, session, uid, size as usize).await?;
        } else {
            // Asking for one byte more than the limit caps what a server
            // that misstated the size can make us hold.
            let query = format!("BODY.PEEK[]<0.{}>", max.saturating_add(1));
            let body: Option<Vec<u8>> = timed("UID FETCH (a message)", async {
                let fetches = session.uid_fetch(uid.to_string(), &query).await?;
                let all: Vec<_> = fetches.try_collect().await?;
                Ok::<_, async_imap::error::Error>(
                    all.iter()
                        .find(|f| f.uid == Some(uid))
                        .and_then(|f| f.body().map(<[u8]>::to_vec)),
                )
            })
            .await?;
            match body {
                Some(raw) if raw.len() > max => too_large(p, session, uid, raw.len()).await?,
                Some(raw) => take(p, &raw).await?,
                // Expunged since it was listed: nothing to take.
                None => tracing::info!(
                    mailbox = p.mailbox,
                    uid,
                    "an IMAP message vanished before it was read"
                ),
            }
        }
        let progress = Progress {
            uid_validity: p.validity,
            last_uid: uid,
        };
        if !store::record(p.app.store.write(), p.key, &p.imap.node, progress, now_ms()).await? {
            return Err(Failure::LeaseLost);
        }
        last = uid;
    }
    Ok(last)
}

async fn take(p: &Pass<'_>, raw: &[u8]) -> Result<(), Failure> {
    let envelope = envelope(settings(p.app), p.mailbox, raw);
    match inbound::accept(p.app, &envelope, raw).await? {
        Accepted::Stored(_) => p.imap.update(p.mailbox, |s| s.stored += 1),
        Accepted::Duplicate => p.imap.update(p.mailbox, |s| s.duplicates += 1),
    }
    Ok(())
}

/// A mail over `email_max_message_bytes`: not taken, but never passed
/// over in silence. What its header says is stored as an `unreadable` mail
/// the agents' review list shows, with where it was left.
async fn too_large(
    p: &Pass<'_>,
    session: &mut Session,
    uid: u32,
    size: usize,
) -> Result<(), Failure> {
    let query = format!("BODY.PEEK[HEADER]<0.{HEADER_LIMIT}>");
    let header: Vec<u8> = timed("UID FETCH (a header)", async {
        let fetches = session.uid_fetch(uid.to_string(), &query).await?;
        let all: Vec<_> = fetches.try_collect().await?;
        Ok::<_, async_imap::error::Error>(
            all.iter()
                .find(|f| f.uid == Some(uid))
                .and_then(|f| f.header().map(<[u8]>::to_vec))
                .unwrap_or_default(),
        )
    })
    .await?;
    let max = p.app.config.email_max_message_bytes;
    let why = format!(
        "{size} bytes, over email_max_message_bytes ({max}); left in IMAP mailbox {} as UID {uid}",
        p.mailbox
    );
    tracing::warn!(
        mailbox = p.mailbox,
        uid,
        size,
        max,
        "an IMAP mail is too large to take; recorded for review"
    );
    let envelope = envelope(settings(p.app), p.mailbox, &header);
    let parsed = mail_parser::MessageParser::new().parse_headers(&header[..]);
    let sender = parsed
        .as_ref()
        .and_then(|m| m.from())
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_ascii_lowercase);
    let subject = parsed
        .as_ref()
        .and_then(|m| m.subject())
        .map(|s| s.chars().take(200).collect::<String>());
    let detail =
        serde_json::json!({ "error": why, "subject": subject, "size": size, "imap_uid": uid });
    let stored = inbound_store::insert_unreadable(
        p.app.store.write(),
        &inbound_store::Unreadable {
            source: &envelope.source,
            envelope_from: &envelope.mail_from,
            recipients: &serde_json::to_string(&envelope.recipients).unwrap_or_default(),
            message_id: &inbound::identity(&header),
            raw_size: size as i64,
            sender: sender.as_deref(),
            detail: &detail,
        },
        now_ms(),
    )
    .await?;
    p.imap.update(p.mailbox, |s| {
        if stored {
            s.too_large += 1
        } else {
            s.duplicates += 1
        }
    });
    Ok(())
}

/// The envelope of a mail fetched by IMAP, which has none: the sender from
/// Return-Path, the recipient the desk's address the mail names (with its
/// reply token), in the order a delivering server writes them.
pub fn envelope(settings: &Settings, mailbox: &str, raw: &[u8]) -> Envelope {
    let headers = mail_parser::MessageParser::new().parse_headers(raw);
    let mut candidates: Vec<String> = Vec::new();
    let mut mail_from = String::new();
    if let Some(m) = &headers {
        for name in ["Delivered-To", "X-Original-To"] {
            for value in m.header_values(name) {
                if let Some(text) = value.as_text() {
                    candidates.push(text.to_string());
                } else if let Some(address) = value.as_address() {
                    candidates.extend(address.iter().filter_map(|a| a.address().map(String::from)));
                }
            }
        }
        for list in [m.to(), m.cc()].into_iter().flatten() {
            candidates.extend(list.iter().filter_map(|a| a.address().map(String::from)));
        }
        let path = m.return_path();
        mail_from = path
            .as_text()
            .map(String::from)
            .or_else(|| {
                path.as_address()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .map(String::from)
            })
            .unwrap_or_default();
    }
    let recipient = candidates
        .iter()
        .map(|c| c.trim().trim_matches(['<', '>']).to_ascii_lowercase())
        .find(|c| settings.recipient(c).is_some())
        .or_else(|| settings.desk_address().map(String::from));
    Envelope {
        source: format!("imap:{mailbox}"),
        mail_from: mail_from.trim().trim_matches(['<', '>']).to_string(),
        recipients: recipient.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desk() -> Settings {
        let config = crate::config::Config {
            email_addresses: "support@desk.example, security@desk.example=security".into(),
            ..Default::default()
        };
        Settings::from_config(&config).unwrap()
    }

    #[test]
    fn a_fetched_mail_is_attributed_to_the_desk_address_it_names() {
        let s = desk();
        let raw = b"Return-Path: <taro@example.jp>\r\nDelivered-To: security+tok1@desk.example\r\n\
            To: someone@else.example\r\nCc: support@desk.example\r\nSubject: x\r\n\r\nbody";
        let e = envelope(&s, "INBOX", raw);
        assert_eq!(e.source, "imap:INBOX");
        assert_eq!(e.mail_from, "taro@example.jp");
        assert_eq!(e.recipients, ["security+tok1@desk.example"]);

        let cc = envelope(
            &s,
            "Support",
            b"To: a@b.example\r\nCc: Support <SUPPORT@desk.example>\r\n\r\nx",
        );
        assert_eq!(cc.recipients, ["support@desk.example"]);
        assert_eq!(cc.mail_from, "");

        // Sent to a list or Bcc: the first desk address.
        let none = envelope(&s, "INBOX", b"To: list@lists.example\r\n\r\nx");
        assert_eq!(none.recipients, ["support@desk.example"]);
        // A bounce's empty Return-Path.
        let bounce = envelope(
            &s,
            "INBOX",
            b"Return-Path: <>\r\nTo: support@desk.example\r\n\r\nx",
        );
        assert_eq!(bounce.mail_from, "");
    }
}
