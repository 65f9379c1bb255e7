//! What agents do to tickets in the console: queue views, and changes to a
//! ticket's status, priority, category and assignee, each recorded as an
//! event. Every change is a compare-and-set on the value the agent saw, so
//! two agents acting at once cannot both win: the second is told.

pub mod api;
pub mod bulk;
pub mod bulk_api;
pub mod library;
pub mod library_api;
pub mod library_changes;
pub mod ops;
pub mod pages;

use crate::accounts::sessions::Current;
use crate::desk::error::DeskError;
use crate::desk::store::{self, Label, QueueFilter, TicketRow};
use crate::state::App;
use crate::store::now_ms;
use koban_policy::desk::forms::Category;
use koban_policy::desk::status::{self, Decision, Event, Priority, Status};

/// The queue views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Assigned to me, not done.
    Mine,
    /// Nobody's yet, not done.
    Unassigned,
    /// Everything not done.
    Open,
    /// Everything.
    All,
    /// Not done, of every team the agent is a member of.
    Team,
}

/// The filter a view and its refinements make.
pub fn filter(view: View, me: i64) -> QueueFilter {
    QueueFilter {
        assignee: (view == View::Mine).then_some(me),
        unassigned: view == View::Unassigned,
        open_only: view != View::All,
        member_of: (view == View::Team).then_some(me),
        ..QueueFilter::default()
    }
}

/// Who a ticket should go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assign {
    /// The agent acting, if nobody has it.
    Claim,
    /// This agent.
    To(i64),
    /// Nobody.
    Nobody,
}

/// Changes an agent asks for; absent members stay as they are.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub status: Option<String>,
    pub priority: Option<String>,
    pub category: Option<String>,
    pub assign: Option<Assign>,
    /// Move to this team (slug).
    pub team: Option<String>,
}

/// Applies `changes` to the ticket as one transaction: all of them, or
/// (on a refusal or a race) none.
pub async fn update(
    app: &App,
    agent: &Current,
    ticket: &TicketRow,
    changes: Changes,
) -> Result<(), DeskError> {
    let now = now_ms();
    let actor = Some(agent.account.id);
    // Check everything before writing anything.
    let status_to = match changes.status.as_deref() {
        None => None,
        Some(name) => {
            let to =
                Status::parse(name).map_err(|_| DeskError::field("status", "invalid_value"))?;
            let from =
                Status::parse(&ticket.status).map_err(|e| DeskError::Internal(e.to_string()))?;
            match status::decide(from, Event::AgentSets(to)) {
                Decision::Move(next) => Some(next),
                Decision::Stay => None,
                Decision::Refused(_) | Decision::FollowUp => {
                    return Err(DeskError::field("status", "invalid_value"))
                }
            }
        }
    };
    if ticket.status == Status::Closed.as_str()
        && (changes.priority.is_some() || changes.category.is_some() || changes.assign.is_some())
    {
        return Err(DeskError::Closed);
    }
    let priority = match changes.priority.as_deref() {
        None => None,
        Some(p) => {
            Some(Priority::parse(p).map_err(|_| DeskError::field("priority", "invalid_value"))?)
        }
    };
    let category = match changes.category.as_deref() {
        None => None,
        Some(c) => {
            Some(Category::parse(c).map_err(|_| DeskError::field("category", "invalid_value"))?)
        }
    };
    let assignee = match changes.assign {
        None => None,
        Some(Assign::Claim) => {
            if ticket.assignee_id.is_some_and(|a| a != agent.account.id) {
                return Err(DeskError::Taken);
            }
            Some(Some(agent.account.id))
        }
        Some(Assign::To(id)) => {
            if !store::is_agent(app.store.read(), id).await? {
                return Err(DeskError::field("assignee_id", "invalid_value"));
            }
            Some(Some(id))
        }
        Some(Assign::Nobody) => Some(None),
    };
    if changes.team.is_some() && ticket.status == Status::Closed.as_str() {
        return Err(DeskError::Closed);
    }
    let team = match changes.team.as_deref() {
        None => None,
        Some(slug) => match store::routing::team(app.store.read(), slug).await? {
            Some(team) => Some(team.slug),
            None => return Err(DeskError::field("team", "unknown_team")),
        },
    };
    let mut tx = app.store.write().begin().await?;
    let mut race = false;
    if let Some(to) = team.filter(|to| Some(to) != ticket.team.as_ref()) {
        race |=
            !store::sla::move_team(&mut tx, ticket.id, ticket.team.as_deref(), &to, now).await?;
        let detail = serde_json::json!({ "from": ticket.team, "to": to });
        store::insert_event(&mut tx, ticket.id, actor, "team", &detail, now).await?;
    }
    if let Some(to) = status_to {
        race |= !store::relabel(
            &mut tx,
            ticket.id,
            Label::Status,
            &ticket.status,
            to.as_str(),
            now,
        )
        .await?;
        store::set_status(&mut tx, ticket.id, to.as_str(), now).await?;
        let detail = serde_json::json!({ "from": ticket.status, "to": to.as_str() });
        store::insert_event(&mut tx, ticket.id, actor, "status", &detail, now).await?;
        if to == Status::Solved {
            // Commits with the solve, or not at all (see `desk::survey`).
            crate::desk::survey::queue_after_solve(&mut tx, ticket.id, now).await?;
        }
    }
    if let Some(p) = priority.filter(|p| p.as_str() != ticket.priority) {
        race |= !store::relabel(
            &mut tx,
            ticket.id,
            Label::Priority,
            &ticket.priority,
            p.as_str(),
            now,
        )
        .await?;
        let detail = serde_json::json!({ "from": ticket.priority, "to": p.as_str() });
        store::insert_event(&mut tx, ticket.id, actor, "priority", &detail, now).await?;
    }
    if let Some(c) = category.filter(|c| c.as_str() != ticket.category) {
        race |= !store::relabel(
            &mut tx,
            ticket.id,
            Label::Category,
            &ticket.category,
            c.as_str(),
            now,
        )
        .await?;
        // Triage corrections are read back from these events to measure
        // and teach triage.
        let detail =
            serde_json::json!({ "from": ticket.category, "to": c.as_str(), "correction": true });
        store::insert_event(&mut tx, ticket.id, actor, "category", &detail, now).await?;
    }
    if let Some(to) = assignee.filter(|to| *to != ticket.assignee_id) {
        if !store::assign(&mut tx, ticket.id, ticket.assignee_id, to, now).await? {
            race = true;
        }
        let detail = serde_json::json!({ "from": ticket.assignee_id, "to": to });
        store::insert_event(&mut tx, ticket.id, actor, "assigned", &detail, now).await?;
    }
    if race {
        tx.rollback().await?;
        return Err(DeskError::Taken);
    }
    crate::desk::routing::sla::refresh(&mut tx, ticket.id, now).await?;
    tx.commit().await?;
    Ok(())
}
