//! What the requester is told, through the delivery queue, in the
//! ticket's language: that the request arrived (with its reference number,
//! the one thing they must keep) and that support replied (with a link).
//! Each message is queued in the transaction that causes it, so it goes
//! out exactly when the change commits.

use crate::delivery::{self, Channel, Outgoing};
use crate::desk::store::{self, TicketRow};
use crate::state::App;
use crate::store::StoreError;
use crate::web::i18n::{t, Lang};
use sqlx::{Any, Transaction};

/// Where the requester is answered: their account's verified email (else
/// phone), or the contact they gave.
pub(crate) async fn destination(
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
) -> Result<Option<(Channel, String)>, StoreError> {
    if let Some(account_id) = ticket.requester_account_id {
        let account = crate::accounts::store::find_by_id(&mut **tx, account_id).await?;
        return Ok(account.as_ref().and_then(account_destination));
    }
    let Some(contact) = ticket.requester_contact_id else {
        return Ok(None);
    };
    Ok(store::contact(&mut **tx, contact)
        .await?
        .and_then(|(email, phone)| contact_destination(email.as_deref(), phone.as_deref())))
}

fn link(app: &App, ticket: &TicketRow) -> String {
    format!(
        "{}/support/tickets/{}",
        app.config.public_base(),
        crate::desk::tickets::api::formatted(&ticket.reference)
    )
}

/// Queues the acknowledgement of a new ticket.
/// `to` is where the requester is answered, which the opener already
/// knows: no read for it inside the ticket's transaction.
pub async fn received(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    to: Option<(Channel, String)>,
) -> Result<(), StoreError> {
    let lang = Lang::parse(&ticket.language).unwrap_or(Lang::En);
    let reference = crate::desk::tickets::api::formatted(&ticket.reference);
    let body = t(
        lang,
        "desk-received-body",
        &[
            ("reference", reference.clone()),
            ("link", link(app, ticket)),
        ],
    );
    send_to(
        app,
        tx,
        ticket,
        to,
        "desk_received",
        t(lang, "desk-received-subject", &[("reference", reference)]),
        body,
    )
    .await
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

/// Queues the news of an agent's public reply, with the reply itself.
pub async fn replied(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    reply: &str,
) -> Result<(), StoreError> {
    let lang = Lang::parse(&ticket.language).unwrap_or(Lang::En);
    let reference = crate::desk::tickets::api::formatted(&ticket.reference);
    let body = t(
        lang,
        "desk-replied-body",
        &[("reply", reply.to_string()), ("link", link(app, ticket))],
    );
    send(
        app,
        tx,
        ticket,
        "desk_replied",
        t(lang, "desk-replied-subject", &[("reference", reference)]),
        body,
    )
    .await
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

async fn send(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    purpose: &str,
    subject: String,
    body: String,
) -> Result<(), StoreError> {
    let to = destination(tx, ticket).await?;
    send_to(app, tx, ticket, to, purpose, subject, body).await
}

#[allow(clippy::too_many_arguments)]
async fn send_to(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    to: Option<(Channel, String)>,
    purpose: &str,
    subject: String,
    body: String,
) -> Result<(), StoreError> {
    let Some((channel, destination)) = to else {
        return Ok(());
    };
    let message = Outgoing {
        account_id: ticket.requester_account_id,
        purpose: purpose.to_string(),
        channel,
        destination,
        subject,
        body,
    };
    delivery::queue(tx, &app.key, app.config.delivery_mode == "live", message).await?;
    app.jobs_wakeup.notify_one();
    Ok(())
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
