//! `koban demo`: a first run that looks lived in. It fills an empty
//! database with a month of a LINE-like messenger's support desk — staff
//! and teams in three time zones, requesters with devices, sign-ins, 2FA
//! and a few locks, tickets in five languages through every category and
//! status, help articles, announcements and survey answers, and two
//! organizations (an enterprise-plan company with its roles, policy,
//! frozen device, audit chain and access review, and a standard shop)
//! whose members write on the support line — by calling
//! the domains' service functions as the API would, each step at the
//! instant it "happened" (`store::as_of`), so SLA clocks, the search
//! index's change log, events and jobs are what real use would leave.
//! Deterministic: one seed, so tests can count on what it makes.

mod content;
mod data;
mod orgs;
mod orgs_life;
mod people;
mod store;
mod tickets;

use crate::state::App;
use crate::store::now_ms;
use rand::SeedableRng;

/// The demo's seed: the same desk every time.
const SEED: u64 = 0x4b6f_6261_6e21;
/// Mixed into the seed for the organizations' own stream.
const ORG_SEED: u64 = 0x4f72_6773;
/// How far back the invented month starts.
const DAYS: i64 = 30;
pub(crate) const HOUR_MS: i64 = 3_600_000;
pub(crate) const DAY_MS: i64 = 24 * HOUR_MS;

/// How much to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// A desk that looks alive: every requester, about 300 tickets.
    Full,
    /// Two requesters per language and 40 tickets: for tests.
    Small,
}

impl Size {
    /// `full` or `small`.
    pub fn parse(name: &str) -> Option<Size> {
        match name {
            "full" => Some(Size::Full),
            "small" => Some(Size::Small),
            _ => None,
        }
    }

    fn tickets(self) -> usize {
        match self {
            Size::Full => 300,
            Size::Small => 40,
        }
    }

    fn users_per_language(self) -> usize {
        match self {
            Size::Full => usize::MAX,
            Size::Small => 2,
        }
    }
}

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// It fills a fresh installation only, and changed nothing.
    #[error("the database already has accounts or tickets; the demo fills an empty one only (point --database-url at a new database)")]
    NotEmpty,
    /// Its invented people's mail must stay in the development outbox
    /// (their invitations are answered from it); nothing was changed.
    #[error("delivery_mode is \"live\": the demo's invented people would be mailed for real; run it with delivery_mode = \"outbox\" (the default)")]
    LiveDelivery,
    /// A service refused or failed; `step` says which.
    #[error("{step}: {error}")]
    Step { step: String, error: String },
}

/// A [`DemoError::Step`] maker for `map_err`.
pub(crate) fn step<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> DemoError + '_ {
    move |e| DemoError::Step {
        step: what.to_string(),
        error: e.to_string(),
    }
}

/// Who to sign in as, and what was made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// (identifier, password)
    pub admin: (String, String),
    pub supervisor: (String, String),
    pub agent: (String, String),
    pub user: (String, String),
    /// The owner of the enterprise-plan organization.
    pub enterprise_owner: (String, String),
    /// The owner of the standard-plan shop, which allows sign-in from
    /// Thailand only (so not printed).
    pub shop_owner: (String, String),
    pub organizations: usize,
    /// Members of the organizations, suspended ones included.
    pub members: usize,
    /// Of `tickets`, those opened on an organization's support line.
    pub enterprise_tickets: usize,
    pub accounts: usize,
    pub tickets: usize,
    /// Tickets by status.
    pub statuses: std::collections::BTreeMap<String, usize>,
    pub surveys_answered: usize,
    pub articles: usize,
    pub announcements: usize,
    pub locked: usize,
    pub two_factor: usize,
}

/// What the progress bar is told: a stage, steps done, steps in all.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// Fills the empty database behind `app`; refuses (changing nothing) when
/// it has accounts or tickets already.
pub async fn run(app: &App, size: Size, progress: Progress<'_>) -> Result<Summary, DemoError> {
    if app.config.delivery_mode == "live" {
        return Err(DemoError::LiveDelivery);
    }
    if !store::is_empty(&app.store)
        .await
        .map_err(step("reading the database"))?
    {
        return Err(DemoError::NotEmpty);
    }
    let data = data::load().map_err(step("reading the demo's data"))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    // The organizations draw from their own stream, so the desk's month
    // is the one it was before they existed.
    let mut org_rng = rand::rngs::StdRng::seed_from_u64(SEED ^ ORG_SEED);
    let end = now_ms();
    let start = end - DAYS * DAY_MS;
    let span = tickets::Span { start, end };
    progress("staff and teams", 0, 1);
    let staff = people::staff(app, &data.people, start - 2 * DAY_MS).await?;
    let users = people::users(app, &data.people, size, &mut rng, start, progress).await?;
    let founding = |numbers: usize, at: i64, plan| orgs::Setting {
        people: &data.people,
        staff: &staff,
        users: &users,
        numbers,
        at,
        plan,
    };
    let company = &data.orgs.enterprise;
    let shop = &data.orgs.standard;
    let enterprise = orgs::found(
        app,
        company,
        founding(100, start - 20 * HOUR_MS, "enterprise"),
        progress,
    )
    .await?;
    let standard = orgs::found(
        app,
        shop,
        founding(130, start - 6 * HOUR_MS, "standard"),
        progress,
    )
    .await?;
    let org_two_factor = orgs_life::live(app, company, &enterprise, span, &mut org_rng).await?
        + orgs_life::live(app, shop, &standard, span, &mut org_rng).await?;
    let (articles, announcements) =
        content::publish(app, &data.content, &staff, start, end).await?;
    let mut made = tickets::replay(
        app,
        &data,
        &staff,
        &users,
        span,
        size.tickets(),
        &mut rng,
        progress,
    )
    .await?;
    let (enterprise_tickets, statuses, answered) = orgs_life::tickets(
        app,
        &data,
        &staff,
        [(company, &enterprise), (shop, &standard)],
        span,
        &mut org_rng,
    )
    .await?;
    made.tickets += enterprise_tickets;
    made.surveys_answered += answered;
    for (status, n) in statuses {
        *made.statuses.entry(status).or_default() += n;
    }
    let (two_factor, locked) = people::finish(app, &users, &mut rng).await?;
    let pick = |who: &str, password: &str| (who.to_string(), password.to_string());
    let org_people = enterprise.people.len() + standard.people.len();
    Ok(Summary {
        admin: pick(&data.people.admin, &data.people.password_admin),
        supervisor: pick(&data.people.supervisor, &data.people.password_agent),
        agent: pick(&staff.agents[0].identifier, &data.people.password_agent),
        user: pick(&users[0].identifier, &data.people.password_user),
        enterprise_owner: pick(&enterprise.owner().identifier, &data.people.password_user),
        shop_owner: pick(&standard.owner().identifier, &data.people.password_user),
        organizations: 2,
        members: enterprise.members() + standard.members(),
        enterprise_tickets,
        accounts: 2 + staff.agents.len() + users.len() + org_people,
        tickets: made.tickets,
        statuses: made.statuses,
        surveys_answered: made.surveys_answered,
        articles,
        announcements,
        locked,
        two_factor: two_factor + org_two_factor,
    })
}
