//! The write part of opening a ticket: everything [`super::service::open`]
//! decided beforehand (triage, the form's check, masking, sealing, the
//! security context) held in an owned [`Prepared`], and [`Prepared::write`],
//! which stores it in a transaction it is given. Kept apart so that the
//! ticket committer (`committer.rs`) can write several openings in one
//! transaction while the reads and the CPU work stay outside it.

use crate::desk::admin::snapshot::Snapshot;
use crate::desk::error::DeskError;
use crate::desk::store::{self, NewContact, NewMessage, NewTicket};
use crate::desk::tickets::notify::AnswerTo;
use crate::desk::tickets::service::{insert_for_contact, Opened, Origin};
use crate::desk::tickets::support_line::Line;
use crate::state::App;
use crate::store::Batch;
use koban_policy::desk::forms::Category;
use koban_policy::desk::reference::{self, Reference};
use koban_policy::desk::routing::RouteDecision;
use koban_policy::desk::status::Status;
use sqlx::{Any, AnyConnection, Transaction};
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
    pub answer_to: Option<AnswerTo>,
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

    /// Where the ticket is routed, decided before it is stored: the team
    /// goes in with the row.
    fn route(&self) -> RouteDecision {
        let unrouted = self.ticket("", None);
        self.configured
            .setup
            .route_to(&unrouted.stored(0, ""), self.team.as_deref(), self.now)
    }

    /// The ticket's row under `reference`, in `team`.
    fn ticket<'a>(&'a self, reference: &'a str, team: Option<&'a str>) -> NewTicket<'a> {
        NewTicket {
            reference,
            subject: &self.subject,
            status: Status::New.as_str(),
            priority: self.priority,
            category: self.category.as_str(),
            urgent: self.priority == "urgent",
            channel: self.channel,
            requester_account_id: self.account_id(),
            requester_contact_id: None,
            language: &self.language,
            region: self.region.as_deref(),
            time_zone: self.time_zone.as_deref(),
            fields: &self.fields,
            completeness: i64::from(self.completeness),
            triage: &self.triage,
            follow_up_of: None,
            team,
            tier: self.line.map_or("standard", |l| l.tier),
            organization_id: self.line.map(|l| l.organization_id),
            now: self.now,
        }
    }

    fn account_id(&self) -> Option<i64> {
        match &self.opener {
            Opener::Account(id) => Some(*id),
            Opener::Contact { .. } => None,
        }
    }

    /// The email or phone a contact is known by (none for an account).
    pub fn contact_key(&self) -> Option<&str> {
        self.contact().and_then(|c| c.email.or(c.phone))
    }

    /// The contact found or made in the ticket's own trip.
    fn contact(&self) -> Option<NewContact<'_>> {
        match &self.opener {
            Opener::Account(_) => None,
            Opener::Contact { email, phone, name } => Some(NewContact {
                email: email.as_deref(),
                phone: phone.as_deref(),
                name: name.as_deref(),
            }),
        }
    }

    /// Stores the ticket, its first message, events, SLA clocks and the
    /// acknowledgement in `tx`; the caller commits.
    pub async fn write(
        &self,
        app: &App,
        tx: &mut Transaction<'_, Any>,
    ) -> Result<Opened, DeskError> {
        write_group(app, tx, &[self])
            .await?
            .pop()
            .ok_or_else(|| DeskError::Internal("the opening was not written".into()))
    }

    /// Adds the rows after the ticket's own to `batch`, for the caller to
    /// run: its first message, events, SLA clocks and the acknowledgement
    /// with its job and Message-ID. What needs an answer from the database
    /// first (an attachment, a channel's id of the message, an agent to
    /// assign) runs `batch` so far, a trip of its own.
    async fn write_rest(
        &self,
        app: &App,
        writer: &mut Writer<'_, '_>,
        head: Head,
        batch: &mut Batch,
    ) -> Result<Opened, DeskError> {
        let now = self.now;
        let setup = &self.configured.setup;
        let Head {
            ticket_id,
            contact_id,
            number,
            decision,
        } = head;
        let account_id = self.account_id();
        let reference_text = number.to_string();
        let mut stored = self
            .ticket(&reference_text, Some(&decision.team))
            .stored(ticket_id, &reference_text);
        stored.requester_contact_id = contact_id;
        // Its message goes first, ending a trip, only when its id is
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
        if let Some((account, sealed)) = &self.snapshot {
            store::push_snapshot(batch, ticket_id, *account, sealed);
        }
        let mut message = Some(message);
        if self.origin.is_some() || !self.attachments.is_empty() {
            if let Some(message) = message.take() {
                store::push_message(batch, message);
            }
            let tx = writer.transaction()?;
            let message_id = message_id_of(std::mem::take(batch).run(tx).await?)?;
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
            batch,
            ticket_id,
            &[(account_id, "created", created), (None, "routed", routed)],
            now,
        );
        let first_answer_by =
            crate::desk::routing::sla::start(writer.connection(), batch, &stored, setup, now)
                .await?;
        if let Some(message) = message {
            store::push_message(batch, message);
        }
        if setup.may_assign(&decision) {
            let tx = writer.transaction()?;
            std::mem::take(batch).run(tx).await?;
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
        }
        let conversation = crate::desk::tickets::mail_identity::Conversation::opening(
            self.origin
                .as_ref()
                .map(|o| (o.channel, o.external_id.as_str())),
        );
        crate::desk::tickets::notify::received(
            app,
            writer.connection(),
            batch,
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

    /// Whether every row of the opening can be written in one statement,
    /// with nothing read back on the way: no channel's message to record,
    /// no files, no acknowledgement held for a bounce, no agent to assign;
    /// and no security context, which updates the ticket's row: within one
    /// PostgreSQL statement an update does not see the row its `WITH`
    /// clause inserted, and would change nothing.
    fn is_plain(&self, decision: &RouteDecision) -> bool {
        !self.may_be_refused()
            && self.snapshot.is_none()
            && self.answer_to.as_ref().is_none_or(|to| !to.may_be_held())
            && !self.configured.setup.may_assign(decision)
    }

    /// Stores the ticket in a transaction of its own; on PostgreSQL a plain
    /// opening as one statement, which is as atomic and takes two trips to
    /// the database instead of four (begin, ticket, its rows, commit).
    pub async fn write_alone(&self, app: &App) -> Result<Opened, DeskError> {
        if app.store.backend() == crate::store::Backend::Postgres {
            let decision = self.route();
            if self.is_plain(&decision) {
                return self.write_as_one_statement(app, decision).await;
            }
        }
        let mut tx = app.store.write().begin().await?;
        let opened = self.write(app, &mut tx).await?;
        tx.commit().await?;
        Ok(opened)
    }
}

/// Where an opening's rows go: a transaction, in which the opening may take
/// trips of its own, or a connection on which they all run as one
/// statement, which must then need none.
enum Writer<'a, 'c> {
    Transaction(&'a mut Transaction<'c, Any>),
    OneStatement(&'a mut AnyConnection),
}

impl<'c> Writer<'_, 'c> {
    fn connection(&mut self) -> &mut AnyConnection {
        match self {
            Writer::Transaction(tx) => tx,
            Writer::OneStatement(conn) => conn,
        }
    }

    /// The transaction, for a trip of the opening's own.
    fn transaction(&mut self) -> Result<&mut Transaction<'c, Any>, DeskError> {
        match self {
            Writer::Transaction(tx) => Ok(tx),
            Writer::OneStatement(_) => Err(DeskError::Internal(
                "an opening written as one statement needed a trip of its own".into(),
            )),
        }
    }
}

/// Draws of a reference number for one opening before it gives up. There
/// are 9·10^9 numbers: with a million tickets stored, one draw in 9,000
/// finds its number taken, and five in a row never happen.
const REFERENCE_DRAWS: usize = 5;

impl Prepared {
    /// Stores a plain opening ([`Prepared::is_plain`]) on PostgreSQL as one
    /// statement outside any transaction: its ticket, under an id drawn
    /// before, and every other row. A reference number another ticket
    /// holds fails the whole statement, and the opening is written again
    /// under a new one.
    async fn write_as_one_statement(
        &self,
        app: &App,
        decision: RouteDecision,
    ) -> Result<Opened, DeskError> {
        let mut conn = app.store.write().acquire().await?;
        let ticket_id = crate::desk::tickets::ids::draw(&mut conn).await?;
        for _ in 0..REFERENCE_DRAWS {
            let number = Reference::from_random(rand::random());
            let text = number.to_string();
            let mut batch = Batch::default();
            let ticket = self.ticket(&text, Some(&decision.team));
            store::push_ticket_with_id(&mut batch, ticket_id, &ticket, self.contact())?;
            let head = Head {
                ticket_id,
                contact_id: None,
                number,
                decision: decision.clone(),
            };
            let mut writer = Writer::OneStatement(&mut conn);
            let opened = self.write_rest(app, &mut writer, head, &mut batch).await?;
            match batch.run(&mut conn).await {
                Ok(_) => return Ok(opened),
                Err(error) if store::is_reference_taken(&error) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(DeskError::Internal(
            "no free reference number was drawn".into(),
        ))
    }
}

/// What the first trip stored of an opening: its ticket's ids and number,
/// and where it was routed.
struct Head {
    ticket_id: i64,
    contact_id: Option<i64>,
    number: Reference,
    decision: RouteDecision,
}

/// Stores several openings in `tx`: their contacts and tickets in one
/// trip, then all their other rows (messages, events, clocks, the
/// acknowledgements with their jobs and Message-IDs) in one more. Each one's
/// answer, in order; one failure fails them all, so openings that may be
/// refused for a reason of their own ([`Prepared::may_be_refused`]) come
/// one at a time.
pub(crate) async fn write_group(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    openings: &[&Prepared],
) -> Result<Vec<Opened>, DeskError> {
    if openings.is_empty() {
        return Ok(Vec::new());
    }
    let decisions: Vec<RouteDecision> = openings.iter().map(|p| p.route()).collect();
    // Numbers drawn here, apart within the group; one a ticket before
    // holds is drawn again on its own below.
    let mut numbers: Vec<Reference> = Vec::with_capacity(openings.len());
    while numbers.len() < openings.len() {
        let number = Reference::from_random(rand::random());
        if !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    let texts: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
    let rows: Vec<_> = openings
        .iter()
        .zip(&decisions)
        .zip(&texts)
        .map(|((p, d), text)| (p.ticket(text, Some(&d.team)), p.contact()))
        .collect();
    let stored = store::insert_tickets(tx, &rows).await?;
    let mut rest = Batch::default();
    let mut answers = Vec::with_capacity(openings.len());
    for (((prepared, decision), number), row) in
        openings.iter().zip(decisions).zip(numbers).zip(stored)
    {
        let (ticket_id, contact_id, number) = match row {
            Some((ticket_id, contact_id)) => (ticket_id, contact_id, number),
            None => {
                let ticket = prepared.ticket("", Some(&decision.team));
                insert_for_contact(tx, ticket, prepared.contact()).await?
            }
        };
        let head = Head {
            ticket_id,
            contact_id,
            number,
            decision,
        };
        let mut writer = Writer::Transaction(&mut *tx);
        answers.push(
            prepared
                .write_rest(app, &mut writer, head, &mut rest)
                .await?,
        );
    }
    rest.run(tx).await?;
    Ok(answers)
}

/// The id a batch ending with [`store::push_message`] returned.
fn message_id_of(rows: Vec<sqlx::any::AnyRow>) -> Result<i64, DeskError> {
    use sqlx::Row;
    let row = rows
        .first()
        .ok_or_else(|| DeskError::Internal("the message's id was not returned".into()))?;
    Ok(row.try_get("id")?)
}
