//! A month of the desk, replayed ticket by ticket: each opened by its
//! requester at its instant, answered (or not) by an agent of the team
//! routing chose, replied to, put on hold, solved, closed and rated, each
//! step at the instant it happens. Tickets nobody answered in time are
//! left for the SLA clocks to mark breached.

use super::data::{Data, Voice};
use super::people::{Staff, User};
use super::{step, DemoError, Progress, DAY_MS, HOUR_MS};
use crate::accounts::sessions::Current;
use crate::desk::console::{self, Assign, Changes};
use crate::desk::store::TicketRow;
use crate::desk::tickets::service::{self, Opening, Requester, Standing};
use crate::desk::DeskError;
use crate::state::App;
use crate::store::{as_of, StoreError};
use koban_policy::desk::forms::{default_form, Category, Field};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::BTreeMap;

const MINUTE_MS: i64 = 60_000;

/// The month being replayed: nothing happens at or after `end` (now).
#[derive(Clone, Copy)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

/// What the replay made.
pub struct Made {
    pub tickets: usize,
    pub statuses: BTreeMap<String, usize>,
    pub surveys_answered: usize,
}

/// Where a ticket's story ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Unanswered,
    WaitingOnRequester,
    RequesterAnswered,
    OnHold,
    Solved,
}

fn fate(rng: &mut StdRng) -> Fate {
    match rng.gen_range(0..100) {
        0..=11 => Fate::Unanswered,
        12..=24 => Fate::WaitingOnRequester,
        25..=33 => Fate::RequesterAnswered,
        34..=38 => Fate::OnHold,
        _ => Fate::Solved,
    }
}

/// How long the first answer takes: mostly within the hour's targets,
/// some a day, a few days (breached).
fn first_response_delay(rng: &mut StdRng) -> i64 {
    match rng.gen_range(0..100) {
        0..=69 => rng.gen_range(5 * MINUTE_MS..4 * HOUR_MS),
        70..=89 => rng.gen_range(4 * HOUR_MS..DAY_MS),
        _ => rng.gen_range(DAY_MS..3 * DAY_MS),
    }
}

/// The value a requester types into a required field.
fn field_value(field: Field, user: &User, happened: i64) -> Option<String> {
    let at = jiff::Timestamp::from_millisecond(happened).ok()?;
    Some(match field {
        Field::ContactUsed => user.identifier.clone(),
        Field::HappenedAt => at.to_string(),
        Field::DeviceOs => "iOS 18.1".into(),
        Field::DeviceOsVersion => "18.1".into(),
        Field::ClientVersion => "14.2.0".into(),
        Field::ErrorText => "E-1023".into(),
        Field::Steps => "1. Open the app 2. Sign in 3. The error appears".into(),
        Field::Subject | Field::Body | Field::Screenshot => return None,
    })
}

fn pick<'a>(rng: &mut StdRng, from: &'a [String]) -> &'a str {
    from.choose(rng).map(String::as_str).unwrap_or("…")
}

/// Replays `count` tickets over `span`.
#[allow(clippy::too_many_arguments)]
pub async fn replay(
    app: &App,
    data: &Data,
    staff: &Staff,
    users: &[User],
    span: Span,
    count: usize,
    rng: &mut StdRng,
    progress: Progress<'_>,
) -> Result<Made, DemoError> {
    // When each ticket opens: spread over the month, busier on weekdays'
    // working hours in the requesters' part of the world (UTC+7 to +9).
    let mut opened: Vec<i64> = (0..count)
        .map(|_| {
            let day = rng.gen_range(0..(span.end - span.start) / DAY_MS);
            let hour = rng.gen_range(0..24).max(rng.gen_range(0..14));
            span.start + day * DAY_MS + hour * HOUR_MS + rng.gen_range(0..HOUR_MS)
        })
        .filter(|at| *at < span.end - HOUR_MS)
        .collect();
    opened.sort_unstable();
    let mut made = Made {
        tickets: 0,
        statuses: BTreeMap::new(),
        surveys_answered: 0,
    };
    let total = opened.len() as u64;
    for (n, at) in opened.into_iter().enumerate() {
        progress("tickets", n as u64, total);
        let user = &users[rng.gen_range(0..users.len())];
        let voice = data.voices.get(user.lang).ok_or_else(|| DemoError::Step {
            step: "reading the demo's data".into(),
            error: format!("nothing written in {}", user.lang),
        })?;
        let text = &voice.tickets[n % voice.tickets.len()];
        let story = Story {
            app,
            staff,
            user,
            voice,
            span,
        };
        let (reference, answered) = story.live(text, at, n, rng).await?;
        let status = story.seen(&user.current, &reference).await?.status;
        made.tickets += 1;
        *made.statuses.entry(status).or_default() += 1;
        made.surveys_answered += usize::from(answered);
    }
    progress("tickets", total, total);
    Ok(made)
}

/// One ticket of `user`'s, opened at `at` and lived up to `span.end` like
/// the month's others (`n` picks its channel); its reference, its status
/// now, and whether its survey was answered.
#[allow(clippy::too_many_arguments)]
pub async fn one(
    app: &App,
    data: &Data,
    staff: &Staff,
    user: &User,
    text: &super::data::TicketText,
    at: i64,
    n: usize,
    span: Span,
    rng: &mut StdRng,
) -> Result<(String, String, bool), DemoError> {
    let voice = data.voices.get(user.lang).ok_or_else(|| DemoError::Step {
        step: "reading the demo's data".into(),
        error: format!("nothing written in {}", user.lang),
    })?;
    let story = Story {
        app,
        staff,
        user,
        voice,
        span,
    };
    let (reference, answered) = story.live(text, at, n, rng).await?;
    let status = story.seen(&user.current, &reference).await?.status;
    Ok((reference, status, answered))
}

/// One ticket's life.
struct Story<'a> {
    app: &'a App,
    staff: &'a Staff,
    user: &'a User,
    voice: &'a Voice,
    span: Span,
}

impl Story<'_> {
    /// The agent who answers `ticket`: its assignee, else one of its team.
    fn agent_for(&self, ticket: &TicketRow, rng: &mut StdRng) -> &Current {
        let agents = &self.staff.agents;
        if let Some(a) = agents
            .iter()
            .find(|a| Some(a.current.account.id) == ticket.assignee_id)
        {
            return &a.current;
        }
        let team: Vec<_> = agents
            .iter()
            .filter(|a| ticket.team.as_deref() == Some(a.team.as_str()))
            .collect();
        match team.choose(rng) {
            Some(a) => &a.current,
            None => &agents[rng.gen_range(0..agents.len())].current,
        }
    }

    async fn seen(&self, who: &Current, reference: &str) -> Result<TicketRow, DemoError> {
        Ok(service::visible(self.app, who, reference)
            .await
            .map_err(step("reading a ticket"))?
            .0)
    }

    /// Opens the ticket at `at` and lives its story up to now; its
    /// reference and whether its survey was answered.
    async fn live(
        &self,
        text: &super::data::TicketText,
        at: i64,
        n: usize,
        rng: &mut StdRng,
    ) -> Result<(String, bool), DemoError> {
        let app = self.app;
        let user = self.user;
        let category = Category::parse(&text.category).map_err(step("reading a category"))?;
        let happened = at - rng.gen_range(10 * MINUTE_MS..12 * HOUR_MS);
        let fields = default_form(category)
            .required
            .into_iter()
            .filter_map(|f| Some((f.as_str().to_string(), field_value(f, user, happened)?)))
            .collect();
        let opening = Opening {
            category: Some(text.category.clone()),
            subject: text.subject.clone(),
            body: text.body.clone(),
            fields,
            language: user.lang.to_string(),
            region: Some(user.region.clone()),
            time_zone: Some(user.zone.to_string()),
            channel: if n.is_multiple_of(5) { "line" } else { "web" },
            share_security_context: n.is_multiple_of(2),
            attachments: vec![],
            team: None,
            origin: None,
        };
        let opened = as_of(
            at,
            service::open(app, Requester::Account(&user.current), opening),
        )
        .await
        .map_err(step(&format!("opening “{}”", text.subject)))?;
        let reference =
            service::parse_reference(&opened.reference).map_err(step("reading a reference"))?;
        let fate = fate(rng);
        let mut now = at + first_response_delay(rng);
        if fate == Fate::Unanswered || now >= self.span.end {
            return Ok((reference, false));
        }
        // The first answer, claiming the ticket; a stolen account is urgent.
        let agent = {
            let ticket = self.seen(&user.current, &reference).await?;
            self.agent_for(&ticket, rng)
        };
        let first = pick(rng, &self.voice.agent_first);
        let changes = Changes {
            priority: (category == Category::AccountStolen).then(|| "urgent".to_string()),
            status: match fate {
                Fate::OnHold => Some("on_hold".into()),
                Fate::WaitingOnRequester => Some("pending".into()),
                _ => None,
            },
            ..Changes::default()
        };
        as_of(now, async {
            self.write(agent, &reference, Standing::Agent, first)
                .await?;
            self.set(agent, &reference, changes, true).await
        })
        .await?;
        if matches!(fate, Fate::WaitingOnRequester | Fate::OnHold) {
            return Ok((reference, false));
        }
        // The requester writes back (always before an open end, half the
        // time before a solve).
        now += rng.gen_range(20 * MINUTE_MS..20 * HOUR_MS);
        if fate == Fate::RequesterAnswered || rng.gen_bool(0.5) {
            if now >= self.span.end {
                return Ok((reference, false));
            }
            let reply = pick(rng, &self.voice.requester_reply);
            as_of(
                now,
                self.write(&user.current, &reference, Standing::Requester, reply),
            )
            .await?;
            if fate == Fate::RequesterAnswered {
                return Ok((reference, false));
            }
            now += rng.gen_range(30 * MINUTE_MS..2 * DAY_MS);
        }
        if now >= self.span.end {
            return Ok((reference, false));
        }
        // Solved, with the survey sent as the solve's job would.
        let solve = pick(rng, &self.voice.agent_solve);
        let solved = Changes {
            status: Some("solved".into()),
            ..Changes::default()
        };
        as_of(now, async {
            self.write(agent, &reference, Standing::Agent, solve)
                .await?;
            let id = self.set(agent, &reference, solved, false).await?;
            retried("sending a survey", || crate::desk::survey::send(app, id)).await
        })
        .await?;
        let mut answered = false;
        let rated = now + rng.gen_range(10 * MINUTE_MS..20 * HOUR_MS);
        if rng.gen_bool(0.6) && rated < self.span.end {
            let score = *[5, 5, 5, 4, 4, 4, 3, 2, 1].choose(rng).unwrap_or(&5);
            let comment = rng.gen_bool(0.5).then(|| pick(rng, &self.voice.comments));
            let rate = || {
                crate::desk::survey::api::rate_ticket(
                    app,
                    &user.current,
                    &reference,
                    score,
                    comment,
                )
            };
            as_of(rated, retried("answering a survey", rate)).await?;
            answered = true;
        }
        // Old solved tickets are closed by their agent now and then.
        let closing = now + 4 * DAY_MS;
        if closing < self.span.end && rng.gen_bool(0.4) {
            let close = Changes {
                status: Some("closed".into()),
                ..Changes::default()
            };
            as_of(closing, self.set(agent, &reference, close, false)).await?;
        }
        Ok((reference, answered))
    }

    /// A public message on the ticket from `who`.
    async fn write(
        &self,
        who: &Current,
        reference: &str,
        standing: Standing,
        body: &str,
    ) -> Result<(), DemoError> {
        retried("writing on a ticket", || async {
            let (ticket, _) = service::visible(self.app, who, reference).await?;
            service::add_message(self.app, who, &ticket, standing, body, true).await
        })
        .await
        .map(|_| ())
    }

    /// `changes` by `agent` (who also claims the ticket when `claim` and
    /// nobody has it); the ticket's id.
    async fn set(
        &self,
        agent: &Current,
        reference: &str,
        changes: Changes,
        claim: bool,
    ) -> Result<i64, DemoError> {
        retried("changing a ticket", || async {
            let (ticket, _) = service::visible(self.app, agent, reference).await?;
            let mut changes = changes.clone();
            if claim && ticket.assignee_id.is_none() {
                changes.assign = Some(Assign::Claim);
            }
            console::update(self.app, agent, &ticket, changes).await?;
            Ok(ticket.id)
        })
        .await
    }
}

/// Whether `error` is a race with a running server's jobs, which touch the
/// same tickets (SLA clocks coming due, routing): worth another try.
fn transient(error: &DeskError) -> bool {
    match error {
        DeskError::Taken => true,
        DeskError::Store(StoreError::Sqlx(sqlx::Error::Database(e))) => {
            matches!(e.code().as_deref(), Some("40P01" | "40001"))
        }
        _ => false,
    }
}

/// Runs `attempt` until it succeeds, fails for good, or has lost five
/// races in a row.
async fn retried<T, Fut>(what: &str, mut attempt: impl FnMut() -> Fut) -> Result<T, DemoError>
where
    Fut: std::future::Future<Output = Result<T, DeskError>>,
{
    let mut lost = 0;
    loop {
        match attempt().await {
            Err(e) if transient(&e) && lost < 5 => {
                lost += 1;
                tokio::time::sleep(std::time::Duration::from_millis(25 * lost)).await;
            }
            done => return done.map_err(step(what)),
        }
    }
}
