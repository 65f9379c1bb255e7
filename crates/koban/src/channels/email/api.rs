//! The JSON API of the mails waiting for an agent (see [`super::review`]).

use super::review::{self, PlaceError, Placement};
use super::store::Listed;
use crate::http::auth::{Staff, AGENT};
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

choices! {
    /// Which mails: those waiting for an agent (`waiting`: review, held,
    /// unreadable), one status, or `all`.
    pub enum DeskMailFilter {
        Waiting = "waiting",
        Review = "review",
        Held = "held",
        Automatic = "automatic",
        Unreadable = "unreadable",
        Bounce = "bounce",
        Discarded = "discarded",
        All = "all",
    }
}

/// Which mails, and the page.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeskMailQuery {
    /// Default `waiting`.
    #[param(inline)]
    pub status: Option<DeskMailFilter>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// An inbound mail as an agent sees it in the list.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskMail {
    pub id: i64,
    /// received, joined, opened, review, held, automatic, bounce,
    /// unreadable or discarded.
    pub status: String,
    /// `smtp`, or `imap:<mailbox>`.
    pub source: String,
    /// The From address (lower-cased), once read.
    pub sender: Option<String>,
    pub subject: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub received_at: i64,
    /// The ticket it is on, grouped (`2612-0345-678`).
    pub ticket: Option<String>,
    /// The ticket it pointed at, when it did not join it.
    pub related: Option<String>,
    /// How it pointed there: reply_address, in_reply_to, references or subject.
    pub clue: Option<String>,
    /// person, auto_reply, bulk or bounce.
    pub automation: Option<String>,
    /// A trusted relay said the sender is not who From says.
    pub spoofed: bool,
    /// What was wrong with the mail and contained.
    pub problems: Vec<String>,
    /// Why it could not be read, for an unreadable one.
    pub error: Option<String>,
}

fn view(listed: &Listed, related: Option<String>) -> DeskMail {
    let d = &listed.detail;
    let text = |k: &str| d[k].as_str().map(str::to_string);
    let grouped = |r: &str| crate::desk::tickets::api::formatted(r);
    DeskMail {
        id: listed.id,
        status: listed.status.clone(),
        source: listed.source.clone(),
        sender: listed.sender.clone(),
        subject: text("subject"),
        received_at: listed.received_at,
        ticket: listed.ticket_reference.as_deref().map(grouped),
        related: related.as_deref().map(grouped),
        clue: text("clue"),
        automation: text("automation"),
        spoofed: d["spoofed"].as_bool().unwrap_or(false),
        problems: d["problems"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        error: text("error"),
    }
}

/// Inbound mails, newest first: by default those waiting for an agent.
#[utoipa::path(get, path = "/api/v1/desk/mail", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(DeskMailQuery),
    responses((status = 200, body = Page<DeskMail>), (status = 401), (status = 403), (status = 422)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Staff(_agent): Staff<AGENT>,
    ApiQuery(q): ApiQuery<DeskMailQuery>,
) -> Result<Json<Page<DeskMail>>, Problem> {
    let (before, limit) = PageQuery {
        cursor: q.cursor,
        limit: q.limit,
    }
    .bounds()?;
    let one: [&str; 1];
    let statuses: &[&str] = match q.status.unwrap_or(DeskMailFilter::Waiting) {
        DeskMailFilter::Waiting => &review::WAITING,
        DeskMailFilter::All => &review::ALL,
        other => {
            one = [other.as_str()];
            &one
        }
    };
    let rows = review::list(&app, statuses, before, limit + 1)
        .await
        .map_err(|e| Problem::internal(&e))?;
    let items: Vec<DeskMail> = rows.iter().map(|(l, r)| view(l, r.clone())).collect();
    Ok(Json(page(items, limit, |m| m.id)))
}

choices! {
    /// What to do with a waiting mail.
    pub enum DeskMailAction {
        Join = "join",
        Open = "open",
        Discard = "discard",
    }
}

/// An agent's decision on a waiting mail.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskMailPlacement {
    /// `join` puts it on `ticket`'s conversation as the requester's
    /// message; `open` opens a ticket with it; `discard` keeps it on no
    /// ticket. An unreadable mail or a bounce can only be discarded.
    pub action: DeskMailAction,
    /// For `join`: the ticket's reference number.
    #[schema(
        pattern = "^[ \\u{00A0}\\u{3000}.\\-\\u{2010}-\\u{2015}\\u{2212}\\u{30FC}\\u{FF0D}]*(?:[0-9\\u{FF10}-\\u{FF19}][ \\u{00A0}\\u{3000}.\\-\\u{2010}-\\u{2015}\\u{2212}\\u{30FC}\\u{FF0D}]*){11}$"
    )]
    pub ticket: Option<String>,
}

/// Places a waiting mail: on a ticket, as a ticket of its own, or nowhere.
#[utoipa::path(post, path = "/api/v1/desk/mail/{id}/place", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "The mail's id", minimum = 1)),
    request_body = DeskMailPlacement,
    responses((status = 200, body = DeskMail), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "Placed already, or only discarding is left"), (status = 422)))]
pub async fn place(
    State(app): State<Arc<App>>,
    Staff(agent): Staff<AGENT>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DeskMailPlacement>,
) -> Result<(StatusCode, Json<DeskMail>), Problem> {
    let placement = match (input.action, input.ticket) {
        (DeskMailAction::Join, Some(ticket)) => Placement::Join(ticket),
        (DeskMailAction::Join, None) => return Err(Problem::field("ticket", "required")),
        (_, Some(_)) => return Err(Problem::field("ticket", "unknown_field")),
        (DeskMailAction::Open, None) => Placement::Open,
        (DeskMailAction::Discard, None) => Placement::Discard,
    };
    match review::place(&app, agent.account_id(), id, placement).await {
        Ok((listed, related)) => Ok((StatusCode::OK, Json(view(&listed, related)))),
        Err(PlaceError::NotFound) => Err(Problem::not_found()),
        Err(PlaceError::Placed) => Err(Problem::new(
            StatusCode::CONFLICT,
            "mail-placed",
            "problem-mail-placed",
        )),
        Err(PlaceError::NoTicket) => Err(Problem::field("ticket", "ticket_unknown")),
        Err(PlaceError::Email(e)) => Err(Problem::internal(&e)),
    }
}
