//! `koban demo`: a first run that looks lived in. It fills an empty
//! database with a month of a LINE-like messenger's support desk — staff
//! and teams in three time zones, requesters with devices, sign-ins, 2FA
//! and a few locks, tickets in five languages through every category and
//! status, help articles, announcements and survey answers — by calling
//! the domains' service functions as the API would, each step at the
//! instant it "happened" (`store::as_of`), so SLA clocks, the search
//! index's change log, events and jobs are what real use would leave.
//! Deterministic: one seed, so tests can count on what it makes.

mod content;
mod data;
mod people;
mod store;
mod tickets;

use crate::state::App;
use crate::store::now_ms;
use rand::SeedableRng;

/// The demo's seed: the same desk every time.
const SEED: u64 = 0x4b6f_6261_6e21;
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
    if !store::is_empty(&app.store)
        .await
        .map_err(step("reading the database"))?
    {
        return Err(DemoError::NotEmpty);
    }
    let data = data::load().map_err(step("reading the demo's data"))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let end = now_ms();
    let start = end - DAYS * DAY_MS;
    progress("staff and teams", 0, 1);
    let staff = people::staff(app, &data.people, start - 2 * DAY_MS).await?;
    let users = people::users(app, &data.people, size, &mut rng, start, progress).await?;
    let (articles, announcements) =
        content::publish(app, &data.content, &staff, start, end).await?;
    let made = tickets::replay(
        app,
        &data,
        &staff,
        &users,
        tickets::Span { start, end },
        size.tickets(),
        &mut rng,
        progress,
    )
    .await?;
    let (two_factor, locked) = people::finish(app, &users, &mut rng).await?;
    let pick = |who: &str, password: &str| (who.to_string(), password.to_string());
    Ok(Summary {
        admin: pick(&data.people.admin, &data.people.password_admin),
        supervisor: pick(&data.people.supervisor, &data.people.password_agent),
        agent: pick(&staff.agents[0].identifier, &data.people.password_agent),
        user: pick(&users[0].identifier, &data.people.password_user),
        accounts: 2 + staff.agents.len() + users.len(),
        tickets: made.tickets,
        statuses: made.statuses,
        surveys_answered: made.surveys_answered,
        articles,
        announcements,
        locked,
        two_factor,
    })
}
