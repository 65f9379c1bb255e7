//! The mails no rule could place, in front of an agent: a stranger's mail
//! that pointed at someone else's ticket (with `email_unknown_sender =
//! review`), a sender over the hourly limit, a machine's mail, one that
//! could not be read, a bounce. The agent puts it on a ticket, opens a
//! ticket with it, or discards it; whoever is first wins, the others are
//! told it was placed already.

use super::ingest::{self, Placed, CHANNEL};
use super::store::{self, Listed};
use super::EmailError;
use crate::desk::tickets::service::{self, Origin};
use crate::state::App;
use crate::store::now_ms;
use koban_policy::mail::automation::classify;

/// The statuses an agent may still place a mail from.
pub const PLACEABLE: [&str; 3] = ["review", "held", "automatic"];
/// The statuses that wait for an agent: listed by default.
pub const WAITING: [&str; 3] = ["review", "held", "unreadable"];

/// Every status a stored mail can be in.
pub const ALL: [&str; 9] = [
    "received",
    "joined",
    "opened",
    "review",
    "held",
    "automatic",
    "bounce",
    "unreadable",
    "discarded",
];

/// What an agent does with a waiting mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Onto this ticket (reference as typed).
    Join(String),
    /// A ticket of its own.
    Open,
    /// Kept as received, on no ticket.
    Discard,
}

/// Why a placement was refused.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("no such mail")]
    NotFound,
    /// Placed already (by the rules or another agent), or not a mail that
    /// can go on a ticket (unreadable, a bounce): only discarding is left.
    #[error("mail already placed")]
    Placed,
    #[error("no such ticket")]
    NoTicket,
    #[error(transparent)]
    Email(#[from] EmailError),
}

impl From<crate::store::StoreError> for PlaceError {
    fn from(e: crate::store::StoreError) -> Self {
        PlaceError::Email(e.into())
    }
}

/// Mails in `statuses`, newest first, ids below `before`.
pub async fn list(
    app: &App,
    statuses: &[&str],
    before: i64,
    limit: i64,
) -> Result<Vec<(Listed, Option<String>)>, EmailError> {
    let rows = store::list(app.store.read(), statuses, before, limit).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(with_related(app, row).await?);
    }
    Ok(out)
}

/// A listed mail with the reference of the ticket it pointed at.
async fn with_related(app: &App, row: Listed) -> Result<(Listed, Option<String>), EmailError> {
    let related = match row.detail["related"].as_i64() {
        Some(id) => crate::desk::store::merge::reference_of(app.store.read(), id).await?,
        None => None,
    };
    Ok((row, related))
}

/// Places mail `id` as `agent` decides; its listing after, as [`list`]
/// gives it.
pub async fn place(
    app: &App,
    agent: i64,
    id: i64,
    placement: Placement,
) -> Result<(Listed, Option<String>), PlaceError> {
    let stored = store::stored(app.store.read(), id)
        .await?
        .ok_or(PlaceError::NotFound)?;
    let ticket = match &placement {
        Placement::Join(reference) => {
            let reference =
                service::parse_reference(reference).map_err(|_| PlaceError::NoTicket)?;
            let row = crate::desk::store::ticket_by_reference(app.store.read(), &reference)
                .await?
                .ok_or(PlaceError::NoTicket)?;
            Some(row.id)
        }
        _ => None,
    };
    let from = stored.status.clone();
    let discard_only = matches!(from.as_str(), "unreadable" | "bounce");
    let may =
        PLACEABLE.contains(&from.as_str()) || (discard_only && placement == Placement::Discard);
    if !may {
        return Err(PlaceError::Placed);
    }
    if placement == Placement::Discard {
        let detail = serde_json::json!({ "discarded_by": agent });
        let outcome = store::Outcome {
            status: "discarded",
            ticket_id: None,
            sender: None,
            detail: &detail,
        };
        if !store::settle(app.store.write(), id, &from, &outcome, now_ms()).await? {
            return Err(PlaceError::Placed);
        }
        return listed(app, id).await;
    }
    let mail = ingest::read_mail(app, &stored)
        .await?
        .map_err(|_| PlaceError::Placed)?;
    let automation = classify(&mail.signals);
    let sender = ingest::sender_of(&stored, &mail);
    let origin = Origin {
        channel: CHANNEL,
        external_id: stored.message_id.clone(),
        sender: sender.clone(),
    };
    let placed = Placed::new("review", sender.clone(), automation);
    let placed = match (ticket, sender.as_deref()) {
        (Some(ticket), _) => ingest::join(app, &stored, &mail, ticket, origin, placed).await?,
        (None, Some(sender)) => ingest::open(app, &stored, &mail, sender, origin, placed).await?,
        // Nobody to answer a new ticket: only joining or discarding.
        (None, None) => return Err(PlaceError::NoTicket),
    };
    if !matches!(placed.status, "joined" | "opened") {
        return Err(PlaceError::Placed);
    }
    if !ingest::settle(app, &stored, &from, &placed, &mail).await? {
        return Err(PlaceError::Placed);
    }
    if let Some(ticket) = placed.ticket {
        let mut tx = app.store.write().begin().await.map_err(EmailError::from)?;
        crate::desk::store::insert_event(
            &mut tx,
            ticket,
            Some(agent),
            "email_placed",
            &serde_json::json!({ "mail": id, "was": from }),
            now_ms(),
        )
        .await?;
        tx.commit().await.map_err(EmailError::from)?;
    }
    listed(app, id).await
}

async fn listed(app: &App, id: i64) -> Result<(Listed, Option<String>), PlaceError> {
    let row = store::list(app.store.read(), &ALL, id + 1, 1)
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or(PlaceError::NotFound)?;
    Ok(with_related(app, row).await?)
}
