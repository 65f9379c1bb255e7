//! Reminders, and changing the phone number or email address.

use super::*;

/// The security reminders that apply to the account now.
#[utoipa::path(get, path = "/api/v1/me/reminders", tag = "security", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Vec<crate::security::reminders::Reminder>), (status = 401)))]
pub async fn reminders(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<Vec<crate::security::reminders::Reminder>>, Problem> {
    Ok(Json(
        crate::security::reminders::current(&app, &current.account).await?,
    ))
}

/// A new phone number or email address.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactChange {
    #[schema(schema_with = crate::http::openapi::schemas::phone)]
    pub phone: Option<String>,
    #[schema(schema_with = crate::http::openapi::schemas::email)]
    pub email: Option<String>,
    /// For a phone number without a country code.
    #[schema(schema_with = crate::http::openapi::schemas::region)]
    pub region: Option<String>,
}

/// Starts changing the phone or email (needs a fresh step-up); a code goes to the new contact.
#[utoipa::path(post, path = "/api/v1/me/contact-changes", tag = "security",
    params(crate::security::client::ClientHeaders), security(("bearer" = []), ("session_cookie" = [])), request_body = ContactChange,
    responses((status = 202), (status = 403, description = "step-up required"), (status = 409), (status = 422)))]
pub async fn contact_change(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
    ApiJson(input): ApiJson<ContactChange>,
) -> Result<StatusCode, Problem> {
    use koban_policy::contact::{parse_email, parse_phone};
    let new = match (&input.phone, &input.email) {
        (Some(p), None) => parse_phone(p, input.region.as_deref())
            .map_err(|e| Problem::field("phone", e.code()))?,
        (None, Some(e)) => parse_email(e).map_err(|p| Problem::field("email", p.code()))?,
        (Some(_), Some(_)) => return Err(Problem::field("phone", "one_of_phone_email")),
        (None, None) => return Err(Problem::field("phone", "required")),
    };
    crate::security::contacts::request_change(&app, &current, &new, ctx.lang).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The code sent to the new contact.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactChangeConfirmation {
    #[schema(schema_with = crate::http::openapi::schemas::code)]
    pub code: String,
}

/// Finishes the change with the code; the old contacts are told.
#[utoipa::path(post, path = "/api/v1/me/contact-changes/confirm", tag = "security",
    params(crate::security::client::ClientHeaders), security(("bearer" = []), ("session_cookie" = [])), request_body = ContactChangeConfirmation,
    responses((status = 200, body = Account), (status = 409), (status = 422)))]
pub async fn contact_change_confirm(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
    ApiJson(input): ApiJson<ContactChangeConfirmation>,
) -> Result<Json<Account>, Problem> {
    let account = crate::security::contacts::confirm_change(
        &app,
        &current,
        &input.code,
        &ctx.ip.to_string(),
        ctx.lang,
    )
    .await?;
    Ok(Json(account))
}
