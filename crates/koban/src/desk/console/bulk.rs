//! Bulk actions: one change applied to each selected ticket on its own,
//! each reported, through the same checks as a change to one ticket
//! (`console::update`). The queue page and the API both come here, so a
//! selection is treated alike whichever way it arrives.

use crate::accounts::sessions::Current;
use crate::desk::console::{self, ops, Assign, Changes};
use crate::desk::error::DeskError;
use crate::desk::store::{self, TicketRow};
use crate::desk::tickets::service::{self, Standing};
use crate::http::problem::FieldError;
use crate::state::App;
use koban_policy::desk::canned;
use koban_policy::desk::forms::Category;
use koban_policy::desk::status::{Priority, Status};

/// The most tickets one bulk action touches.
pub const MAX_BULK: usize = 100;
/// The most tags one bulk change adds or removes.
pub const MAX_BULK_TAGS: usize = 20;

/// One bulk action, checked before any ticket is touched.
#[derive(Debug, Clone)]
pub enum Bulk {
    AssignToMe,
    Status(String),
    Priority(String),
    Tag(String),
    /// Any change a single ticket takes, with tags added and removed
    /// (the API's form); build it with [`BulkChange::checked`].
    Change(Box<BulkChange>),
}

/// Fields and tags to change on every selected ticket.
#[derive(Debug, Clone, Default)]
pub struct BulkChange {
    pub changes: Changes,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
}

impl BulkChange {
    /// Checks what does not depend on the ticket (names, the assignee, the
    /// team, the tags), so a mistake is one refusal and not one per ticket.
    pub async fn checked(self, app: &App) -> Result<Bulk, DeskError> {
        let c = &self.changes;
        let nothing = c.status.is_none()
            && c.priority.is_none()
            && c.category.is_none()
            && c.assign.is_none()
            && c.team.is_none()
            && self.add_tags.is_empty()
            && self.remove_tags.is_empty();
        if nothing {
            return Err(DeskError::field("changes", "required"));
        }
        let mut errors = Vec::new();
        let mut refuse = |field: &str, code: &'static str| {
            errors.push(FieldError {
                field: field.to_string(),
                code,
            })
        };
        if c.status
            .as_deref()
            .is_some_and(|s| matches!(Status::parse(s), Err(_) | Ok(Status::New)))
        {
            refuse("status", "invalid_value");
        }
        if c.priority
            .as_deref()
            .is_some_and(|p| Priority::parse(p).is_err())
        {
            refuse("priority", "invalid_value");
        }
        if c.category
            .as_deref()
            .is_some_and(|v| Category::parse(v).is_err())
        {
            refuse("category", "invalid_value");
        }
        if let Some(Assign::To(id)) = c.assign {
            if !store::is_agent(app.store.read(), id).await? {
                refuse("assignee_id", "invalid_value");
            }
        }
        if let Some(slug) = c.team.as_deref() {
            if store::routing::team(app.store.read(), slug)
                .await?
                .is_none()
            {
                refuse("team", "unknown_team");
            }
        }
        let mut tags = |field: &str, list: &[String]| -> Vec<String> {
            if list.len() > MAX_BULK_TAGS {
                refuse(field, "too_many");
            }
            let mut clean = Vec::new();
            for tag in list {
                match canned::tag(tag) {
                    Ok(tag) if !clean.contains(&tag) => clean.push(tag),
                    Ok(_) => {}
                    Err(problem) => refuse(field, problem.code()),
                }
            }
            clean
        };
        let add_tags = tags("add_tags", &self.add_tags);
        let remove_tags = tags("remove_tags", &self.remove_tags);
        if !errors.is_empty() {
            return Err(DeskError::Invalid(errors));
        }
        Ok(Bulk::Change(Box::new(BulkChange {
            changes: self.changes,
            add_tags,
            remove_tags,
        })))
    }
}

impl Bulk {
    /// The page's action named `action` with its `value`, or a refusal by field.
    pub fn parse(action: &str, value: &str) -> Result<Bulk, DeskError> {
        let value = value.trim();
        match action {
            "assign_to_me" => Ok(Bulk::AssignToMe),
            "status" => match Status::parse(value) {
                Ok(Status::New) | Err(_) => Err(DeskError::field("value", "invalid_value")),
                Ok(s) => Ok(Bulk::Status(s.as_str().to_string())),
            },
            "priority" => Priority::parse(value)
                .map(|p| Bulk::Priority(p.as_str().to_string()))
                .map_err(|_| DeskError::field("value", "invalid_value")),
            "tag" => canned::tag(value)
                .map(Bulk::Tag)
                .map_err(|problem| DeskError::field("value", problem.code())),
            _ => Err(DeskError::field("action", "invalid_value")),
        }
    }
}

/// What happened to one ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Someone changed it after the agent looked: left alone.
    Changed,
    /// Another agent has it.
    Taken,
    /// Closed: nothing but a status change applies.
    Closed,
    /// Not allowed from its state (see the field errors).
    Refused,
    /// Not the caller's to change.
    Forbidden,
    NotFound,
}

impl Outcome {
    /// The page's word (`console-bulk-<word>` in the locales).
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Changed => "changed",
            Outcome::Taken => "taken",
            Outcome::Closed | Outcome::Refused | Outcome::Forbidden => "refused",
            Outcome::NotFound => "not_found",
        }
    }

    /// The API's code: `ok`, or the problem the single change would answer.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Done => "ok",
            Outcome::Changed | Outcome::Taken => "conflict",
            Outcome::Closed => "ticket_closed",
            Outcome::Refused => "invalid",
            Outcome::Forbidden => "forbidden",
            Outcome::NotFound => "not_found",
        }
    }
}

/// What a bulk action did to one ticket.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BulkOutcome {
    pub reference: String,
    /// `done`, `changed`, `taken`, `refused` or `not_found` (the page's words).
    pub outcome: &'static str,
    #[serde(skip)]
    pub result: Outcome,
    /// Why a change was refused, by field.
    #[serde(skip)]
    pub errors: Vec<FieldError>,
}

/// Applies `action` to each ticket the agent selected, as they saw it
/// (`updated_at`, when known); each ticket on its own, each reported.
pub async fn bulk(
    app: &App,
    agent: &Current,
    selection: &[(String, Option<i64>)],
    action: &Bulk,
) -> Result<Vec<BulkOutcome>, DeskError> {
    if selection.is_empty() {
        return Err(DeskError::field("tickets", "required"));
    }
    if selection.len() > MAX_BULK {
        return Err(DeskError::field("tickets", "too_many"));
    }
    let mut outcomes = Vec::with_capacity(selection.len());
    for (reference, seen_at) in selection {
        let mut errors = Vec::new();
        let result = match service::visible(app, agent, reference).await {
            Err(DeskError::NotFound | DeskError::BadReference) => Outcome::NotFound,
            Err(other) => return Err(other),
            Ok((_, Standing::Requester)) => Outcome::Forbidden,
            Ok((ticket, _)) if seen_at.is_some_and(|at| at != ticket.updated_at) => {
                Outcome::Changed
            }
            Ok((ticket, _))
                if matches!(action, Bulk::AssignToMe)
                    && ticket.assignee_id.is_some_and(|a| a != agent.account.id) =>
            {
                Outcome::Taken
            }
            Ok((ticket, _)) => match apply(app, agent, &ticket, action).await {
                Ok(()) => Outcome::Done,
                Err(DeskError::Taken) => Outcome::Changed,
                Err(DeskError::Closed) => Outcome::Closed,
                Err(DeskError::Forbidden) => Outcome::Forbidden,
                Err(DeskError::Invalid(why)) => {
                    errors = why;
                    Outcome::Refused
                }
                Err(other) => return Err(other),
            },
        };
        outcomes.push(BulkOutcome {
            reference: crate::desk::tickets::api::formatted(reference),
            outcome: result.word(),
            result,
            errors,
        });
    }
    Ok(outcomes)
}

async fn apply(
    app: &App,
    agent: &Current,
    ticket: &TicketRow,
    action: &Bulk,
) -> Result<(), DeskError> {
    let closed = ticket.status == Status::Closed.as_str();
    let changes = match action {
        Bulk::Tag(tag) => {
            if closed {
                return Err(DeskError::Closed);
            }
            return ops::change_tags(app, agent, ticket.id, std::slice::from_ref(tag), &[]).await;
        }
        Bulk::Change(change) => {
            let tagging = !change.add_tags.is_empty() || !change.remove_tags.is_empty();
            if tagging && closed {
                return Err(DeskError::Closed);
            }
            // The fields first: their compare-and-set is what can lose a
            // race, and a lost race should leave the tags alone too.
            let c = &change.changes;
            let fields = c.status.is_some()
                || c.priority.is_some()
                || c.category.is_some()
                || c.assign.is_some()
                || c.team.is_some();
            if fields {
                console::update(app, agent, ticket, change.changes.clone()).await?;
            }
            if tagging {
                ops::change_tags(app, agent, ticket.id, &change.add_tags, &change.remove_tags)
                    .await?;
            }
            return Ok(());
        }
        Bulk::AssignToMe => Changes {
            assign: Some(Assign::Claim),
            ..Changes::default()
        },
        Bulk::Status(s) => Changes {
            status: Some(s.clone()),
            ..Changes::default()
        },
        Bulk::Priority(p) => Changes {
            priority: Some(p.clone()),
            ..Changes::default()
        },
    };
    console::update(app, agent, ticket, changes).await
}
