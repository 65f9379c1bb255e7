//! Category forms as desk admins configure them: the built-in defaults of
//! `koban_policy::desk::forms`, replaced per category by a stored spec
//! (which standard fields are required or optional, and custom fields of
//! type text, number, choice or date). Every change is recorded with who
//! made it. Ticket creation checks the answers against the current form.

use crate::accounts::sessions::Authenticated;
use crate::desk::error::DeskError;
use crate::desk::store::forms as rows;
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::{FieldError, Problem};
use crate::state::App;
use axum::extract::State;
use axum::Json;
use koban_policy::desk::forms::{self, Category, CustomField, Field, FormSpec};
use std::sync::Arc;

/// The form a ticket of `category` is checked against now.
pub async fn form_for(app: &App, category: Category) -> Result<FormSpec, DeskError> {
    let stored = rows::one(app.store.read(), category.as_str()).await?;
    Ok(stored
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_else(|| forms::default_form(category)))
}

/// Every category's current form.
#[utoipa::path(get, path = "/api/v1/desk/forms", tag = "desk", security(()),
    responses((status = 200, description = "Each category's form: `category`, `required` and `optional` standard fields, and `custom` fields (`id`, `kind` with its `type`, `required`, `max_len`)", body = Vec<serde_json::Value>)))]
pub async fn list(State(app): State<Arc<App>>) -> Result<Json<Vec<FormSpec>>, Problem> {
    let mut out = Vec::new();
    for category in Category::ALL {
        out.push(form_for(&app, category).await?);
    }
    Ok(Json(out))
}

/// A category's form as an admin sets it.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskFormChange {
    /// Standard fields that must be filled; `subject` and `body` always.
    #[schema(value_type = Vec<String>)]
    pub required: Vec<Field>,
    /// Standard fields offered but not required.
    #[schema(value_type = Vec<String>)]
    pub optional: Vec<Field>,
    /// Custom fields: `{ "id", "kind": { "type": "text", "multiline": false } |
    /// { "type": "number" } | { "type": "choice", "options": [...] } |
    /// { "type": "date" }, "required", "max_len" }`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub custom: Vec<CustomField>,
}

/// Replaces a category's form (desk admins). An unknown category is 404;
/// a form with duplicate fields or ids, bad options or lengths is 422
/// naming every problem.
#[utoipa::path(put, path = "/api/v1/desk/forms/{category}", tag = "desk",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("category" = String, Path, description = "One of the ten category ids")),
    request_body = DeskFormChange,
    responses((status = 200, description = "The form as stored", body = Object), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn change(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(category): ApiPath<String>,
    ApiJson(input): ApiJson<DeskFormChange>,
) -> Result<Json<FormSpec>, Problem> {
    if !current.account.has_role("admin") {
        return Err(Problem::forbidden());
    }
    let category = Category::parse(&category).map_err(|_| Problem::not_found())?;
    let spec = FormSpec {
        category,
        required: input.required,
        optional: input.optional,
        custom: input.custom,
    };
    if let Err(issues) = forms::validate_spec(&spec) {
        return Err(Problem::validation(
            issues
                .into_iter()
                .map(|i| FieldError {
                    field: i.at,
                    code: i.problem.code(),
                })
                .collect(),
        ));
    }
    let definition = serde_json::to_string(&spec).map_err(|e| Problem::internal(&e))?;
    let now = crate::store::now_ms();
    let mut tx = app
        .store
        .write()
        .begin()
        .await
        .map_err(|e| Problem::internal(&e))?;
    rows::save(
        &mut tx,
        category.as_str(),
        &definition,
        current.account.id,
        now,
    )
    .await
    .map_err(|e| Problem::internal(&e))?;
    tx.commit().await.map_err(|e| Problem::internal(&e))?;
    Ok(Json(spec))
}
