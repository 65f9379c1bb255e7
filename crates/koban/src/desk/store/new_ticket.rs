//! New tickets: the row of one not yet stored, and the trip that stores
//! it (or a group of them) with the contact who opened it.

use super::TicketRow;
use crate::store::{Batch, Earlier, StoreError};
use sqlx::{Any, Row, Transaction};

/// A ticket not yet stored.
#[derive(Clone, Copy)]
pub struct NewTicket<'a> {
    pub reference: &'a str,
    pub subject: &'a str,
    pub status: &'a str,
    pub priority: &'a str,
    pub category: &'a str,
    pub urgent: bool,
    pub channel: &'a str,
    pub requester_account_id: Option<i64>,
    pub requester_contact_id: Option<i64>,
    pub language: &'a str,
    pub region: Option<&'a str>,
    pub time_zone: Option<&'a str>,
    pub fields: &'a str,
    pub completeness: i64,
    pub triage: &'a str,
    pub follow_up_of: Option<i64>,
    /// The team it is routed to, when routing decided before it was stored.
    pub team: Option<&'a str>,
    /// `standard` or `enterprise`.
    pub tier: &'a str,
    pub organization_id: Option<i64>,
    pub now: i64,
}

impl NewTicket<'_> {
    /// The row this ticket is once stored as `id` under `reference`, with
    /// the columns' defaults: built, not read back, inside the opening's
    /// transaction (one trip less to the single writer).
    pub fn stored(&self, id: i64, reference: &str) -> TicketRow {
        TicketRow {
            id,
            reference: reference.to_string(),
            subject: self.subject.to_string(),
            status: self.status.to_string(),
            priority: self.priority.to_string(),
            category: self.category.to_string(),
            urgent: self.urgent,
            channel: self.channel.to_string(),
            requester_account_id: self.requester_account_id,
            requester_contact_id: self.requester_contact_id,
            team: self.team.map(str::to_string),
            assignee_id: None,
            language: self.language.to_string(),
            region: self.region.map(str::to_string),
            time_zone: self.time_zone.map(str::to_string),
            tier: self.tier.to_string(),
            organization_id: self.organization_id,
            fields: self.fields.to_string(),
            completeness: self.completeness,
            triage: self.triage.to_string(),
            follow_up_of: self.follow_up_of,
            created_at: self.now,
            updated_at: self.now,
            solved_at: None,
            closed_at: None,
        }
    }
}

/// A requester known only by email or phone (email first), made with
/// their first ticket.
#[derive(Debug, Clone, Copy)]
pub struct NewContact<'a> {
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// Inserts a ticket, and with `contact` that contact first, found or made
/// in the same trip, as its requester: the ticket's id and its contact's,
/// or `None` when its reference number is taken (the caller draws
/// another; the contact stays, as it would for the next draw).
pub async fn insert_ticket(
    tx: &mut Transaction<'_, Any>,
    t: &NewTicket<'_>,
    contact: Option<NewContact<'_>>,
) -> Result<Option<(i64, Option<i64>)>, StoreError> {
    let mut stored = insert_tickets(tx, &[(*t, contact)]).await?;
    Ok(stored.pop().flatten())
}

/// [`insert_ticket`] for several tickets in one trip, each with the
/// answer `insert_ticket` gives, in order. Their reference numbers must
/// differ from each other.
pub async fn insert_tickets(
    tx: &mut Transaction<'_, Any>,
    tickets: &[(NewTicket<'_>, Option<NewContact<'_>>)],
) -> Result<Vec<Option<(i64, Option<i64>)>>, StoreError> {
    let mut batch = Batch::default();
    let mut ids = Vec::with_capacity(tickets.len());
    for (t, contact) in tickets {
        ids.push(push_ticket(&mut batch, t, *contact, None)?);
    }
    // The last statement reads the ids back, one row per ticket.
    let select: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(k, (ticket, contact))| {
            let contact = contact.map_or("CAST(NULL AS BIGINT)".to_string(), |c| c.id());
            format!(
                "SELECT CAST({k} AS BIGINT) AS k, {} AS id, {contact} AS contact_id",
                ticket.id()
            )
        })
        .collect();
    batch.push(&select.join(" UNION ALL "), Vec::new());
    let rows = batch.run(tx).await?;
    let mut stored = vec![None; tickets.len()];
    for row in rows {
        let k: i64 = row.try_get("k")?;
        let id: Option<i64> = row.try_get("id")?;
        let contact_id = tickets
            .get(k as usize)
            .and_then(|(t, _)| t.requester_contact_id);
        let contact_id = match row.try_get::<Option<i64>, _>("contact_id")? {
            Some(id) => Some(id),
            None => contact_id,
        };
        if let (Some(slot), Some(id)) = (stored.get_mut(k as usize), id) {
            *slot = Some((id, contact_id));
        }
    }
    Ok(stored)
}

/// Adds a ticket stored under `id`, drawn beforehand, and its contact to
/// `batch`, which then holds the ticket's other rows too and runs as one
/// statement outside any transaction (PostgreSQL only: its statement is
/// atomic). A reference number another ticket holds fails the statement,
/// so that nothing of it stays: see [`is_reference_taken`].
pub fn push_ticket_with_id(
    batch: &mut Batch,
    id: i64,
    t: &NewTicket<'_>,
    contact: Option<NewContact<'_>>,
) -> Result<(), StoreError> {
    push_ticket(batch, t, contact, Some(id)).map(drop)
}

/// Whether `error` is a ticket's reference number being taken already.
pub fn is_reference_taken(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => {
            e.is_unique_violation()
                && e.constraint()
                    .is_some_and(|c| c == "desk_tickets_reference_key")
        }
        _ => false,
    }
}

/// Adds a ticket (and its contact) to `batch`: what finds their ids. With
/// `id`, the ticket is stored under it and a taken number fails the batch;
/// without, the database draws the id and a taken number stores nothing.
fn push_ticket(
    batch: &mut Batch,
    t: &NewTicket<'_>,
    contact: Option<NewContact<'_>>,
    id: Option<i64>,
) -> Result<(Earlier, Option<Earlier>), StoreError> {
    let contact = match contact {
        Some(contact) => {
            let (column, value) = match (contact.email, contact.phone) {
                (Some(email), _) => ("email", email),
                (None, Some(phone)) => ("phone", phone),
                (None, None) => return Err(StoreError::Sqlx(sqlx::Error::RowNotFound)),
            };
            Some(batch.push_with_id(
                &format!(
                    "INSERT INTO desk_contacts ({column}, name, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT ({column}) DO UPDATE SET name = COALESCE(desk_contacts.name, excluded.name)"
                ),
                vec![value.into(), contact.name.into(), t.now.into()],
                &format!("(SELECT id FROM desk_contacts WHERE {column} = $1)"),
            ))
        }
        None => None,
    };
    // $9 (no contact id yet) stays in the text: PostgreSQL refuses a
    // parameter it cannot see.
    let requester_contact = match contact {
        Some(earlier) => format!("COALESCE($9, {})", earlier.id()),
        None => "$9".to_string(),
    };
    let (id_column, id_value, on_conflict) = match id {
        Some(_) => (", id", ", $21", ""),
        None => ("", "", "ON CONFLICT (reference) DO NOTHING"),
    };
    let mut values: Vec<crate::store::Value> = vec![
        t.reference.into(),
        t.subject.into(),
        t.status.into(),
        t.priority.into(),
        t.category.into(),
        i64::from(t.urgent).into(),
        t.channel.into(),
        t.requester_account_id.into(),
        t.requester_contact_id.into(),
        t.language.into(),
        t.region.into(),
        t.time_zone.into(),
        t.fields.into(),
        t.completeness.into(),
        t.triage.into(),
        t.follow_up_of.into(),
        t.now.into(),
        t.team.into(),
        t.tier.into(),
        t.organization_id.into(),
    ];
    if let Some(id) = id {
        values.push(id.into());
    }
    let ticket = batch.push_with_id(
        &format!(
            "INSERT INTO desk_tickets (reference, subject, status, priority, category, urgent, channel,
                requester_account_id, requester_contact_id, language, region, time_zone, fields,
                completeness, triage, follow_up_of, team, created_at, updated_at, tier, organization_id{id_column})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {requester_contact}, $10, $11, $12, $13, $14, $15, $16, $18, $17, $17, $19, $20{id_value})
             {on_conflict}"
        ),
        values,
        // On SQLite, the row this statement wrote: a ticket that held the
        // number before (so this one was not written) has another time or
        // subject, and then no id is found, as on PostgreSQL.
        "(SELECT id FROM desk_tickets WHERE reference = $1 AND created_at = $17 AND subject = $2)",
    );
    Ok((ticket, contact))
}
