//! The library's change log: who added, changed or deleted which canned
//! response or macro, and when. Supervisors and desk admins read it
//! through the API; the library pages show the latest entries.

use crate::accounts::sessions::Authenticated;
use crate::desk::error::DeskError;
use crate::desk::store::library_changes::{self as store, LibraryChangeRow};
use crate::http::json::ApiQuery;
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;

/// How many changes the library page shows.
pub const RECENT: i64 = 10;

choices! {
    /// What a library change is about.
    pub enum DeskLibraryItemKind {
        Canned = "canned",
        Macro = "macro",
    }
}

/// Which changes, and the page.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeskLibraryChangesQuery {
    /// Only changes of canned responses (`canned`) or macros (`macro`).
    #[param(inline)]
    pub kind: Option<DeskLibraryItemKind>,
    /// Only changes of the item with this id (of either kind unless `kind` is given).
    #[param(minimum = 1)]
    pub item_id: Option<i64>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// One change to the library.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskLibraryChange {
    pub id: i64,
    /// `canned` or `macro`.
    pub item_kind: String,
    pub item_id: i64,
    /// The item's name when the change was made.
    pub item_name: Option<String>,
    /// `created`, `updated` or `deleted`.
    pub action: String,
    /// Who made the change (`null` when the account is gone).
    pub actor_id: Option<i64>,
    /// Their email or phone.
    pub actor: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

impl From<&LibraryChangeRow> for DeskLibraryChange {
    fn from(row: &LibraryChangeRow) -> DeskLibraryChange {
        DeskLibraryChange {
            id: row.id,
            item_kind: row.item_kind.clone(),
            item_id: row.item_id,
            item_name: row.detail["name"].as_str().map(str::to_string),
            action: row.action.clone(),
            actor_id: row.actor_id,
            actor: row.actor.clone(),
            at: row.at,
        }
    }
}

/// The newest [`RECENT`] changes of both kinds, for the library page.
pub async fn recent(app: &App) -> Result<Vec<DeskLibraryChange>, DeskError> {
    let rows = store::changes(app.store.read(), None, None, i64::MAX, RECENT).await?;
    Ok(rows.iter().map(DeskLibraryChange::from).collect())
}

/// Changes to canned responses and macros, newest first (supervisors and
/// desk admins).
#[utoipa::path(get, path = "/api/v1/desk/library/changes", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(DeskLibraryChangesQuery),
    responses((status = 200, body = Page<DeskLibraryChange>), (status = 401), (status = 403), (status = 422)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiQuery(q): ApiQuery<DeskLibraryChangesQuery>,
) -> Result<Json<Page<DeskLibraryChange>>, Problem> {
    if !current.account.has_role("supervisor") {
        return Err(Problem::forbidden());
    }
    let (before, limit) = PageQuery {
        cursor: q.cursor,
        limit: q.limit,
    }
    .bounds()?;
    if q.item_id.is_some_and(|id| id < 1) {
        return Err(Problem::field("item_id", "invalid_value"));
    }
    let kind = q.kind.map(DeskLibraryItemKind::as_str);
    let rows = store::changes(app.store.read(), kind, q.item_id, before, limit + 1)
        .await
        .map_err(DeskError::from)?;
    let items: Vec<DeskLibraryChange> = rows.iter().map(DeskLibraryChange::from).collect();
    Ok(Json(page(items, limit, |c| c.id)))
}
