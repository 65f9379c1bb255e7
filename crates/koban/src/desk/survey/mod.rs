//! Satisfaction surveys (CSAT): after a ticket is solved, its requester is
//! asked once, by the ticket's channel and on their ticket page, to rate it
//! 1 to 5 with an optional comment; supervisors read the answers by agent,
//! team, channel and category. The rules are `koban_policy::desk::survey`;
//! the SQL is `desk::store::surveys`.

pub mod api;
pub mod pages;
pub mod report;

use crate::crypto::random_token;
use crate::desk::error::DeskError;
use crate::desk::store::{self, surveys, TicketRow};
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use koban_policy::desk::status::Status;
use koban_policy::desk::survey::{self as rules, Due, Shut};
use sqlx::{Any, Transaction};
use std::sync::Arc;

/// The job that sends a solved ticket's survey.
pub const SURVEY_JOB: &str = "desk.survey";
/// Survey link tokens start with this, so a leaked one is recognised.
const TOKEN_PREFIX: &str = "ksv_";
const TOKEN_HASH_PURPOSE: &str = "desk-survey-token";

/// The survey job, as the desk registers it.
pub const JOB: JobKind = JobKind {
    kind: SURVEY_JOB,
    round: None,
    every_ms: None,
    run,
};

fn run<'a>(app: &'a Arc<App>, job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        let Some(ticket_id) = job.payload.get("ticket_id").and_then(|v| v.as_i64()) else {
            // A payload this version cannot read will not read better later.
            tracing::warn!(payload = %job.payload, "survey job without a ticket");
            return Ok(());
        };
        send(app, ticket_id).await.map_err(|e| e.to_string())
    })
}

/// Queues the survey of a ticket just solved, inside the change that
/// solves it: it is sent exactly when the solve commits. The key carries
/// the instant, so a ticket reopened before the job ran and solved again
/// queues it again; the survey table keeps it to one per ticket.
pub async fn queue_after_solve(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    now: i64,
) -> Result<(), crate::store::StoreError> {
    crate::jobs::enqueue(
        &mut **tx,
        SURVEY_JOB,
        &serde_json::json!({ "ticket_id": ticket_id }),
        Some(&format!("{SURVEY_JOB}:{ticket_id}:{now}")),
        now,
    )
    .await
}

fn token_hash(app: &App, token: &str) -> String {
    app.key.keyed_hash(TOKEN_HASH_PURPOSE, token.as_bytes())
}

/// The link a requester answers on.
fn link(app: &App, token: &str) -> String {
    format!("{}/support/surveys/{token}", app.config.public_base())
}

/// Sends the ticket's survey if it is due: the survey row, its event and
/// the message commit together, so a job run again after a crash finds
/// the row and sends nothing twice.
pub async fn send(app: &App, ticket_id: i64) -> Result<(), DeskError> {
    let Some(ticket) = store::ticket_by_id(app.store.read(), ticket_id).await? else {
        return Ok(());
    };
    let merged = store::merge::merged_into(app.store.read(), ticket_id)
        .await?
        .is_some();
    let surveyed = surveys::of_ticket(app.store.read(), ticket_id)
        .await?
        .is_some();
    let status = Status::parse(&ticket.status).map_err(|e| DeskError::Internal(e.to_string()))?;
    if rules::due(status, merged, surveyed) != Due::Send {
        return Ok(());
    }
    let token = format!("{TOKEN_PREFIX}{}", random_token(32));
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let to = crate::desk::tickets::notify::destination(&mut tx, &ticket).await?;
    let sent_by = to.as_ref().map(|(channel, _)| match channel {
        crate::delivery::Channel::Email => "email",
        crate::delivery::Channel::Sms => "sms",
    });
    let created = surveys::create(
        &mut tx,
        surveys::NewSurvey {
            ticket_id,
            token_hash: &token_hash(app, &token),
            sent_by,
            agent_id: ticket.assignee_id,
            team: ticket.team.as_deref(),
            channel: &ticket.channel,
            category: &ticket.category,
            sent_at: now,
        },
    )
    .await?;
    if !created {
        // Another node's run got there first.
        tx.rollback().await?;
        return Ok(());
    }
    let detail = serde_json::json!({ "by": sent_by });
    store::insert_event(&mut tx, ticket_id, None, "survey_sent", &detail, now).await?;
    if to.is_some() {
        let lang = Lang::parse(&ticket.language).unwrap_or(Lang::En);
        let reference = crate::desk::tickets::api::formatted(&ticket.reference);
        let args = [
            ("reference", reference),
            ("subject", ticket.subject.clone()),
            ("link", link(app, &token)),
        ];
        crate::desk::tickets::notify::send(
            app,
            &mut tx,
            &ticket,
            "desk_survey",
            t(lang, "survey-mail-subject", &args),
            t(lang, "survey-mail-body", &args),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Where a survey stands, as the requester and the agent see it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Satisfaction {
    /// `none` (not sent: the ticket was not solved yet), `open` (waiting
    /// for the answer), `answered`, or `expired`.
    pub state: String,
    /// The reference number of the ticket rated.
    pub reference: String,
    pub subject: String,
    /// 1 to 5, once answered.
    pub score: Option<i64>,
    pub comment: Option<String>,
    /// When the survey was sent and answered (ms since the epoch).
    pub sent_at: Option<i64>,
    pub answered_at: Option<i64>,
}

/// The answer a survey stands at now.
pub fn satisfaction(ticket: &TicketRow, survey: Option<&surveys::SurveyRow>) -> Satisfaction {
    let state = match survey {
        None => "none",
        Some(s) => match rules::open(s.score.is_some(), s.sent_at, now_ms()) {
            Ok(()) => "open",
            Err(Shut::Answered) => "answered",
            Err(Shut::Expired) => "expired",
        },
    };
    Satisfaction {
        state: state.into(),
        reference: crate::desk::tickets::api::formatted(&ticket.reference),
        subject: ticket.subject.clone(),
        score: survey.and_then(|s| s.score),
        comment: survey.and_then(|s| s.comment.clone()),
        sent_at: survey.map(|s| s.sent_at),
        answered_at: survey.and_then(|s| s.answered_at),
    }
}

/// Refuses what cannot be a link's token at all (422: a malformed request,
/// not a guess); a well-formed one that opens nothing is 404.
pub fn check_token_shape(token: &str) -> Result<(), DeskError> {
    let shaped = token.starts_with(TOKEN_PREFIX)
        && token.len() <= 128
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if shaped {
        Ok(())
    } else {
        Err(DeskError::field("token", "invalid_value"))
    }
}

/// The survey and its ticket a link token opens; unknown and expired
/// tokens answer alike (404), so a guess learns nothing.
pub async fn by_token(
    app: &App,
    token: &str,
) -> Result<(TicketRow, surveys::SurveyRow), DeskError> {
    if check_token_shape(token).is_err() {
        return Err(DeskError::NotFound);
    }
    let survey = surveys::by_token(app.store.read(), &token_hash(app, token))
        .await?
        .ok_or(DeskError::NotFound)?;
    if rules::open(false, survey.sent_at, now_ms()) == Err(Shut::Expired) {
        return Err(DeskError::NotFound);
    }
    let ticket = store::ticket_by_id(app.store.read(), survey.ticket_id)
        .await?
        .ok_or(DeskError::NotFound)?;
    Ok((ticket, survey))
}

/// Records an answer to the ticket's survey: checked first, then written
/// only if nobody answered meanwhile (the database decides), with the
/// event the agent sees on the ticket.
pub async fn answer(
    app: &App,
    ticket: &TicketRow,
    survey: Option<surveys::SurveyRow>,
    score: i64,
    comment: Option<&str>,
    by: Option<i64>,
) -> Result<Satisfaction, DeskError> {
    let (score, comment) = rules::check_answer(score, comment)
        .map_err(|(field, code)| DeskError::field(field, code))?;
    let Some(survey) = survey else {
        return Err(DeskError::Conflict("survey-not-sent"));
    };
    match rules::open(survey.score.is_some(), survey.sent_at, now_ms()) {
        Ok(()) => {}
        Err(Shut::Answered) => return Err(DeskError::Conflict("survey-answered")),
        Err(Shut::Expired) => return Err(DeskError::Conflict("survey-expired")),
    }
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let score = i64::from(score);
    if !surveys::answer(&mut tx, survey.id, score, comment.as_deref(), by, now).await? {
        tx.rollback().await?;
        return Err(DeskError::Conflict("survey-answered"));
    }
    let detail = serde_json::json!({ "score": score, "comment": comment });
    store::insert_event(&mut tx, ticket.id, by, "satisfaction", &detail, now).await?;
    tx.commit().await?;
    let answered = surveys::of_ticket(app.store.read(), ticket.id).await?;
    Ok(satisfaction(ticket, answered.as_ref()))
}
