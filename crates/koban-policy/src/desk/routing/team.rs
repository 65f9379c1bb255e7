//! Routing a ticket to a team.

use crate::desk::forms::Category;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A team as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// Stable id; the lowest wins a tie.
    pub id: String,
    /// BCP 47 tags its agents answer in (`ja`, `zh-TW`, `th`, `en`).
    pub languages: Vec<String>,
    /// ISO 3166 alpha-2 codes it covers (`JP`, `TW`, `TH`).
    pub regions: Vec<String>,
    /// The categories it handles; empty means any (a generalist team).
    pub categories: Vec<Category>,
    /// Free-form skill tags (`broadcast`, `legal`).
    pub skills: Vec<String>,
    /// Whether this is the enterprise line's queue.
    pub enterprise_queue: bool,
    /// Whether it is within business hours now, computed by the caller
    /// from the team's calendar.
    pub open: bool,
}

/// What routing knows of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketFacts {
    /// From the form or from triage.
    pub category: Category,
    /// BCP 47 tag of the requester's language, if known.
    pub language: Option<String>,
    /// ISO 3166 alpha-2 code of the requester's region, if known.
    pub region: Option<String>,
    /// Skill tags triage asked for.
    pub skills: Vec<String>,
    /// The requester is an enterprise (official) account on the enterprise line.
    pub enterprise: bool,
}

/// How well a team's categories fit; better variants compare greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryMatch {
    /// The team does not handle it (only the enterprise queue takes such).
    None,
    /// The team handles every category.
    Generalist,
    /// The team lists the category.
    Listed,
}

/// How well a team's languages fit; better variants compare greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LanguageMatch {
    /// No shared language, or the ticket's language is unknown.
    None,
    /// Same language, other variant: `zh-CN` for a `zh-TW` ticket. Readable,
    /// but the reply will be in the wrong script or usage.
    Related,
    /// The same tag, or a team tag with no variant covering the ticket's
    /// (`ja` for `ja-JP`).
    Exact,
}

/// The one criterion that set the chosen team above the runner-up, for
/// the agent to see why the ticket is theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decider {
    /// The only enterprise-queue team.
    EnterpriseQueue,
    /// The only team that handles the category.
    OnlyCandidate,
    /// It handles the category more specifically.
    Category,
    /// It speaks the requester's language better.
    Language,
    /// It covers the requester's region.
    Region,
    /// It is open now and the runner-up is not.
    Open,
    /// It has more of the skills asked for.
    Skills,
    /// Equal on every criterion; the lowest id wins.
    LowestId,
    /// No team handles the category: the default team.
    Fallback,
    /// The requester wrote to an address that belongs to this team (a
    /// desk's `security@` mailbox): they chose it.
    Address,
}

/// Why the ticket went where it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteReason {
    /// What set the chosen team apart.
    pub decided_by: Decider,
    /// Whether the ticket went to the enterprise queue.
    pub enterprise_queue: bool,
    /// How the chosen team's categories fit.
    pub category: CategoryMatch,
    /// How its languages fit.
    pub language: LanguageMatch,
    /// Whether it lists the requester's region.
    pub region: bool,
    /// Whether it was open.
    pub open: bool,
}

/// The team and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteDecision {
    /// The chosen team's id.
    pub team: String,
    /// Why.
    pub reason: RouteReason,
}

/// The ranking key, compared field by field in this order; greater is
/// better. The order is the routing policy:
/// category before language because a team that cannot act on a problem
/// is no use in any language; language before region because an agent who
/// cannot read the ticket cannot help; region before business hours
/// because a closed team that fits answers tomorrow (and its SLA clock is
/// paused meanwhile), while a misfit answers now and then hands over;
/// skills last, as a refinement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Fit {
    category: CategoryMatch,
    language: LanguageMatch,
    region: bool,
    open: bool,
    skills: usize,
}

/// Routes a ticket. Enterprise tickets go to an enterprise-queue team
/// whatever their category; other tickets to the best-fitting team that
/// handles their category (never the enterprise queue, which must not be
/// flooded by personal accounts), and to `default_team` when none does.
/// Ties go to the lowest team id.
pub fn route(facts: &TicketFacts, teams: &[Team], default_team: &str) -> RouteDecision {
    let enterprise: Vec<&Team> = teams.iter().filter(|t| t.enterprise_queue).collect();
    let (candidates, enterprise_queue) = if facts.enterprise && !enterprise.is_empty() {
        (enterprise, true)
    } else {
        let regular = teams
            .iter()
            .filter(|t| !t.enterprise_queue && category_match(facts, t) != CategoryMatch::None)
            .collect();
        (regular, false)
    };
    let mut ranked: Vec<(Fit, &Team)> =
        candidates.into_iter().map(|t| (fit(facts, t), t)).collect();
    ranked.sort_by(|(fa, a), (fb, b)| fb.cmp(fa).then_with(|| a.id.cmp(&b.id)));

    let Some((best, team)) = ranked.first() else {
        let known = teams.iter().find(|t| t.id == default_team);
        let f = known.map(|t| fit(facts, t));
        return RouteDecision {
            team: default_team.to_string(),
            reason: RouteReason {
                decided_by: Decider::Fallback,
                enterprise_queue: false,
                category: f.map_or(CategoryMatch::None, |f| f.category),
                language: f.map_or(LanguageMatch::None, |f| f.language),
                region: f.is_some_and(|f| f.region),
                open: f.is_some_and(|f| f.open),
            },
        };
    };
    let decided_by = match ranked.get(1) {
        None if enterprise_queue => Decider::EnterpriseQueue,
        None => Decider::OnlyCandidate,
        Some((runner_up, _)) => decider(best, runner_up),
    };
    RouteDecision {
        team: team.id.clone(),
        reason: RouteReason {
            decided_by,
            enterprise_queue,
            category: best.category,
            language: best.language,
            region: best.region,
            open: best.open,
        },
    }
}

fn decider(best: &Fit, runner_up: &Fit) -> Decider {
    let steps = [
        (best.category.cmp(&runner_up.category), Decider::Category),
        (best.language.cmp(&runner_up.language), Decider::Language),
        (best.region.cmp(&runner_up.region), Decider::Region),
        (best.open.cmp(&runner_up.open), Decider::Open),
        (best.skills.cmp(&runner_up.skills), Decider::Skills),
    ];
    steps
        .into_iter()
        .find(|(o, _)| *o != Ordering::Equal)
        .map_or(Decider::LowestId, |(_, d)| d)
}

fn fit(facts: &TicketFacts, team: &Team) -> Fit {
    let language = match &facts.language {
        Some(wanted) => team
            .languages
            .iter()
            .map(|l| language_match(wanted, l))
            .max()
            .unwrap_or(LanguageMatch::None),
        None => LanguageMatch::None,
    };
    let region = facts.region.as_deref().is_some_and(|r| {
        team.regions
            .iter()
            .any(|t| t.eq_ignore_ascii_case(r.trim()))
    });
    Fit {
        category: category_match(facts, team),
        language,
        region,
        open: team.open,
        skills: facts
            .skills
            .iter()
            .filter(|s| team.skills.contains(s))
            .count(),
    }
}

fn category_match(facts: &TicketFacts, team: &Team) -> CategoryMatch {
    if team.categories.contains(&facts.category) {
        CategoryMatch::Listed
    } else if team.categories.is_empty() {
        CategoryMatch::Generalist
    } else {
        CategoryMatch::None
    }
}

/// How a team's language tag serves a ticket's, by BCP 47 subtags compared
/// without case (`zh-tw` is `zh-TW`; `_` is read as `-`).
pub fn language_match(ticket: &str, team: &str) -> LanguageMatch {
    let norm = |s: &str| s.trim().replace('_', "-").to_ascii_lowercase();
    let (ticket, team) = (norm(ticket), norm(team));
    let primary = |s: &str| s.split('-').next().unwrap_or("").to_string();
    if ticket.is_empty() || team.is_empty() {
        LanguageMatch::None
    } else if ticket == team || (!team.contains('-') && primary(&ticket) == team) {
        LanguageMatch::Exact
    } else if primary(&ticket) == primary(&team) {
        LanguageMatch::Related
    } else {
        LanguageMatch::None
    }
}
