//! The desk's SQL: contacts, tickets, messages and events.

mod new_ticket;
mod triage_phrases;
mod verifications;
pub use new_ticket::*;
pub use triage_phrases::*;
pub use verifications::*;
pub mod attachments;
pub mod channel_messages;
pub mod forms;
pub mod merge;
pub mod reports;
pub mod surveys;

use crate::store::{Batch, StoreError, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

/// A ticket as stored.
#[derive(Debug, Clone)]
pub struct TicketRow {
    pub id: i64,
    pub reference: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub category: String,
    pub urgent: bool,
    pub channel: String,
    pub requester_account_id: Option<i64>,
    pub requester_contact_id: Option<i64>,
    pub team: Option<String>,
    pub assignee_id: Option<i64>,
    pub language: String,
    pub region: Option<String>,
    pub time_zone: Option<String>,
    /// `standard` or `enterprise`: the support tier (SLA and queue).
    pub tier: String,
    /// The organization whose support line the requester wrote on.
    pub organization_id: Option<i64>,
    pub fields: String,
    pub completeness: i64,
    pub triage: String,
    pub follow_up_of: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub solved_at: Option<i64>,
    pub closed_at: Option<i64>,
}

pub(super) const TICKET_COLUMNS: &str =
    "id, reference, subject, status, priority, category, urgent, channel, \
    requester_account_id, requester_contact_id, team, assignee_id, language, region, time_zone, \
    tier, fields, completeness, triage, follow_up_of, created_at, updated_at, solved_at, closed_at, \
    organization_id";

impl TicketRow {
    pub(super) fn from_row(row: &AnyRow) -> Result<TicketRow, sqlx::Error> {
        Ok(TicketRow {
            id: row.try_get("id")?,
            reference: row.try_get("reference")?,
            subject: row.try_get("subject")?,
            status: row.try_get("status")?,
            priority: row.try_get("priority")?,
            category: row.try_get("category")?,
            urgent: row.try_get::<i64, _>("urgent")? != 0,
            channel: row.try_get("channel")?,
            requester_account_id: row.try_get("requester_account_id")?,
            requester_contact_id: row.try_get("requester_contact_id")?,
            team: row.try_get("team")?,
            assignee_id: row.try_get("assignee_id")?,
            language: row.try_get("language")?,
            region: row.try_get("region")?,
            time_zone: row.try_get("time_zone")?,
            tier: row.try_get("tier")?,
            organization_id: row.try_get("organization_id")?,
            fields: row.try_get("fields")?,
            completeness: row.try_get("completeness")?,
            triage: row.try_get("triage")?,
            follow_up_of: row.try_get("follow_up_of")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            solved_at: row.try_get("solved_at")?,
            closed_at: row.try_get("closed_at")?,
        })
    }
}

/// A message not yet stored.
pub struct NewMessage<'a> {
    pub ticket_id: i64,
    pub author_account_id: Option<i64>,
    pub author_kind: &'a str,
    pub public: bool,
    pub body: &'a str,
    pub original_sealed: Option<Vec<u8>>,
    pub now: i64,
}

/// Adds a message to a ticket's conversation; its id.
pub async fn insert_message(
    tx: &mut Transaction<'_, Any>,
    m: NewMessage<'_>,
) -> Result<i64, StoreError> {
    let mut batch = Batch::default();
    push_message(&mut batch, m);
    let rows = batch.run(tx).await?;
    let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
    Ok(row.try_get("id")?)
}

/// [`insert_message`] as a statement of `batch`, returning the message's
/// `id`: the batch's last.
pub fn push_message(batch: &mut Batch, m: NewMessage<'_>) {
    batch.push(
        "INSERT INTO desk_messages (ticket_id, author_account_id, author_kind, public, body,
            original_sealed, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        vec![
            m.ticket_id.into(),
            m.author_account_id.into(),
            m.author_kind.into(),
            i64::from(m.public).into(),
            m.body.into(),
            m.original_sealed.into(),
            m.now.into(),
        ],
    );
}

/// Records a change to a ticket: who, what, when.
pub async fn insert_event(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    actor: Option<i64>,
    kind: &str,
    detail: &serde_json::Value,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO desk_events (ticket_id, actor_account_id, kind, detail, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ticket_id)
    .bind(actor)
    .bind(kind)
    .bind(detail.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records several events of one ticket at one instant, in one statement
/// and in the given order: (actor, kind, detail).
pub async fn insert_events(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    events: &[(Option<i64>, &str, serde_json::Value)],
    now: i64,
) -> Result<(), StoreError> {
    let mut batch = Batch::default();
    push_events(&mut batch, ticket_id, events, now);
    batch.run(tx).await?;
    Ok(())
}

/// [`insert_events`] as a statement of `batch` (none for no events).
pub fn push_events(
    batch: &mut Batch,
    ticket_id: i64,
    events: &[(Option<i64>, &str, serde_json::Value)],
    now: i64,
) {
    if events.is_empty() {
        return;
    }
    let values: Vec<String> = (0..events.len())
        .map(|i| {
            let n = 3 + i * 3;
            format!("($1, ${}, ${}, ${}, $2)", n, n + 1, n + 2)
        })
        .collect();
    let sql = format!(
        "INSERT INTO desk_events (ticket_id, actor_account_id, kind, detail, at) VALUES {}",
        values.join(", ")
    );
    let mut params: Vec<Value> = vec![ticket_id.into(), now.into()];
    for (actor, kind, detail) in events {
        params.extend([(*actor).into(), (*kind).into(), detail.to_string().into()]);
    }
    batch.push(&sql, params);
}

/// Moves a ticket to `status`, stamping when it was solved or closed.
pub async fn set_status(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    status: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE desk_tickets SET status = $2, updated_at = $3,
            solved_at = CASE WHEN $2 = 'solved' THEN $3 WHEN $2 = 'closed' THEN solved_at ELSE NULL END,
            closed_at = CASE WHEN $2 = 'closed' THEN $3 ELSE NULL END
         WHERE id = $1",
    )
    .bind(ticket_id)
    .bind(status)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks a ticket as changed now (a message arrived).
pub async fn touch(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE desk_tickets SET updated_at = $2 WHERE id = $1")
        .bind(ticket_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The ticket with this reference number.
pub async fn ticket_by_reference<'e, E>(
    executor: E,
    reference: &str,
) -> Result<Option<TicketRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!("SELECT {TICKET_COLUMNS} FROM desk_tickets WHERE reference = $1");
    let row = sqlx::query(&sql)
        .bind(reference)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(TicketRow::from_row).transpose()?)
}

/// The ticket with id `id`.
pub async fn ticket_by_id<'e, E>(executor: E, id: i64) -> Result<Option<TicketRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!("SELECT {TICKET_COLUMNS} FROM desk_tickets WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(executor).await?;
    Ok(row.as_ref().map(TicketRow::from_row).transpose()?)
}

/// A requester's tickets, newest first, before the cursor id.
pub async fn tickets_of_account<'e, E>(
    executor: E,
    account_id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<TicketRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM desk_tickets
         WHERE (requester_account_id = $1 OR requester_contact_id IN ({CONTACTS_OF_ACCOUNT}))
           AND id < $2
         ORDER BY id DESC LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(account_id)
        .bind(before)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    Ok(rows
        .iter()
        .map(TicketRow::from_row)
        .collect::<Result<_, _>>()?)
}

/// The contacts (by id) that are account `$1`'s: linked to it by a desk
/// verification, or equal to a contact the account itself verified with a
/// code. Both are proof the same person holds the address; a contact that
/// merely looks like the account's unverified one is not.
const CONTACTS_OF_ACCOUNT: &str = "SELECT c.id FROM desk_contacts c, accounts a
     WHERE a.id = $1 AND (c.account_id = a.id
        OR (a.email_verified_at IS NOT NULL AND c.email = a.email)
        OR (a.phone_verified_at IS NOT NULL AND c.phone = a.phone))";

/// Whether the contact is this account's (see [`CONTACTS_OF_ACCOUNT`]).
pub async fn contact_belongs_to<'e, E>(
    executor: E,
    contact_id: i64,
    account_id: i64,
) -> Result<bool, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT 1 AS one FROM desk_contacts WHERE id = $2 AND id IN ({CONTACTS_OF_ACCOUNT})"
    );
    let row = sqlx::query(&sql)
        .bind(account_id)
        .bind(contact_id)
        .fetch_optional(executor)
        .await?;
    Ok(row.is_some())
}

/// A message as stored.
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: i64,
    pub author_account_id: Option<i64>,
    pub author_kind: String,
    pub public: bool,
    pub body: String,
    pub created_at: i64,
}

/// A ticket's messages, oldest first; internal notes only when `internal`.
pub async fn messages<'e, E>(
    executor: E,
    ticket_id: i64,
    internal: bool,
) -> Result<Vec<MessageRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id, author_account_id, author_kind, public, body, created_at
         FROM desk_messages WHERE ticket_id = $1 AND (public = 1 OR $2 = 1)
         ORDER BY id",
    )
    .bind(ticket_id)
    .bind(i64::from(internal))
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(MessageRow {
                id: row.try_get("id")?,
                author_account_id: row.try_get("author_account_id")?,
                author_kind: row.try_get("author_kind")?,
                public: row.try_get::<i64, _>("public")? != 0,
                body: row.try_get("body")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// An event as stored.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub actor_account_id: Option<i64>,
    pub kind: String,
    pub detail: String,
    pub at: i64,
}

/// A ticket's events, oldest first.
pub async fn events<'e, E>(executor: E, ticket_id: i64) -> Result<Vec<EventRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT actor_account_id, kind, detail, at FROM desk_events WHERE ticket_id = $1 ORDER BY id",
    )
    .bind(ticket_id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(EventRow {
                actor_account_id: row.try_get("actor_account_id")?,
                kind: row.try_get("kind")?,
                detail: row.try_get("detail")?,
                at: row.try_get("at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Records whose security context the ticket carries.
pub async fn set_security_account(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    account_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE desk_tickets SET security_account_id = $2 WHERE id = $1")
        .bind(ticket_id)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Links a contact to the account that proved it, unless linked already.
pub async fn link_contact(
    tx: &mut Transaction<'_, Any>,
    contact_id: i64,
    account_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE desk_contacts SET account_id = $2 WHERE id = $1 AND account_id IS NULL")
        .bind(contact_id)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A contact's email and phone.
pub async fn contact<'e, E>(
    executor: E,
    id: i64,
) -> Result<Option<(Option<String>, Option<String>)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT email, phone FROM desk_contacts WHERE id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("email")?, r.try_get("phone")?)),
        None => None,
    })
}

/// The account whose security context the ticket carries, and the sealed snapshot.
pub async fn security_of<'e, E>(
    executor: E,
    ticket_id: i64,
) -> Result<(Option<i64>, Option<Vec<u8>>), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT security_account_id, security_snapshot_sealed FROM desk_tickets WHERE id = $1",
    )
    .bind(ticket_id)
    .fetch_one(executor)
    .await?;
    Ok((
        row.try_get("security_account_id")?,
        row.try_get("security_snapshot_sealed")?,
    ))
}

/// Keeps the snapshot of the security context the requester consented to share.
pub async fn set_snapshot(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    account_id: i64,
    sealed: &[u8],
) -> Result<(), StoreError> {
    let mut batch = Batch::default();
    push_snapshot(&mut batch, ticket_id, account_id, sealed);
    batch.run(tx).await?;
    Ok(())
}

/// [`set_snapshot`] as a statement of `batch`.
pub fn push_snapshot(batch: &mut Batch, ticket_id: i64, account_id: i64, sealed: &[u8]) {
    batch.push(
        "UPDATE desk_tickets SET security_account_id = $2, security_consent = 1, security_snapshot_sealed = $3
         WHERE id = $1",
        vec![
            ticket_id.into(),
            account_id.into(),
            Some(sealed.to_vec()).into(),
        ],
    );
}

/// Which tickets a queue view shows.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only tickets assigned to this agent.
    pub assignee: Option<i64>,
    /// Only tickets nobody is assigned to.
    pub unassigned: bool,
    pub status: Option<String>,
    pub category: Option<String>,
    pub priority: Option<String>,
    /// Leave out solved and closed tickets.
    pub open_only: bool,
    /// Only this team's (slug).
    pub team: Option<String>,
    /// Only tickets of the teams this agent is a member of.
    pub member_of: Option<i64>,
}

/// Tickets for the console, newest first, before the cursor id.
pub async fn queue<'e, E>(
    executor: E,
    filter: &QueueFilter,
    before: i64,
    limit: i64,
) -> Result<Vec<TicketRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    // Each condition is off when its parameter is the neutral value, so one
    // statement serves every view and the planner still uses the indexes.
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM desk_tickets
         WHERE id < $1
           AND ($2 = -1 OR assignee_id = $2)
           AND ($3 = 0 OR assignee_id IS NULL)
           AND ($4 = '' OR status = $4)
           AND ($5 = '' OR category = $5)
           AND ($6 = '' OR priority = $6)
           AND ($7 = 0 OR status NOT IN ('solved', 'closed'))
           AND ($9 = '' OR team = $9)
           AND ($10 = -1 OR team IN (
                SELECT t.slug FROM desk_teams t
                JOIN desk_team_members m ON m.team_id = t.id
                WHERE m.account_id = $10))
         ORDER BY id DESC LIMIT $8"
    );
    let rows = sqlx::query(&sql)
        .bind(before)
        .bind(filter.assignee.unwrap_or(-1))
        .bind(i64::from(filter.unassigned))
        .bind(filter.status.clone().unwrap_or_default())
        .bind(filter.category.clone().unwrap_or_default())
        .bind(filter.priority.clone().unwrap_or_default())
        .bind(i64::from(filter.open_only))
        .bind(limit)
        .bind(filter.team.clone().unwrap_or_default())
        .bind(filter.member_of.unwrap_or(-1))
        .fetch_all(executor)
        .await?;
    Ok(rows
        .iter()
        .map(TicketRow::from_row)
        .collect::<Result<_, _>>()?)
}

/// Assigns the ticket to `agent` if it still has the assignee the caller
/// saw (`expected`); false when someone else changed it first.
pub async fn assign(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    expected: Option<i64>,
    agent: Option<i64>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE desk_tickets SET assignee_id = $3, updated_at = $4
         WHERE id = $1 AND COALESCE(assignee_id, -1) = $2",
    )
    .bind(ticket_id)
    .bind(expected.unwrap_or(-1))
    .bind(agent)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets one of the ticket's labels (`priority` or `category`) if it still
/// has the value the caller saw; false when it changed meanwhile.
pub async fn relabel(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    column: Label,
    from: &str,
    to: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let column = match column {
        Label::Priority => "priority",
        Label::Category => "category",
        Label::Status => "status",
    };
    let sql = format!(
        "UPDATE desk_tickets SET {column} = $3, updated_at = $4 WHERE id = $1 AND {column} = $2"
    );
    let done = sqlx::query(&sql)
        .bind(ticket_id)
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A label [`relabel`] may set.
#[derive(Debug, Clone, Copy)]
pub enum Label {
    Priority,
    Category,
    Status,
}

/// Whether `account_id` is staff (may be assigned tickets).
pub async fn is_agent<'e, E>(executor: E, account_id: i64) -> Result<bool, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT 1 AS one FROM accounts WHERE id = $1 AND status = 'active' AND role IN ('agent', 'supervisor', 'admin')",
    )
    .bind(account_id)
    .fetch_optional(executor)
    .await?;
    Ok(row.is_some())
}

/// Agents' category corrections, oldest first: the ticket's subject, its
/// first message and the category the agent chose, for triage to learn.
pub async fn corrections<'e, E>(
    executor: E,
    limit: i64,
) -> Result<Vec<(String, String, String)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT t.subject, t.category,
                (SELECT m.body FROM desk_messages m WHERE m.ticket_id = t.id ORDER BY m.id LIMIT 1) AS body
         FROM desk_tickets t
         WHERE t.id IN (SELECT e.ticket_id FROM desk_events e WHERE e.kind = 'category')
         ORDER BY t.id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("subject")?,
                r.try_get::<Option<String>, _>("body")?.unwrap_or_default(),
                r.try_get("category")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}
pub mod console;
pub mod library;
pub mod library_changes;
pub mod lookup;
pub mod roles;
pub mod routing;
pub mod settings;
pub mod sla;
