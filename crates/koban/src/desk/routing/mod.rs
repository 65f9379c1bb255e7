//! Routing a new ticket to a team and an agent: reads the teams and their
//! business hours (before the ticket's transaction when it is opened
//! through the API), asks `koban_policy::desk::routing`, reads the agents'
//! loads under the team's lock, and records each decision with its reason
//! as a ticket event.

pub mod escalate;
pub mod recompute;
pub mod sla;
pub mod sla_notice;

use crate::desk::error::DeskError;
use crate::desk::store::routing::{self as rstore, TeamRow};
use crate::desk::store::settings::PolicyRow;
use crate::desk::store::{self, TicketRow};
use jiff::Timestamp;
use koban_policy::desk::calendar::{Calendar, CalendarSpec};
use koban_policy::desk::forms::Category;
use koban_policy::desk::routing::{self, AgentLoad, RouteDecision, Team, TicketFacts};
use sqlx::{Any, AnyConnection, Transaction};

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

/// What routing and the SLA read for a new ticket: the teams, which of
/// them have members, and the SLA policies. A ticket opened through the API
/// reads them from a reader before its transaction, so the one writer does
/// not wait on them; a change made in between applies from the next ticket,
/// as if this one had come a moment earlier.
pub struct Setup {
    pub teams: Vec<TeamRow>,
    staffed: Vec<i64>,
    pub policies: Vec<PolicyRow>,
}

impl Setup {
    /// Reads the setup through `conn` (a reader's, or a transaction's).
    pub async fn read(conn: &mut AnyConnection) -> Result<Setup, DeskError> {
        Ok(Setup {
            teams: rstore::teams(&mut *conn).await?,
            staffed: rstore::staffed_teams(&mut *conn).await?,
            policies: crate::desk::store::settings::policies(&mut *conn).await?,
        })
    }

    /// The team `ticket` goes to at `now` (enterprise tier to the
    /// enterprise queue), and why.
    pub fn route(&self, ticket: &TicketRow, now: i64) -> RouteDecision {
        let candidates: Vec<Team> = self.teams.iter().map(|t| as_policy_team(t, now)).collect();
        let default = self
            .teams
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
        routing::route(&facts, &candidates, default)
    }

    /// [`Setup::route`], unless the requester chose a team that exists
    /// (by the address they wrote to): then that team.
    pub fn route_to(&self, ticket: &TicketRow, chosen: Option<&str>, now: i64) -> RouteDecision {
        let mut decision = self.route(ticket, now);
        if let Some(team) = chosen.and_then(|c| self.teams.iter().find(|t| t.slug == c)) {
            if decision.team != team.slug {
                let fit = as_policy_team(team, now);
                decision.team = team.slug.clone();
                decision.reason.decided_by = koban_policy::desk::routing::Decider::Address;
                decision.reason.enterprise_queue = fit.enterprise_queue;
                decision.reason.open = fit.open;
            }
        }
        decision
    }

    /// The team with `slug`, else the default one: whose calendar a
    /// ticket's clocks count in.
    pub fn team_or_default(&self, slug: Option<&str>) -> Option<&TeamRow> {
        let own = slug.and_then(|s| self.teams.iter().find(|t| t.slug == s));
        own.or_else(|| self.teams.iter().find(|t| t.is_default))
    }

    /// The team a ticket so routed goes to, if it has agents to assign.
    fn staffed_team(&self, decision: &RouteDecision) -> Option<i64> {
        self.teams
            .iter()
            .find(|t| t.slug == decision.team)
            .map(|t| t.id)
            .filter(|id| self.staffed.contains(id))
    }

    /// Whether [`Setup::assign`] may assign a ticket so routed (its team
    /// has agents), and so reads and writes in the transaction.
    pub fn may_assign(&self, decision: &RouteDecision) -> bool {
        self.staffed_team(decision).is_some()
    }

    /// Hands a routed ticket to an agent of its team (see
    /// [`assign_in_team`]); a team nobody was in when the setup was read
    /// takes no lock, so tickets to it are created in parallel.
    pub async fn assign(
        &self,
        tx: &mut Transaction<'_, Any>,
        decision: &RouteDecision,
        ticket_id: i64,
        now: i64,
    ) -> Result<Option<i64>, DeskError> {
        match self.staffed_team(decision) {
            Some(team) => assign_in_team(tx, team, ticket_id, None, "routing", now).await,
            None => Ok(None),
        }
    }
}

/// The `routed` event's detail.
pub fn routed_detail(decision: &RouteDecision) -> serde_json::Value {
    serde_json::json!({ "team": decision.team, "reason": decision.reason })
}

/// Routes a just-stored ticket (a follow-up, a split): to a team, then to
/// the least-loaded available agent under their cap; both decisions
/// recorded as events with their reasons.
pub async fn route_new(
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    now: i64,
) -> Result<(), DeskError> {
    let setup = Setup::read(tx).await?;
    let decision = setup.route(ticket, now);
    store::insert_event(
        tx,
        ticket.id,
        None,
        "routed",
        &routed_detail(&decision),
        now,
    )
    .await?;
    let assignee = setup.assign(tx, &decision, ticket.id, now).await?;
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
