//! The tickets a mail points at (its reply address, In-Reply-To,
//! References, the number in its subject), and whether its sender takes
//! part in each: what the threading rules decide from.

use super::{CHANNEL, MAX_MERGE_HOPS, MAX_THREAD_IDS};
use crate::channels::email::parse::Mail;
use crate::channels::email::store::Stored;
use crate::channels::email::{settings, EmailError};
use crate::desk::store::channel_messages;
use crate::desk::store::TicketRow;
use crate::desk::tickets::service;
use crate::state::App;
use koban_policy::mail::threading::{self, Candidate, Clue};

/// Every ticket the mail points at, with whether its sender takes part.
pub(super) async fn candidates(
    app: &App,
    stored: &Stored,
    mail: &Mail,
    sender: Option<&str>,
) -> Result<Vec<Candidate>, EmailError> {
    let mut found: Vec<(i64, Clue)> = Vec::new();
    for recipient in &stored.recipients {
        let token = settings(app).recipient(recipient).and_then(|r| r.token);
        if let Some(reference) =
            token.and_then(|t| crate::channels::email::reference_of_token(app, &t))
        {
            if let Some(id) = ticket_of_reference(app, &reference).await? {
                found.push((id, Clue::ReplyAddress));
            }
        }
    }
    for (ids, clue) in [
        (&mail.in_reply_to, Clue::InReplyTo),
        (&mail.references, Clue::References),
    ] {
        let ids = threading::message_ids(ids, MAX_THREAD_IDS);
        for (_, ticket) in channel_messages::tickets_of(app.store.read(), CHANNEL, &ids).await? {
            found.push((ticket, clue));
        }
    }
    for reference in threading::references_in_subject(&mail.subject) {
        if let Some(id) = ticket_of_reference(app, &reference.to_string()).await? {
            found.push((id, Clue::Subject));
        }
    }
    let mut candidates = Vec::with_capacity(found.len());
    for (ticket, clue) in found {
        let ticket = follow_merges(app, ticket).await?;
        if candidates
            .iter()
            .any(|c: &Candidate| c.ticket == ticket && c.clue <= clue)
        {
            continue;
        }
        let sender_known = match sender {
            Some(sender) => takes_part(app, ticket, sender).await?,
            None => false,
        };
        candidates.push(Candidate {
            ticket,
            clue,
            sender_known,
        });
    }
    Ok(candidates)
}

pub(super) async fn ticket_of_reference(
    app: &App,
    reference: &str,
) -> Result<Option<i64>, EmailError> {
    let Ok(reference) = service::parse_reference(reference) else {
        return Ok(None);
    };
    Ok(
        crate::desk::store::ticket_by_reference(app.store.read(), &reference)
            .await?
            .map(|t| t.id),
    )
}

/// The ticket a merged ticket's conversation continues on.
async fn follow_merges(app: &App, mut ticket: i64) -> Result<i64, EmailError> {
    for _ in 0..MAX_MERGE_HOPS {
        match crate::desk::store::merge::merged_into(app.store.read(), ticket).await? {
            Some(into) => ticket = into,
            None => break,
        }
    }
    Ok(ticket)
}

/// Whether `sender` is the ticket's requester (its contact's or account's
/// address) or wrote on it by mail before.
async fn takes_part(app: &App, ticket: i64, sender: &str) -> Result<bool, EmailError> {
    let Some(row) = crate::desk::store::ticket_by_id(app.store.read(), ticket).await? else {
        return Ok(false);
    };
    if requester_address(app, &row)
        .await?
        .is_some_and(|a| a.eq_ignore_ascii_case(sender))
    {
        return Ok(true);
    }
    Ok(channel_messages::has_written(app.store.read(), ticket, CHANNEL, sender).await?)
}

/// The requester's email address: the contact's, else the account's.
async fn requester_address(app: &App, row: &TicketRow) -> Result<Option<String>, EmailError> {
    if let Some(contact) = row.requester_contact_id {
        if let Some((Some(email), _)) =
            crate::desk::store::contact(app.store.read(), contact).await?
        {
            return Ok(Some(email));
        }
    }
    if let Some(account) = row.requester_account_id {
        let account = crate::accounts::store::find_by_id(app.store.read(), account).await?;
        return Ok(account.and_then(|a| a.email));
    }
    Ok(None)
}

/// The requester's account, when the sender is its address: the message
/// is theirs. Anyone else writes as the ticket's contact, unsigned.
pub(super) async fn requester_account(
    app: &App,
    row: &TicketRow,
    sender: &str,
) -> Result<Option<i64>, EmailError> {
    let Some(account) = row.requester_account_id else {
        return Ok(None);
    };
    let found = crate::accounts::store::find_by_id(app.store.read(), account).await?;
    Ok(found
        .filter(|a| {
            a.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(sender))
        })
        .map(|a| a.id))
}
