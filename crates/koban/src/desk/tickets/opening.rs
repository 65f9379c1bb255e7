//! The write part of opening a ticket: everything [`super::service::open`]
//! decided beforehand (triage, the form's check, masking, sealing, the
//! security context) held in an owned [`Prepared`], and [`Prepared::write`],
//! which stores it in a transaction it is given. Kept apart so that the
//! ticket committer (`committer.rs`) can write several openings in one
//! transaction while the reads and the CPU work stay outside it.

use crate::delivery::Channel;
use crate::desk::admin::snapshot::Snapshot;
use crate::desk::error::DeskError;
use crate::desk::store::{self, NewMessage, NewTicket};
use crate::desk::tickets::service::{insert_with_fresh_reference, Opened, Origin};
use crate::desk::tickets::support_line::Line;
use crate::state::App;
use crate::store::Batch;
use koban_policy::desk::forms::Category;
use koban_policy::desk::reference;
use koban_policy::desk::status::Status;
use sqlx::{Any, Transaction};
use std::sync::Arc;

/// Who a prepared ticket is for: a signed-in account, or a contact
/// (email, phone, name) found or added in the ticket's transaction.
pub(crate) enum Opener {
    Account(i64),
    Contact {
        email: Option<String>,
        phone: Option<String>,
        name: Option<String>,
    },
}

/// A ticket ready to be stored: owned, so it can wait in the committer's
/// queue while its requester's task waits for the answer.
pub(crate) struct Prepared {
    pub opener: Opener,
    /// Where the acknowledgement goes.
    pub answer_to: Option<(Channel, String)>,
    pub subject: String,
    pub body: String,
    pub sealed: Option<Vec<u8>>,
    pub fields: String,
    pub triage: String,
    /// The requester's account and its sealed security context.
    pub snapshot: Option<(i64, Vec<u8>)>,
    pub line: Option<Line>,
    pub category: Category,
    pub priority: &'static str,
    pub completeness: u8,
    pub channel: &'static str,
    pub language: String,
    pub region: Option<String>,
    pub time_zone: Option<String>,
    pub attachments: Vec<String>,
    pub team: Option<String>,
    pub origin: Option<Origin>,
    /// The desk's configuration the ticket is routed and clocked by.
    pub configured: Arc<Snapshot>,
    pub now: i64,
}

impl Prepared {
    /// Whether storing it may be refused for a reason of its own (a file
    /// not the requester's, a mail already taken): such an opening runs in
    /// a savepoint of a shared transaction, so its refusal undoes only it.
    /// Any other failure is the database's, and fails the batch.
    pub fn may_be_refused(&self) -> bool {
        self.origin.is_some() || !self.attachments.is_empty()
    }

    /// Stores the ticket, its first message, events, SLA clocks and the
    /// acknowledgement in `tx`; the caller commits.
    pub async fn write(
        &self,
        app: &App,
        tx: &mut Transaction<'_, Any>,
    ) -> Result<Opened, DeskError> {
        let now = self.now;
        let setup = &self.configured.setup;
        let (account_id, contact_id) = match &self.opener {
            Opener::Account(id) => (Some(*id), None),
            Opener::Contact { email, phone, name } => {
                let id =
                    store::contact_id(tx, email.as_deref(), phone.as_deref(), name.as_deref(), now)
                        .await?;
                (None, Some(id))
            }
        };
        let new_ticket = NewTicket {
            reference: "",
            subject: &self.subject,
            status: Status::New.as_str(),
            priority: self.priority,
            category: self.category.as_str(),
            urgent: self.priority == "urgent",
            channel: self.channel,
            requester_account_id: account_id,
            requester_contact_id: contact_id,
            language: &self.language,
            region: self.region.as_deref(),
            time_zone: self.time_zone.as_deref(),
            fields: &self.fields,
            completeness: i64::from(self.completeness),
            triage: &self.triage,
            follow_up_of: None,
            team: None,
            tier: self.line.map_or("standard", |l| l.tier),
            organization_id: self.line.map(|l| l.organization_id),
            now,
        };
        // Routed before it is stored: the team goes in with the row.
        let decision = setup.route_to(&new_ticket.stored(0, ""), self.team.as_deref(), now);
        let new_ticket = NewTicket {
            team: Some(&decision.team),
            ..new_ticket
        };
        let (ticket_id, number) = insert_with_fresh_reference(tx, new_ticket).await?;
        let mut stored = new_ticket.stored(ticket_id, &number.to_string());
        // The ticket's other rows go in batches, one trip each (see
        // `store::Batch`): its message first on its own only when its id is
        // needed before the events (a channel's id of it, attachments).
        let message = NewMessage {
            ticket_id,
            author_account_id: account_id,
            author_kind: "requester",
            public: true,
            body: &self.body,
            original_sealed: self.sealed.clone(),
            now,
        };
        let mut batch = Batch::default();
        if let Some((account, sealed)) = &self.snapshot {
            store::push_snapshot(&mut batch, ticket_id, *account, sealed);
        }
        let mut message = Some(message);
        if self.origin.is_some() || !self.attachments.is_empty() {
            if let Some(message) = message.take() {
                store::push_message(&mut batch, message);
            }
            let message_id = message_id_of(std::mem::take(&mut batch).run(tx).await?)?;
            if let Some(origin) = &self.origin {
                origin.record(tx, ticket_id, message_id, now).await?;
            }
            crate::desk::attachments::attach(
                app,
                tx,
                ticket_id,
                Some(message_id),
                account_id,
                &self.attachments,
                now,
            )
            .await?;
        }
        let created = serde_json::json!({ "channel": self.channel, "category": self.category.as_str(), "priority": self.priority });
        let routed = crate::desk::routing::routed_detail(&decision);
        store::push_events(
            &mut batch,
            ticket_id,
            &[(account_id, "created", created), (None, "routed", routed)],
            now,
        );
        let first_answer_by =
            crate::desk::routing::sla::start(tx, &mut batch, &stored, setup, now).await?;
        if let Some(message) = message {
            store::push_message(&mut batch, message);
        }
        batch.run(tx).await?;
        stored.assignee_id = setup.assign(tx, &decision, ticket_id, now).await?;
        if let Some(assignee) = stored.assignee_id {
            crate::desk::store::sla::set_routing(
                tx,
                ticket_id,
                &decision.team,
                Some(assignee),
                now,
            )
            .await?;
        }
        let conversation = crate::desk::tickets::mail_identity::Conversation::opening(
            self.origin
                .as_ref()
                .map(|o| (o.channel, o.external_id.as_str())),
        );
        crate::desk::tickets::notify::received(
            app,
            tx,
            &stored,
            self.answer_to.clone(),
            conversation,
            first_answer_by,
        )
        .await?;
        Ok(Opened {
            reference: reference::format(number),
            category: self.category.as_str().to_string(),
            priority: self.priority.to_string(),
            status: Status::New.as_str().to_string(),
            completeness: i64::from(self.completeness),
            id: ticket_id,
        })
    }

    /// Stores the ticket in a transaction of its own.
    pub async fn write_alone(&self, app: &App) -> Result<Opened, DeskError> {
        let mut tx = app.store.write().begin().await?;
        let opened = self.write(app, &mut tx).await?;
        tx.commit().await?;
        Ok(opened)
    }
}

/// The id a batch ending with [`store::push_message`] returned.
fn message_id_of(rows: Vec<sqlx::any::AnyRow>) -> Result<i64, DeskError> {
    use sqlx::Row;
    let row = rows
        .first()
        .ok_or_else(|| DeskError::Internal("the message's id was not returned".into()))?;
    Ok(row.try_get("id")?)
}
