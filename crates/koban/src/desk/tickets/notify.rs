//! What the requester is told, through the delivery queue, in the
//! ticket's language: that the request arrived (with its reference number,
//! the one thing they must keep) and that support replied (with a link).
//! Each message is queued in the transaction that causes it, so it goes
//! out exactly when the change commits.

use crate::delivery::{self, Channel, MailFile, Outgoing};
use crate::desk::store::{self, TicketRow};
use crate::desk::tickets::mail_identity;
use crate::state::App;
use crate::store::StoreError;
use crate::web::i18n::{t, Lang};
use koban_policy::mail::outbound::{held_for_bounce, Author};
use sqlx::{Any, Transaction};

/// Where the requester is answered: their account's verified email (else
/// phone), or the contact they gave.
pub(crate) async fn destination(
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
) -> Result<Option<(Channel, String)>, StoreError> {
    destination_on(tx, ticket).await
}

async fn destination_on(
    conn: &mut sqlx::AnyConnection,
    ticket: &TicketRow,
) -> Result<Option<(Channel, String)>, StoreError> {
    if let Some(account_id) = ticket.requester_account_id {
        let account = crate::accounts::store::find_by_id(&mut *conn, account_id).await?;
        return Ok(account.as_ref().and_then(account_destination));
    }
    let Some(contact) = ticket.requester_contact_id else {
        return Ok(None);
    };
    Ok(store::contact(&mut *conn, contact)
        .await?
        .and_then(|(email, phone)| contact_destination(email.as_deref(), phone.as_deref())))
}

/// The bounce mark of the address the requester is mailed at, if that
/// address bounced (shown to the agent on the ticket).
pub async fn requester_bounce(
    app: &App,
    ticket: &TicketRow,
) -> Result<Option<delivery::MailBounce>, StoreError> {
    let mut conn = app.store.read().acquire().await?;
    match destination_on(&mut conn, ticket).await? {
        Some((Channel::Email, address)) => delivery::bounce_of(&mut *conn, &address).await,
        _ => Ok(None),
    }
}

fn link(app: &App, ticket: &TicketRow) -> String {
    format!(
        "{}/support/tickets/{}",
        app.config.public_base(),
        crate::desk::tickets::api::formatted(&ticket.reference)
    )
}

/// Where a new ticket's acknowledgement goes, with the address's bounce
/// mark read before the ticket's transaction, on the read pool: a read
/// there costs the one writer nothing, and a bounce recorded in the
/// milliseconds between is honoured by the ticket's next notice.
#[derive(Clone)]
pub(crate) struct AnswerTo {
    channel: Channel,
    address: String,
    bounced: Option<delivery::MailBounce>,
}

impl AnswerTo {
    /// Whether the address bounced: a notice to it may be held back,
    /// which is a write of its own.
    pub(crate) fn may_be_held(&self) -> bool {
        self.bounced.is_some()
    }
}

/// `to` with its bounce mark, read now on the read pool.
pub(crate) async fn answer_to(
    app: &App,
    to: Option<(Channel, String)>,
) -> Result<Option<AnswerTo>, StoreError> {
    with_bounce(app.store.read(), to).await
}

/// `to` with its bounce mark, read through `executor`.
async fn with_bounce<'e, E>(
    executor: E,
    to: Option<(Channel, String)>,
) -> Result<Option<AnswerTo>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let Some((channel, address)) = to else {
        return Ok(None);
    };
    let bounced = match channel {
        Channel::Email => delivery::bounce_of(executor, &address).await?,
        Channel::Sms => None,
    };
    Ok(Some(AnswerTo {
        channel,
        address,
        bounced,
    }))
}

/// Queues the acknowledgement of a new ticket, with when the first
/// answer is due (`first_answer_by`, from its SLA clock) when a policy
/// promises one. `to` is where the requester is answered and
/// `conversation` the mail the ticket was opened with, which the opener
/// already knows: no read for either inside the ticket's transaction.
/// The acknowledgement, its job and its Message-ID are added to `batch`
/// (with the ticket's other rows before them), which the caller runs.
pub(crate) async fn received(
    app: &App,
    conn: &mut sqlx::AnyConnection,
    batch: &mut crate::store::Batch,
    ticket: &TicketRow,
    to: Option<AnswerTo>,
    conversation: mail_identity::Conversation,
    first_answer_by: Option<i64>,
) -> Result<(), StoreError> {
    let lang = Lang::parse(&ticket.language).unwrap_or(Lang::En);
    let reference = crate::desk::tickets::api::formatted(&ticket.reference);
    let mut body = t(
        lang,
        "desk-received-body",
        &[
            ("reference", reference.clone()),
            ("link", link(app, ticket)),
        ],
    );
    if let Some(due) = first_answer_by {
        let when = in_zone(due, ticket.time_zone.as_deref());
        body.push_str("\n\n");
        body.push_str(&t(lang, "desk-received-expected", &[("due", when)]));
    }
    let notice = Notice {
        purpose: "desk_received",
        subject: t(lang, "desk-received-subject", &[("reference", reference)]),
        body,
        files: &[],
    };
    queue_notice(app, conn, batch, ticket, to, Some(conversation), notice).await
}

/// `at` as the requester reads it: date and time in their zone (UTC when
/// the ticket does not say), with the zone named.
fn in_zone(at: i64, zone: Option<&str>) -> String {
    let instant = jiff::Timestamp::from_millisecond(at).unwrap_or_default();
    let zoned = zone
        .and_then(|z| jiff::tz::TimeZone::get(z).ok())
        .map(|tz| instant.to_zoned(tz))
        .unwrap_or_else(|| instant.to_zoned(jiff::tz::TimeZone::UTC));
    let name = zone.unwrap_or("UTC");
    format!("{} ({name})", zoned.strftime("%Y-%m-%d %H:%M"))
}

/// Where an account is answered: its verified email, else its verified phone.
pub fn account_destination(account: &crate::accounts::Account) -> Option<(Channel, String)> {
    match (
        account.email_verified,
        &account.email,
        account.phone_verified,
        &account.phone,
    ) {
        (true, Some(email), _, _) => Some((Channel::Email, email.clone())),
        (_, _, true, Some(phone)) => Some((Channel::Sms, phone.clone())),
        _ => None,
    }
}

/// Where a contact is answered: its email, else its phone.
pub fn contact_destination(email: Option<&str>, phone: Option<&str>) -> Option<(Channel, String)> {
    match (email, phone) {
        (Some(email), _) => Some((Channel::Email, email.to_string())),
        (None, Some(phone)) => Some((Channel::Sms, phone.to_string())),
        _ => None,
    }
}

/// Queues the news of an agent's public reply (message `message_id`),
/// with the reply itself and, by mail, the files that came with it.
pub async fn replied(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    reply: &str,
    message_id: i64,
) -> Result<(), StoreError> {
    let lang = Lang::parse(&ticket.language).unwrap_or(Lang::En);
    let reference = crate::desk::tickets::api::formatted(&ticket.reference);
    let mut body = t(
        lang,
        "desk-replied-body",
        &[("reply", reply.to_string()), ("link", link(app, ticket))],
    );
    let to = destination(tx, ticket).await?;
    let files = match &to {
        Some((Channel::Email, _)) => {
            crate::desk::tickets::mail_files::for_reply(
                app, tx, ticket, message_id, lang, &mut body,
            )
            .await?
        }
        _ => Vec::new(),
    };
    send_to(
        app,
        tx,
        ticket,
        to,
        None,
        "desk_replied",
        t(lang, "desk-replied-subject", &[("reference", reference)]),
        body,
        &files,
    )
    .await?;
    subscribers_told(app, tx, ticket, reply).await
}

/// Queues the news of a reply on an organization's ticket to the
/// administrators who subscribed to them (not to the requester, told
/// above), each in their own language. It stands alone, outside the
/// ticket's mail conversation: a subscriber answers on the ticket's page,
/// so no mail of theirs can land on the ticket unchecked.
async fn subscribers_told(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    reply: &str,
) -> Result<(), StoreError> {
    let Some(org_id) = ticket.organization_id else {
        return Ok(());
    };
    let subscribers = crate::desk::tickets::support_line::subscribers_of(app, org_id).await?;
    let reference = crate::desk::tickets::api::formatted(&ticket.reference);
    let live = app.config.delivery_mode == "live";
    let mut batch = crate::store::Batch::default();
    let mut queued = false;
    for subscriber in subscribers {
        if Some(subscriber.account_id) == ticket.requester_account_id {
            continue;
        }
        let lang = subscriber
            .locale
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or(Lang::En);
        let args = [
            ("reference", reference.clone()),
            ("subject", ticket.subject.clone()),
            ("reply", reply.to_string()),
            ("link", link(app, ticket)),
        ];
        let message = Outgoing {
            account_id: Some(subscriber.account_id),
            purpose: "desk_subscriber_replied".to_string(),
            channel: Channel::Email,
            destination: subscriber.email,
            subject: t(lang, "desk-subscriber-replied-subject", &args),
            body: t(lang, "desk-subscriber-replied-body", &args),
            mail: None,
        };
        delivery::queue_into(&mut batch, &app.key, live, message, &[]);
        queued = true;
    }
    if queued {
        batch.run(tx).await?;
        app.jobs_wakeup.notify_one();
    }
    Ok(())
}

/// Queues a link on which the requester proves the account with its own
/// second factor; where it went, masked, or `None` when the ticket has no
/// way to reach them.
pub async fn verification_link(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    link: &str,
) -> Result<Option<String>, StoreError> {
    let Some((_, destination)) = destination(tx, ticket).await? else {
        return Ok(None);
    };
    let lang = Lang::parse(&ticket.language).unwrap_or(Lang::En);
    let reference = crate::desk::tickets::api::formatted(&ticket.reference);
    send(
        app,
        tx,
        ticket,
        "desk_verification_link",
        t(
            lang,
            "desk-verify-link-subject",
            &[("reference", reference)],
        ),
        t(lang, "desk-verify-link-body", &[("link", link.to_string())]),
    )
    .await?;
    Ok(Some(
        koban_policy::contact::parse_identifier(&destination, None)
            .map(|c| c.masked())
            .unwrap_or_else(|_| "***".to_string()),
    ))
}

/// Queues a notice to the requester, wherever the ticket answers them.
pub(crate) async fn send(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    purpose: &str,
    subject: String,
    body: String,
) -> Result<(), StoreError> {
    let to = destination(tx, ticket).await?;
    send_to(app, tx, ticket, to, None, purpose, subject, body, &[]).await
}

/// A notice to the requester, not yet queued.
struct Notice<'a> {
    purpose: &'a str,
    subject: String,
    body: String,
    files: &'a [MailFile],
}

#[allow(clippy::too_many_arguments)]
async fn send_to(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    to: Option<(Channel, String)>,
    conversation: Option<mail_identity::Conversation>,
    purpose: &str,
    subject: String,
    body: String,
    files: &[MailFile],
) -> Result<(), StoreError> {
    let to = with_bounce(&mut **tx, to).await?;
    let notice = Notice {
        purpose,
        subject,
        body,
        files,
    };
    let mut batch = crate::store::Batch::default();
    queue_notice(app, tx, &mut batch, ticket, to, conversation, notice).await?;
    batch.run(tx).await?;
    Ok(())
}

/// Queues `notice` to `to` (held back from an address that bounced).
async fn queue_notice(
    app: &App,
    conn: &mut sqlx::AnyConnection,
    batch: &mut crate::store::Batch,
    ticket: &TicketRow,
    to: Option<AnswerTo>,
    conversation: Option<mail_identity::Conversation>,
    notice: Notice<'_>,
) -> Result<(), StoreError> {
    let Some(AnswerTo {
        channel,
        address: destination,
        bounced,
    }) = to
    else {
        return Ok(());
    };
    let purpose = notice.purpose;
    // A mail joins the ticket's conversation in the reader's client; the
    // requester wrote by mail, so the subject is theirs, answered.
    let mail = match channel {
        Channel::Email => {
            let auto = auto_submitted(purpose);
            Some(mail_identity::headers(app, conn, ticket, auto, conversation).await?)
        }
        Channel::Sms => None,
    };
    let subject = match (&mail, ticket.channel.as_str()) {
        (Some(_), "email") => {
            koban_policy::mail::threading::reply_subject(&ticket.subject, reference_of(ticket))
        }
        _ => notice.subject,
    };
    let message = Outgoing {
        account_id: ticket.requester_account_id,
        purpose: purpose.to_string(),
        channel,
        destination,
        subject,
        body: notice.body,
        mail: mail.clone(),
    };
    if let Some(bounce) = bounced.filter(|_| held_for_bounce(author(purpose), true)) {
        let why = format!(
            "held: {} bounced on {}: {}",
            bounce.address,
            in_zone(bounce.bounced_at, None),
            bounce.reason
        );
        delivery::record_held(conn, &message, &why).await?;
        return Ok(());
    }
    let live = app.config.delivery_mode == "live";
    let queued = delivery::queue_into(batch, &app.key, live, message, notice.files);
    if let Some(headers) = &mail {
        mail_identity::record_sent(
            app,
            batch,
            ticket.id,
            queued,
            headers,
            crate::store::now_ms(),
        );
    }
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Who a notice is from, for holding it back from an address that
/// bounced: a reply, and a link to prove the account (an agent pressed for
/// it), are an agent's; the acknowledgement and status notices Koban's own.
fn author(purpose: &str) -> Author {
    match purpose {
        "desk_replied" | "desk_verification_link" => Author::Agent,
        _ => Author::Automatic,
    }
}

/// RFC 3834's mark for what Koban sends on its own: the acknowledgement
/// answers the requester's mail automatically; other notices are
/// generated; an agent's reply is written by a person and has none.
fn auto_submitted(purpose: &str) -> Option<&'static str> {
    match purpose {
        "desk_received" => Some("auto-replied"),
        "desk_replied" => None,
        _ => Some("auto-generated"),
    }
}

fn reference_of(ticket: &TicketRow) -> koban_policy::desk::reference::Reference {
    koban_policy::desk::reference::parse(&ticket.reference)
        .unwrap_or_else(|_| koban_policy::desk::reference::Reference::from_random(0))
}

/// Queues the news that the requester's ticket was merged into another,
/// where the conversation continues.
pub async fn merged(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    into: &str,
) -> Result<(), StoreError> {
    let lang = Lang::parse(&ticket.language).unwrap_or(Lang::En);
    let reference = crate::desk::tickets::api::formatted(&ticket.reference);
    let link = format!("{}/support/tickets/{into}", app.config.public_base());
    let body = t(
        lang,
        "desk-merged-body",
        &[
            ("reference", reference.clone()),
            ("into", into.to_string()),
            ("link", link),
        ],
    );
    send(
        app,
        tx,
        ticket,
        "desk_merged",
        t(lang, "desk-merged-subject", &[("reference", reference)]),
        body,
    )
    .await
}
