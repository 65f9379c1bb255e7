//! Category forms as desk admins configure them: the built-in defaults of
//! `koban_policy::desk::forms`, replaced per category by a stored spec
//! (which standard fields are required or optional, and custom fields of
//! type text, number, choice, date or checkbox, labelled per language). Every change is recorded with who
//! made it. Ticket creation checks the answers against the current form.

use crate::accounts::sessions::{Authenticated, Current};
use crate::desk::admin::roles::require;
use crate::desk::error::DeskError;
use crate::desk::store::forms as rows;
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::{FieldError, Problem};
use crate::state::App;
use axum::extract::State;
use axum::Json;
use koban_policy::desk::forms::{self, Category, CustomField, Field, FormSpec};
use koban_policy::desk::permissions::Action;
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
    responses((status = 200, description = "Each category's form: `category`, `required` and `optional` standard fields, and `custom` fields (`id`, `kind` with its `type`, `required`, `max_len`, and when written `labels`, `hints` and `option_labels` by language)", body = Vec<serde_json::Value>)))]
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
    /// { "type": "date" } | { "type": "checkbox" }, "required", "max_len",
    /// "labels": { "en": "...", "ja": "..." }, "hints": { "en": "..." },
    /// "option_labels": { "<option>": { "en": "..." } } }`. Labels, hints
    /// and option labels are optional, in `en`, `zh-CN`, `zh-TW`, `ja` or
    /// `th`, trimmed, at most 200 characters (hints 500), and need an
    /// English one as soon as any is given.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub custom: Vec<CustomField>,
}

/// Replaces a category's form (desk admins). An unknown category is 404;
/// a form with duplicate fields or ids, bad options or lengths, or labels
/// in an unknown language, too long or without English, is 422 naming
/// every problem.
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
    Ok(Json(save(&app, &current, &category, input).await?))
}

/// Replaces `category`'s form with `input` for desk admin `current`: the
/// API and the forms page both save through here. Labels are trimmed
/// first, then every problem is reported at once and nothing is stored.
pub async fn save(
    app: &App,
    current: &Current,
    category: &str,
    input: DeskFormChange,
) -> Result<FormSpec, DeskError> {
    require(current, Action::AdministerForms)?;
    let category = Category::parse(category).map_err(|_| DeskError::NotFound)?;
    let mut spec = FormSpec {
        category,
        required: input.required,
        optional: input.optional,
        custom: input.custom,
    };
    spec.custom.iter_mut().for_each(forms::tidy);
    if let Err(issues) = forms::validate_spec(&spec) {
        return Err(DeskError::Invalid(
            issues
                .into_iter()
                .map(|i| FieldError {
                    field: i.at,
                    code: i.problem.code(),
                })
                .collect(),
        ));
    }
    let definition =
        serde_json::to_string(&spec).map_err(|e| DeskError::Internal(e.to_string()))?;
    let mut tx = app.store.write().begin().await?;
    rows::save(
        &mut tx,
        category.as_str(),
        &definition,
        current.account.id,
        crate::store::now_ms(),
    )
    .await?;
    tx.commit().await?;
    crate::desk::admin::snapshot::changed(app);
    Ok(spec)
}
