//! Routing a new ticket to a team and an agent: reads the teams, their
//! business hours and their agents' loads in the ticket's transaction,
//! asks `koban_policy::desk::routing`, and records each decision with its
//! reason as a ticket event.

pub mod escalate;
pub mod recompute;
pub mod sla;
pub mod sla_notice;

use crate::desk::error::DeskError;
use crate::desk::store::routing::{self as rstore, TeamRow};
use crate::desk::store::{self, TicketRow};
use jiff::Timestamp;
use koban_policy::desk::calendar::{Calendar, CalendarSpec};
use koban_policy::desk::forms::Category;
use koban_policy::desk::routing::{self, AgentLoad, Team, TicketFacts};
use sqlx::{Any, Transaction};

/// The slug tickets go to when no team is marked default (a fresh install
/// seeds `general` as the default).
const FALLBACK_TEAM: &str = "general";

/// A stored calendar, checked again (a spec is checked before it is
/// stored, so this fails only on a hand-edited row).
pub fn calendar(spec: &str) -> Result<Calendar, DeskError> {
    let spec: CalendarSpec =
        serde_json::from_str(spec).map_err(|e| DeskError::Internal(format!("calendar: {e}")))?;
    Calendar::new(spec).map_err(|e| DeskError::Internal(format!("calendar: {e}")))
}

/// An instant in ms as a timestamp (out-of-range values clamp to the epoch).
pub fn instant(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or_default()
}

/// The team as routing sees it, open or not at `now`.
fn as_policy_team(team: &TeamRow, now: i64) -> Team {
    Team {
        id: team.slug.clone(),
        languages: team.languages.clone(),
        regions: team.regions.clone(),
        categories: team
            .categories
            .iter()
            .filter_map(|c| Category::parse(c).ok())
            .collect(),
        skills: team.skills.clone(),
        enterprise_queue: team.enterprise_queue,
        open: calendar(&team.calendar_spec).is_ok_and(|c| c.is_open(instant(now))),
    }
}

/// The team a ticket's clocks count in: its own, else the default one.
pub async fn team_of(
    tx: &mut Transaction<'_, Any>,
    slug: Option<&str>,
) -> Result<Option<TeamRow>, DeskError> {
    let teams = rstore::teams(&mut **tx).await?;
    let own = slug.and_then(|s| teams.iter().find(|t| t.slug == s));
    Ok(own.or_else(|| teams.iter().find(|t| t.is_default)).cloned())
}

/// Routes a just-stored ticket: to a team (enterprise tier to the
/// enterprise queue), then to the least-loaded available agent under their
/// cap; both decisions recorded as events with their reasons.
pub async fn route_new(
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    now: i64,
) -> Result<(), DeskError> {
    let teams = rstore::teams(&mut **tx).await?;
    let candidates: Vec<Team> = teams.iter().map(|t| as_policy_team(t, now)).collect();
    let default = teams
        .iter()
        .find(|t| t.is_default)
        .map_or(FALLBACK_TEAM, |t| t.slug.as_str());
    let facts = TicketFacts {
        category: Category::parse(&ticket.category).unwrap_or(Category::Other),
        language: Some(ticket.language.clone()),
        region: ticket.region.clone(),
        skills: Vec::new(),
        enterprise: ticket.tier == "enterprise",
    };
    let decision = routing::route(&facts, &candidates, default);
    let detail = serde_json::json!({ "team": decision.team, "reason": decision.reason });
    store::insert_event(tx, ticket.id, None, "routed", &detail, now).await?;
    let assignee = match teams.iter().find(|t| t.slug == decision.team) {
        Some(team) => assign_in_team(tx, team.id, ticket.id, None, "routing", now).await?,
        None => None,
    };
    crate::desk::store::sla::set_routing(tx, ticket.id, &decision.team, assignee, now).await?;
    Ok(())
}

/// Picks the agent of `team_id` who takes the ticket (weighted by open
/// load, under their cap, never `except`), stamps them and records the
/// choice as an `assigned` event; `None` when nobody may take it. The
/// caller writes the assignee.
pub async fn assign_in_team(
    tx: &mut Transaction<'_, Any>,
    team_id: i64,
    ticket_id: i64,
    except: Option<i64>,
    why: &str,
    now: i64,
) -> Result<Option<i64>, DeskError> {
    // A team nobody is in (a fresh install's) takes no lock: tickets to it
    // are created in parallel.
    if rstore::members(&mut **tx, team_id).await?.is_empty() {
        return Ok(None);
    }
    // Loads are read (again) under the team's lock, in this transaction, so
    // two tickets routed at once see each other's assignment.
    rstore::lock_team(tx, team_id).await?;
    let members = rstore::members(&mut **tx, team_id).await?;
    let loads: Vec<AgentLoad> = members
        .iter()
        .filter(|m| Some(m.account_id) != except)
        .map(|m| AgentLoad {
            id: format!("{:020}", m.account_id),
            open_tickets: u32::try_from(m.open_tickets).unwrap_or(u32::MAX),
            cap: u32::try_from(m.cap).unwrap_or(0),
            available: m.available,
            last_assigned_at: m.last_assigned_at.map(instant),
        })
        .collect();
    let Some(chosen) = routing::choose_agent(&loads) else {
        return Ok(None);
    };
    let Some(member) = members
        .iter()
        .find(|m| format!("{:020}", m.account_id) == chosen)
    else {
        return Ok(None);
    };
    rstore::mark_assigned(tx, team_id, member.account_id, now).await?;
    let detail = serde_json::json!({
        "from": except,
        "to": member.account_id,
        "reason": { "by": why, "open_tickets": member.open_tickets, "cap": member.cap },
    });
    store::insert_event(tx, ticket_id, None, "assigned", &detail, now).await?;
    Ok(Some(member.account_id))
}
