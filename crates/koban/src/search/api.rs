//! `GET /api/v1/search`: ranked, highlighted hits the caller may see.

use super::find::{self, Ask, Hit};
use super::SearchError;
use crate::http::auth::presented_token;
use crate::http::json::ApiQuery;
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use koban_policy::desk::permissions::Role;
use koban_policy::search::query;
use koban_policy::search::scope::{self, Kind, Searcher};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The most hits one page holds.
pub const MAX_LIMIT: usize = 50;
/// How deep a ranked list can be paged: past this, refine the query.
pub const MAX_OFFSET: usize = 1_000;

pub fn router() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new().routes(routes!(search))
}

choices! {
    /// A kind of document.
    pub enum KindName {
        Ticket = "ticket",
        Message = "message",
        Article = "article",
    }
}

/// The query, filters and page.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words (all must match) and "quoted phrases", in any script; nothing
    /// else is syntax. 1 to 256 characters.
    #[param(min_length = 1, max_length = 256)]
    pub q: String,
    /// Only this kind of document.
    #[param(inline)]
    pub kind: Option<KindName>,
    /// Only tickets (and their messages) in this status.
    pub status: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this team's (its slug).
    #[param(max_length = 40)]
    pub team: Option<String>,
    /// Only tickets assigned to this account.
    pub assignee: Option<i64>,
    /// Only tickets requested by this account.
    pub requester: Option<i64>,
    /// Only this organization's tickets.
    pub organization: Option<i64>,
    /// Created at or after: an RFC 3339 time, or a date (UTC).
    pub from: Option<String>,
    /// Created before: an RFC 3339 time, or a date (UTC, the whole day included).
    pub to: Option<String>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page number from 1, instead of a cursor.
    #[param(minimum = 1, maximum = 50)]
    pub page: Option<i64>,
    /// Hits per page, 1 to 50 (default 20).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
}

/// One hit.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// `ticket`, `message` or `article`.
    pub kind: &'static str,
    /// The ticket's reference number (tickets and messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article_id: Option<i64>,
    /// The ticket's subject (a message's ticket's), or the article's title.
    pub title: String,
    /// HTML: the matching passage, escaped, with matches in `<mark>`.
    pub snippet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Only staff find it: an internal note, or an article version not
    /// published.
    pub internal: bool,
    pub created_at: String,
    /// Relevance (BM25); higher first.
    pub score: f32,
}

/// A page of hits.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SearchPage {
    pub items: Vec<SearchHit>,
    /// Present when more hits follow.
    pub next_cursor: Option<String>,
    /// How many hits in all.
    pub total: u64,
}

impl From<Hit> for SearchHit {
    fn from(h: Hit) -> SearchHit {
        SearchHit {
            kind: h.kind.as_str(),
            reference: h
                .reference
                .as_deref()
                .map(crate::desk::tickets::api::formatted),
            message_id: h.message_id,
            article_id: h.article_id,
            title: h.title,
            snippet: h.snippet,
            status: h.status,
            category: h.category,
            team: h.team,
            language: h.language,
            internal: h.internal,
            created_at: jiff::Timestamp::from_millisecond(h.created_at)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            score: h.score,
        }
    }
}

/// An instant (ms) from an RFC 3339 time or a date; `end` reads a date as
/// the end of that day.
fn instant(name: &str, text: &str, end: bool) -> Result<i64, Problem> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    let date: jiff::civil::Date = text
        .parse()
        .map_err(|_| Problem::field(name, "invalid_value"))?;
    let day = if end {
        date.tomorrow()
            .map_err(|_| Problem::field(name, "invalid_value"))?
    } else {
        date
    };
    day.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|_| Problem::field(name, "invalid_value"))
}

fn offset_from(q: &SearchQuery, limit: usize) -> Result<usize, Problem> {
    let offset = match (&q.cursor, q.page) {
        (Some(_), Some(_)) => return Err(Problem::field("page", "invalid_value")),
        (Some(cursor), None) => URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse::<usize>().ok()))
            .ok_or_else(|| Problem::field("cursor", "invalid_value"))?,
        (None, Some(page)) if (1..=50).contains(&page) => (page as usize - 1) * limit,
        (None, Some(_)) => return Err(Problem::field("page", "invalid_value")),
        (None, None) => 0,
    };
    if offset > MAX_OFFSET {
        return Err(Problem::field(
            if q.page.is_some() { "page" } else { "cursor" },
            "invalid_value",
        ));
    }
    Ok(offset)
}

/// Who is asking, and the organizations whose tickets they follow.
pub type Asker = (Searcher, Vec<i64>);

/// Who is asking: signed out, or an account with its desk role (and,
/// below agents, the organizations it follows). A token that is presented
/// but not valid is refused, as everywhere else.
async fn searcher(app: &Arc<App>, headers: &HeaderMap) -> Result<Asker, Problem> {
    let Some((token, _)) = presented_token(headers) else {
        return Ok((Searcher::SignedOut, Vec::new()));
    };
    let who = app.sessions().authenticate(app, &token).await?;
    let roles: Vec<&str> = [Role::Admin, Role::Supervisor, Role::Agent]
        .into_iter()
        .filter(|r| who.has_role(r.as_str()))
        .map(Role::as_str)
        .collect();
    asker(app, who.account_id(), &roles).await
}

/// The searcher an account is, from the desk roles it holds: agents see
/// every ticket already; others also follow the organizations where they
/// hold `support.read_all`.
pub async fn asker(app: &App, account_id: i64, roles: &[&str]) -> Result<Asker, Problem> {
    let role = [Role::Admin, Role::Supervisor, Role::Agent]
        .into_iter()
        .find(|r| roles.contains(&r.as_str()))
        .unwrap_or(Role::User);
    let follows = if role >= Role::Agent {
        Vec::new()
    } else {
        crate::enterprise::support::followed_by(app, account_id)
            .await
            .map_err(|e| Problem::internal(&e))?
    };
    Ok((
        Searcher::Account {
            id: account_id,
            role,
        },
        follows,
    ))
}

/// Searches tickets, conversations and help-center articles in any
/// language, ranked by relevance with the matches highlighted. Agents
/// find every ticket and note; a signed-in requester their own tickets and
/// the public replies on them; everyone published articles.
#[utoipa::path(get, path = "/api/v1/search", tag = "search",
    security((), ("bearer" = []), ("session_cookie" = [])), params(SearchQuery),
    responses((status = 200, body = SearchPage), (status = 401), (status = 422), (status = 503)))]
pub async fn search(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<SearchPage>, Problem> {
    let asker = searcher(&app, &headers).await?;
    answer(&app, asker, &q).await.map(Json)
}

/// The page of hits `asker` may see for `q`, checked as the API checks it
/// (the search pages ask through here too).
pub async fn answer(app: &App, asker: Asker, q: &SearchQuery) -> Result<SearchPage, Problem> {
    let parsed = query::parse(&q.q).map_err(|p| Problem::field("q", p.code()))?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=MAX_LIMIT as i64).contains(&limit) {
        return Err(Problem::field("limit", "invalid_value"));
    }
    let limit = limit as usize;
    let offset = offset_from(q, limit)?;
    let checked = |name: &str, value: &Option<String>, ok: fn(&str) -> bool| match value {
        Some(v) if !ok(v) => Err(Problem::field(name, "invalid_value")),
        _ => Ok(()),
    };
    checked("status", &q.status, |v| {
        koban_policy::desk::status::Status::parse(v).is_ok()
    })?;
    checked("category", &q.category, |v| {
        koban_policy::desk::forms::Category::parse(v).is_ok()
    })?;
    if let Some(team) = &q.team {
        let known = crate::desk::store::routing::team(app.store.read(), team)
            .await
            .map_err(|e| Problem::internal(&e))?;
        if known.is_none() {
            return Err(Problem::field("team", "unknown_team"));
        }
    }
    let from = q
        .from
        .as_deref()
        .map(|t| instant("from", t, false))
        .transpose()?;
    let to =
        q.to.as_deref()
            .map(|t| instant("to", t, true))
            .transpose()?;
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return Err(Problem::field("to", "invalid_value"));
        }
    }
    let kind = q.kind.map(|k| match k {
        KindName::Ticket => Kind::Ticket,
        KindName::Message => Kind::Message,
        KindName::Article => Kind::Article,
    });
    let scope = scope::following(asker.0, &asker.1, kind);
    let ask = Ask {
        status: q.status.clone(),
        category: q.category.clone(),
        team: q.team.clone(),
        assignee: q.assignee,
        requester: q.requester,
        organization: q.organization,
        from,
        to,
        offset,
        limit,
    };
    let engine = super::state(app).engine().ok_or(SearchError::Unavailable)?;
    let found = tokio::task::spawn_blocking(move || find::run(&engine, &parsed, &scope, &ask))
        .await
        .map_err(|e| Problem::internal(&e))?
        .map_err(|e| Problem::internal(&e))?;
    let next = offset + found.hits.len();
    let next_cursor = (next < found.total && next <= MAX_OFFSET && !found.hits.is_empty())
        .then(|| URL_SAFE_NO_PAD.encode(format!("o:{next}")));
    Ok(SearchPage {
        items: found.hits.into_iter().map(SearchHit::from).collect(),
        next_cursor,
        total: found.total as u64,
    })
}
