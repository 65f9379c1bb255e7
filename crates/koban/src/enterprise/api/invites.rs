//! Invitations: sent and revoked by administrators, previewed, accepted and
//! declined by the person invited.

use crate::enterprise::invites::{self as service, Invitation, InvitePreview, Proof};
use crate::enterprise::store::invites::InviteRow;
use crate::http::auth::SignedIn;
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::{request_lang, Problem};
use crate::state::App;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use std::sync::Arc;

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvite {
    /// An email address or a phone number.
    #[schema(min_length = 1, max_length = 254)]
    pub contact: String,
    /// For a phone number without a country code: the region (ISO 3166, `JP`).
    #[serde(default)]
    pub region: Option<String>,
    /// The name the organization will know the member by.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub display_name: String,
    /// Role keys (default `member`); none may carry a permission the inviter lacks.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub roles: Vec<String>,
}

/// Invites someone by email or SMS: a link and an 8-digit code, for 7 days
/// (`members.invite`).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/invites", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    request_body = NewInvite,
    responses((status = 201, body = InviteRow), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "already a member, or an invitation is pending"),
        (status = 422), (status = 429)))]
pub async fn send(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    headers: HeaderMap,
    ApiPath(org): ApiPath<i64>,
    ApiJson(input): ApiJson<NewInvite>,
) -> Result<(StatusCode, Json<InviteRow>), Problem> {
    let invite = service::invite(
        &app,
        who.account_id(),
        org,
        Invitation {
            contact: &input.contact,
            region: input.region.as_deref(),
            display_name: &input.display_name,
            roles: &input.roles,
            lang: request_lang(&headers),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(invite)))
}

/// Pending invitations, newest first (`members.invite`).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/invites", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), PageQuery),
    responses((status = 200, body = Page<InviteRow>), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn pending(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<InviteRow>>, Problem> {
    let (before, limit) = query.bounds()?;
    let rows = service::pending(&app, who.account_id(), org, before, limit + 1).await?;
    Ok(Json(page(rows, limit, |i| i.id)))
}

/// Revokes a pending invitation (`members.invite`).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/invites/{invite}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("invite" = i64, Path, description = "Invitation id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409),
        (status = 410, description = "the invitation was already accepted, declined or revoked"), (status = 422)))]
pub async fn revoke(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, invite)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, Problem> {
    service::revoke(&app, who.account_id(), org, invite).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteToken {
    /// The token of the invitation's link.
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
}

/// What an invitation offers, for the person it was sent to (signed in
/// with that verified email or phone); anyone else gets 404.
#[utoipa::path(post, path = "/api/v1/invites/preview", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = InviteToken,
    responses((status = 200, body = InvitePreview), (status = 401), (status = 404),
        (status = 410, description = "expired, or already answered or revoked"), (status = 422)))]
pub async fn preview(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiJson(input): ApiJson<InviteToken>,
) -> Result<Json<InvitePreview>, Problem> {
    Ok(Json(
        service::preview(&app, who.account_id(), &input.token).await?,
    ))
}

/// An answer to an invitation: the link's token, or the organization and the code.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteAnswer {
    #[serde(default)]
    #[schema(max_length = 200)]
    pub token: Option<String>,
    #[serde(default)]
    pub organization_id: Option<i64>,
    /// The 8-digit code of the message; five wrong ones stop the code.
    #[serde(default)]
    #[schema(max_length = 20)]
    pub code: Option<String>,
}

impl InviteAnswer {
    fn proof(&self) -> Result<Proof<'_>, Problem> {
        match (&self.token, self.organization_id, &self.code) {
            (Some(token), None, None) if !token.is_empty() => Ok(Proof::Token(token)),
            (None, Some(org_id), Some(code)) if !code.is_empty() => {
                Ok(Proof::Code { org_id, code })
            }
            _ => Err(Problem::field("token", "token_or_code")),
        }
    }
}

/// Joins the organization (the invited person, signed in with the invited
/// contact verified).
#[utoipa::path(post, path = "/api/v1/invites/accept", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = InviteAnswer,
    responses((status = 200, body = InviteRow), (status = 401), (status = 404),
        (status = 409, description = "already a member, or the code is locked after five wrong tries"),
        (status = 410, description = "expired, or already answered or revoked"), (status = 422), (status = 429)))]
pub async fn accept(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiJson(input): ApiJson<InviteAnswer>,
) -> Result<Json<InviteRow>, Problem> {
    Ok(Json(
        service::decide(&app, who.account_id(), input.proof()?, true).await?,
    ))
}

/// Declines an invitation.
#[utoipa::path(post, path = "/api/v1/invites/decline", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = InviteAnswer,
    responses((status = 200, body = InviteRow), (status = 401), (status = 404), (status = 409),
        (status = 410, description = "expired, or already answered or revoked"), (status = 422), (status = 429)))]
pub async fn decline(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiJson(input): ApiJson<InviteAnswer>,
) -> Result<Json<InviteRow>, Problem> {
    Ok(Json(
        service::decide(&app, who.account_id(), input.proof()?, false).await?,
    ))
}
