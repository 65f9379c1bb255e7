//! What a ticket's mail is known by: its own reply address (a token under
//! the server key in the local part) and the ids of every mail sent and
//! received on it, which make the next one thread in the reader's client.
//! Here, in the desk, because the desk sends the mail; the email channel
//! reads the same tokens and ids back.

use crate::delivery::MailHeaders;
use crate::desk::store::TicketRow;
use crate::state::App;
use crate::store::StoreError;
use sqlx::Row;

/// What reply tokens are keyed for.
const REPLY_TOKEN_PURPOSE: &str = "email-reply-address";
/// Hex digits of the token's MAC: 64 bits, beyond guessing by mail.
const REPLY_MAC_CHARS: usize = 16;
/// Ids a mail's References carries at most: the conversation's first and
/// the latest ones (RFC 5322 §3.6.4 allows trimming the middle).
const MAX_REFERENCES: usize = 10;

/// The token of a ticket's own reply address: its reference and a MAC of
/// it under the server key, so no table is needed to read one back and
/// nobody can make one for a ticket they were not sent mail about.
pub fn reply_token(app: &App, reference: &str) -> String {
    let mac = app
        .key
        .keyed_hash(REPLY_TOKEN_PURPOSE, reference.as_bytes());
    format!("{reference}.{}", &mac[..REPLY_MAC_CHARS])
}

/// The reference a reply token stands for, if its MAC is right.
pub fn reference_of_token(app: &App, token: &str) -> Option<String> {
    let (reference, mac) = token.split_once('.')?;
    if reference.len() != koban_policy::desk::reference::REFERENCE_DIGITS
        || !reference.bytes().all(|b| b.is_ascii_digit())
        || mac.is_empty()
    {
        return None;
    }
    let expected = reply_token(app, reference);
    crate::crypto::constant_time_eq(expected.as_bytes(), token.as_bytes())
        .then(|| reference.to_string())
}

/// The desk's own address: the first of `email_addresses` (without its
/// team), when the email channel is on.
pub fn desk_address(app: &App) -> Option<String> {
    let first = app.config.email_addresses.split(',').next()?.trim();
    let address = first.split('=').next()?.trim().to_ascii_lowercase();
    (!address.is_empty()).then_some(address)
}

/// The mails on a ticket: their ids, oldest first, and the newest one
/// received (the mail being answered).
#[derive(Debug, Default)]
pub struct Conversation {
    ids: Vec<String>,
    answered: Option<String>,
}

impl Conversation {
    /// Adds a mail (`direction` `in` or `out`), after those already there.
    /// A mail without a Message-ID (kept under its content's hash) has
    /// nothing to thread under.
    fn push(&mut self, id: String, direction: &str) {
        if id.starts_with("sha256:") {
            return;
        }
        if direction == "in" {
            self.answered = Some(id.clone());
        }
        self.ids.push(id);
    }

    /// The conversation of a ticket being opened, in its own transaction:
    /// only the message that opened it, when that came by mail with an id
    /// (`origin`: its channel and id). Known without reading it back.
    pub fn opening(origin: Option<(&str, &str)>) -> Conversation {
        let mut conversation = Conversation::default();
        if let Some(("email", id)) = origin {
            conversation.push(id.to_string(), "in");
        }
        conversation
    }
}

/// The mails on the ticket as stored.
async fn conversation(
    conn: &mut sqlx::AnyConnection,
    ticket_id: i64,
) -> Result<Conversation, StoreError> {
    let rows = sqlx::query(
        "SELECT external_id, direction FROM desk_channel_messages
         WHERE ticket_id = $1 AND channel = 'email' ORDER BY created_at, external_id",
    )
    .bind(ticket_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut conversation = Conversation::default();
    for row in rows {
        let direction: String = row.try_get("direction")?;
        conversation.push(row.try_get("external_id")?, &direction);
    }
    Ok(conversation)
}

/// The headers that thread a mail about `ticket` under the conversation:
/// from the desk's address with the ticket's reply address, answering the
/// newest mail received, referencing the first and the latest. `known`:
/// the conversation when the caller knows it (a ticket being opened),
/// else it is read.
pub async fn headers(
    app: &App,
    conn: &mut sqlx::AnyConnection,
    ticket: &TicketRow,
    auto_submitted: Option<&str>,
    known: Option<Conversation>,
) -> Result<MailHeaders, StoreError> {
    let Conversation { ids, answered } = match known {
        Some(known) => known,
        None => conversation(conn, ticket.id).await?,
    };
    let references = match ids.len() {
        n if n <= MAX_REFERENCES => ids.clone(),
        n => std::iter::once(ids[0].clone())
            .chain(ids[n - (MAX_REFERENCES - 1)..].iter().cloned())
            .collect(),
    };
    let desk = desk_address(app);
    let reply_to = desk.as_deref().and_then(|base| {
        koban_policy::mail::threading::reply_address(base, &reply_token(app, &ticket.reference))
    });
    Ok(MailHeaders {
        from: desk,
        reply_to,
        in_reply_to: answered.or_else(|| ids.last().cloned()),
        references,
        auto_submitted: auto_submitted.map(str::to_string),
        thread_topic: Some(ticket.subject.clone()),
        // The ticket's reference names its conversation for Outlook.
        thread_root: Some(ticket.reference.clone()),
    })
}

/// Records the Message-ID of `delivery` (stored earlier in `batch`) on the
/// ticket, as a statement of `batch` run in the transaction that queued
/// it, so a reply naming it finds the ticket.
pub fn record_sent(
    app: &App,
    batch: &mut crate::store::Batch,
    ticket_id: i64,
    delivery: crate::store::Earlier,
    headers: &MailHeaders,
    now: i64,
) {
    let from = headers.from.as_deref().unwrap_or(&app.config.mail_from);
    let (before, after) = crate::delivery::message_id_around(from);
    crate::desk::store::channel_messages::record_sent_into(
        batch,
        (before, delivery, &after),
        ticket_id,
        now,
    );
}
