//! Desk admins steer triage's rule layer with phrases of their own, beside
//! the built-in list: a new product name, a scam's wording this week. A
//! phrase takes effect at once on the node that took it and within
//! [`super::RELEARN_MS`] on the others; removing one keeps who and when.

use super::store;
use super::DeskError;
use crate::http::auth::{Staff, ADMIN, SUPERVISOR};
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use crate::store::now_ms;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use koban_policy::desk::triage::{category_index, phrase_line_reads};
use std::sync::Arc;

/// The most phrases live at once: each is compiled into every node's
/// matcher, and a list longer than this is no longer one a person reads.
pub const MAX_PHRASES: i64 = 2000;
const MAX_PHRASE_CHARS: usize = 100;

/// A phrase added to triage.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TriagePhrase {
    pub id: i64,
    /// A category, `urgent`, `urgent@<category>`, or `-` (a guard that
    /// silences the shorter phrases it contains).
    pub target: String,
    /// The words; one `*` allows a few characters between two parts.
    pub phrase: String,
    pub weight: f64,
    pub created_by: i64,
    pub created_at: i64,
    pub removed_by: Option<i64>,
    pub removed_at: Option<i64>,
}

impl From<store::PhraseRow> for TriagePhrase {
    fn from(row: store::PhraseRow) -> TriagePhrase {
        TriagePhrase {
            id: row.id,
            target: row.target,
            phrase: row.phrase,
            weight: row.weight,
            created_by: row.created_by,
            created_at: row.created_at,
            removed_by: row.removed_by,
            removed_at: row.removed_at,
        }
    }
}

/// A phrase to add.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTriagePhrase {
    #[schema(max_length = 64)]
    pub target: String,
    #[schema(min_length = 1, max_length = 100)]
    pub phrase: String,
    /// 3 or more decides a category on its own; 2 or more makes a ticket urgent.
    #[schema(minimum = 0.1, maximum = 10.0)]
    pub weight: f64,
}

fn target_known(target: &str) -> bool {
    match target {
        "-" | "urgent" => true,
        t => category_index(t.strip_prefix("urgent@").unwrap_or(t)).is_some(),
    }
}

/// Every phrase desk admins added, removed ones included, oldest first (supervisors).
#[utoipa::path(get, path = "/api/v1/desk/triage/phrases", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Vec<TriagePhrase>), (status = 401), (status = 403)))]
pub async fn list(
    State(app): State<Arc<App>>,
    _supervisor: Staff<SUPERVISOR>,
) -> Result<Json<Vec<TriagePhrase>>, Problem> {
    let rows = store::phrases(app.store.read(), false)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(Json(rows.into_iter().map(TriagePhrase::from).collect()))
}

/// Adds a phrase to triage's rule layer (desk admins).
#[utoipa::path(post, path = "/api/v1/desk/triage/phrases", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    request_body = NewTriagePhrase,
    responses((status = 201, body = TriagePhrase), (status = 401), (status = 403),
        (status = 422, description = "unknown target, a phrase that does not read, a weight out of range, a duplicate, or too many phrases")))]
pub async fn add(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiJson(input): ApiJson<NewTriagePhrase>,
) -> Result<(StatusCode, Json<TriagePhrase>), Problem> {
    let target = input.target.trim();
    let phrase = input.phrase.trim();
    if !target_known(target) {
        return Err(DeskError::field("target", "invalid_value").into());
    }
    if phrase.is_empty() {
        return Err(DeskError::field("phrase", "required").into());
    }
    if phrase.chars().count() > MAX_PHRASE_CHARS {
        return Err(DeskError::field("phrase", "too_long").into());
    }
    if let Err(problem) = koban_policy::text::check_visible(phrase, false) {
        return Err(DeskError::field("phrase", problem.code()).into());
    }
    if !(0.1..=10.0).contains(&input.weight) {
        return Err(DeskError::field("weight", "invalid_value").into());
    }
    if !phrase_line_reads(target, phrase, input.weight) {
        return Err(DeskError::field("phrase", "invalid_value").into());
    }
    let now = now_ms();
    let mut tx = app.store.write().begin().await.map_err(DeskError::from)?;
    if store::phrase_exists(&mut tx, target, phrase)
        .await
        .map_err(DeskError::from)?
    {
        return Err(DeskError::field("phrase", "duplicate").into());
    }
    if store::live_phrase_count(&mut tx)
        .await
        .map_err(DeskError::from)?
        >= MAX_PHRASES
    {
        return Err(DeskError::field("phrase", "too_many").into());
    }
    let id = store::insert_phrase(
        &mut tx,
        target,
        phrase,
        input.weight,
        admin.account_id(),
        now,
    )
    .await
    .map_err(DeskError::from)?;
    tx.commit().await.map_err(DeskError::from)?;
    super::current_model(&app, true).await;
    Ok((
        StatusCode::CREATED,
        Json(TriagePhrase {
            id,
            target: target.to_string(),
            phrase: phrase.to_string(),
            weight: input.weight,
            created_by: admin.account_id(),
            created_at: now,
            removed_by: None,
            removed_at: None,
        }),
    ))
}

/// Removes a phrase from triage (desk admins); the record stays.
#[utoipa::path(delete, path = "/api/v1/desk/triage/phrases/{id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Phrase id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404, description = "no such live phrase"), (status = 422)))]
pub async fn remove(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Problem> {
    let mut tx = app.store.write().begin().await.map_err(DeskError::from)?;
    if !store::remove_phrase(&mut tx, id, admin.account_id(), now_ms())
        .await
        .map_err(DeskError::from)?
    {
        return Err(DeskError::NotFound.into());
    }
    tx.commit().await.map_err(DeskError::from)?;
    super::current_model(&app, true).await;
    Ok(StatusCode::NO_CONTENT)
}
