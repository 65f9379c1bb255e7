//! The audit log over HTTP: verification, a filtered listing newest first
//! with cursor paging, and export to CSV or JSON.

use super::store::{self, EntryRow, Filter};
use super::Verification;
use crate::http::auth::{Signed, Staff, ADMIN};
use crate::http::json::{ApiPath, ApiQuery};
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// Most entries one export carries; narrow the filter for more.
pub const EXPORT_MAX: i64 = 100_000;

/// Whether `account` may read the chain of `scope` here. The platform's
/// chain: desk admins. An organization's is read through the
/// organization's own endpoints (`/api/v1/orgs/{org}/audit/…`), where the
/// enterprise domain checks its members' permissions; here it answers 404,
/// like a scope that does not exist.
pub fn may_read(account: &dyn Signed, scope: &str) -> bool {
    scope == super::PLATFORM && account.has_role("admin")
}

fn readable(account: &dyn Signed, scope: &str) -> Result<(), Problem> {
    if super::valid_scope(scope) && may_read(account, scope) {
        Ok(())
    } else {
        Err(Problem::not_found())
    }
}

impl From<super::AuditError> for Problem {
    fn from(e: super::AuditError) -> Problem {
        match e {
            super::AuditError::BadScope(_) => Problem::not_found(),
            super::AuditError::Store(e) => Problem::internal(&e),
        }
    }
}

/// Checks a scope's chain from its signed checkpoint to its head and names
/// the first entry changed, removed, moved or slipped in.
#[utoipa::path(get, path = "/api/v1/audit/{scope}/verification", tag = "audit",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("scope" = String, Path, description = "`platform` or `org:<organization id>`")),
    responses((status = 200, body = Verification), (status = 401), (status = 403), (status = 404)))]
pub async fn verification(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiPath(scope): ApiPath<String>,
) -> Result<Json<Verification>, Problem> {
    readable(&*admin, &scope)?;
    Ok(Json(super::verify(&app.store, &app.key, &scope).await?))
}

/// Filters of the listing and the export.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct EntryFilter {
    /// Only entries by this actor (`account:<id>`).
    pub actor: Option<String>,
    /// Only this action (`account.unlock`, …).
    pub action: Option<String>,
    /// Only entries about this target (`account:<id>`).
    pub target: Option<String>,
    /// Only entries at or after this time (ms since the epoch).
    pub from: Option<i64>,
    /// Only entries before this time (ms since the epoch).
    pub to: Option<i64>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Export only: `json` (default) or `csv`.
    pub format: Option<String>,
}

impl EntryFilter {
    fn store_filter(&self, before_seq: i64) -> Result<Filter, Problem> {
        for (name, value) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
        ] {
            if value
                .as_ref()
                .is_some_and(|v| v.is_empty() || v.len() > 200)
            {
                return Err(Problem::field(name, "invalid_value"));
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(Problem::field("from", "invalid_value"));
            }
        }
        Ok(Filter {
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            from: self.from,
            to: self.to,
            before_seq,
        })
    }
}

/// A scope's entries, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/audit/{scope}/entries", tag = "audit",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("scope" = String, Path, description = "`platform` or `org:<organization id>`"), EntryFilter),
    responses((status = 200, body = Page<EntryRow>), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn entries(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiPath(scope): ApiPath<String>,
    ApiQuery(filter): ApiQuery<EntryFilter>,
) -> Result<Json<Page<EntryRow>>, Problem> {
    readable(&*admin, &scope)?;
    Ok(Json(listing(&app, &scope, &filter).await?))
}

/// A page of `scope`'s entries, newest first, filtered: for whoever the
/// caller's domain found may read the scope.
pub async fn listing(
    app: &App,
    scope: &str,
    filter: &EntryFilter,
) -> Result<Page<EntryRow>, Problem> {
    let (before, limit) = PageQuery {
        cursor: filter.cursor.clone(),
        limit: filter.limit,
    }
    .bounds()?;
    let rows = store::list(
        app.store.read(),
        scope,
        &filter.store_filter(before)?,
        limit + 1,
    )
    .await
    .map_err(|e| Problem::internal(&e))?;
    Ok(page(rows, limit, |e| e.seq))
}

/// A scope's entries, filtered, as CSV (cells a spreadsheet would read as
/// a formula are prefixed with `'`) or a JSON array; at most 100,000.
#[utoipa::path(get, path = "/api/v1/audit/{scope}/export", tag = "audit",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("scope" = String, Path, description = "`platform` or `org:<organization id>`"), EntryFilter),
    responses((status = 200, description = "A JSON array of entries, or CSV with `format=csv`",
        content((Vec<EntryRow> = "application/json"), (String = "text/csv"))),
        (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn export(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiPath(scope): ApiPath<String>,
    ApiQuery(filter): ApiQuery<EntryFilter>,
) -> Result<Response, Problem> {
    readable(&*admin, &scope)?;
    exported(&app, &scope, &filter).await
}

/// `scope`'s entries, filtered, as the export answers them: for whoever
/// the caller's domain found may export the scope.
pub async fn exported(app: &App, scope: &str, filter: &EntryFilter) -> Result<Response, Problem> {
    let csv = match filter.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(Problem::field("format", "invalid_value")),
    };
    let rows = store::list(
        app.store.read(),
        scope,
        &filter.store_filter(i64::MAX)?,
        EXPORT_MAX,
    )
    .await
    .map_err(|e| Problem::internal(&e))?;
    if !csv {
        return Ok(Json(rows).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        to_csv(&rows),
    )
        .into_response())
}

/// RFC 4180 CSV of entries, every cell made formula-safe first.
pub fn to_csv(rows: &[EntryRow]) -> String {
    let mut out = String::from("scope,seq,at,actor,action,target,details,prev_hash,hash\r\n");
    for r in rows {
        out.push_str(&csv_line(&[
            r.scope.clone(),
            r.seq.to_string(),
            r.at.to_string(),
            r.actor.clone(),
            r.action.clone(),
            r.target.clone(),
            r.details.clone(),
            r.prev_hash.clone(),
            r.hash.clone(),
        ]));
    }
    out
}

/// One RFC 4180 CSV line, every cell made formula-safe first.
pub fn csv_line(cells: &[String]) -> String {
    let line: Vec<String> = cells
        .iter()
        .map(|c| {
            let c = koban_policy::audit::csv_safe_cell(c);
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect();
    format!("{}\r\n", line.join(","))
}
