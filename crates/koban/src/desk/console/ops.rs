//! What the console does beyond one field change: the queue as a service
//! (the API and the pages ask it the same way), tags, who else has a
//! ticket open, a reply with the fields set after it, and bulk actions
//! that report each ticket's outcome instead of overwriting a change they
//! did not see.

use crate::accounts::sessions::Current;
use crate::desk::console::{self, Changes, View};
use crate::desk::error::DeskError;
use crate::desk::store::{self, console as console_store, QueueFilter, TicketRow};
use crate::desk::tickets::service::{self, Standing};
use crate::state::App;
use crate::store::now_ms;
use koban_policy::desk::canned;

pub use crate::desk::console::bulk::{bulk, Bulk, BulkOutcome, MAX_BULK};
use koban_policy::desk::forms::Category;
use koban_policy::desk::status::{self, Decision, Event, Priority, Status};

/// How long a page view counts as "has the ticket open".
pub const PRESENCE_MS: i64 = 2 * 60_000;

/// What a queue is asked for, as the API and the pages receive it.
#[derive(Debug, Clone, Default)]
pub struct QueueAsk {
    pub status: Option<String>,
    pub category: Option<String>,
    pub priority: Option<String>,
    /// Only this agent's tickets.
    pub assignee: Option<i64>,
    /// Only this team's tickets (its slug, checked by the caller).
    pub team: Option<String>,
}

/// The filter of `view` refined by `ask`; a value that is no status,
/// category or priority is refused by name.
pub fn queue_filter(view: View, me: i64, ask: QueueAsk) -> Result<QueueFilter, DeskError> {
    let mut filter = console::filter(view, me);
    let checked = |name: &str, value: Option<String>, ok: fn(&str) -> bool| match value {
        Some(v) if !ok(&v) => Err(DeskError::field(name, "invalid_value")),
        other => Ok(other),
    };
    filter.status = checked("status", ask.status, |v| Status::parse(v).is_ok())?;
    filter.category = checked("category", ask.category, |v| Category::parse(v).is_ok())?;
    filter.priority = checked("priority", ask.priority, |v| Priority::parse(v).is_ok())?;
    if let Some(agent) = ask.assignee {
        filter.assignee = Some(agent);
    }
    filter.team = ask.team;
    Ok(filter)
}

/// One page of a queue, newest first: up to `limit + 1` rows before the
/// cursor id (the extra one says there is a next page).
pub async fn queue(
    app: &App,
    filter: &QueueFilter,
    before: i64,
    limit: i64,
) -> Result<Vec<TicketRow>, DeskError> {
    Ok(store::queue(app.store.read(), filter, before, limit + 1).await?)
}

/// Records that `agent` has the ticket open and answers who else had it
/// open in the last [`PRESENCE_MS`].
pub async fn present(app: &App, agent: &Current, ticket_id: i64) -> Result<Vec<String>, DeskError> {
    let now = now_ms();
    console_store::seen(app.store.write(), ticket_id, agent.account.id, now).await?;
    Ok(console_store::others_on(
        app.store.read(),
        ticket_id,
        agent.account.id,
        now - PRESENCE_MS,
    )
    .await?)
}

/// Adds and removes tags, recorded as one event; nothing when nothing changes.
pub async fn change_tags(
    app: &App,
    agent: &Current,
    ticket_id: i64,
    add: &[String],
    remove: &[String],
) -> Result<(), DeskError> {
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for tag in add {
        if console_store::add_tag(&mut tx, ticket_id, tag).await? {
            added.push(tag);
        }
    }
    for tag in remove {
        if console_store::remove_tag(&mut tx, ticket_id, tag).await? {
            removed.push(tag);
        }
    }
    if added.is_empty() && removed.is_empty() {
        tx.rollback().await?;
        return Ok(());
    }
    let detail = serde_json::json!({ "added": added, "removed": removed });
    store::insert_event(
        &mut tx,
        ticket_id,
        Some(agent.account.id),
        "tags",
        &detail,
        now,
    )
    .await?;
    store::touch(&mut tx, ticket_id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Tags as an agent types them (comma-separated), checked.
pub fn parse_tags(list: &str) -> Result<Vec<String>, DeskError> {
    canned::tags(list).map_err(|problem| DeskError::field("tags", problem.code()))
}

/// Whether the ticket still has the fields the agent saw.
fn unchanged(seen: &TicketRow, now: &TicketRow) -> bool {
    seen.status == now.status
        && seen.priority == now.priority
        && seen.category == now.category
        && seen.assignee_id == now.assignee_id
}

/// A reply (when `body` is given) and then the fields, on the ticket as
/// the agent saw it: when it changed meanwhile, nothing is sent or set.
pub async fn reply_and_set(
    app: &App,
    agent: &Current,
    seen: &TicketRow,
    body: Option<(&str, bool)>,
    changes: Changes,
) -> Result<(), DeskError> {
    let (current, _) = service::visible(app, agent, &seen.reference).await?;
    if !unchanged(seen, &current) {
        return Err(DeskError::Taken);
    }
    // The status is checked before anything is sent, so a refused status
    // never leaves a reply behind that the agent would send again.
    if let (Some(to), Some((_, public))) = (changes.status.as_deref(), body) {
        let now = Status::parse(&current.status).map_err(|e| DeskError::Internal(e.to_string()))?;
        let after_reply = match status::decide(now, Event::AgentReplies) {
            Decision::Move(next) if public => next,
            _ => now,
        };
        let to =
            Status::parse(to).map_err(|_| DeskError::field("status_after", "invalid_value"))?;
        if matches!(
            status::decide(after_reply, Event::AgentSets(to)),
            Decision::Refused(_) | Decision::FollowUp
        ) {
            return Err(DeskError::field("status_after", "invalid_value"));
        }
    }
    let mut ticket = current;
    if let Some((text, public)) = body {
        service::add_message(app, agent, &ticket, Standing::Agent, text, public).await?;
        ticket = service::visible(app, agent, &seen.reference).await?.0;
    }
    console::update(app, agent, &ticket, changes).await
}
