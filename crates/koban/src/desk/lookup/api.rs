//! Signed-out lookup through the API: ask for a code by reference number,
//! trade it for a grant; and who reads a ticket: a session or a grant.

use crate::accounts::sessions::{self, Current};
use crate::desk::lookup::{self, DeskLookupGrant};
use crate::desk::store::TicketRow;
use crate::desk::tickets::service::{self, Standing};
use crate::desk::DeskError;
use crate::http::auth::presented_token;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The client's address as the limits count it (the client a trusted
/// proxy names, else the peer).
pub struct CallerIp(pub IpAddr);

impl FromRequestParts<Arc<App>> for CallerIp {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Problem> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip());
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(CallerIp(koban_policy::device::client_ip(
            peer,
            forwarded,
            &app.trusted_proxies,
        )))
    }
}

/// A reference number to look up.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskLookupRequest {
    /// With or without separators, in ASCII or full-width digits.
    #[schema(example = "2612-0345-678", max_length = 64)]
    pub reference: String,
}

/// What asking for a lookup code answers, whatever the number.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskLookupAccepted {
    /// Always `sent_if_known`: a code went to the contact on file if the
    /// number is a ticket's; nothing says whether it is.
    pub status: &'static str,
    pub code_expires_in_seconds: i64,
}

/// Asks for a code to look a ticket up signed out. The answer is the same
/// whether or not the number is a ticket's; only a number whose check digit
/// is wrong is refused (422), which says nothing about any ticket.
#[utoipa::path(post, path = "/api/v1/desk/lookups", tag = "desk", security(()), request_body = DeskLookupRequest,
    responses((status = 202, body = DeskLookupAccepted), (status = 422), (status = 429)))]
pub async fn request_lookup(
    State(app): State<Arc<App>>,
    CallerIp(ip): CallerIp,
    headers: HeaderMap,
    ApiJson(input): ApiJson<DeskLookupRequest>,
) -> Result<(StatusCode, Json<DeskLookupAccepted>), Problem> {
    let lang = crate::web::lang_from_headers(&headers);
    lookup::request(&app, &input.reference, &ip.to_string(), lang).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted())))
}

/// The one answer to a lookup request.
pub fn accepted() -> DeskLookupAccepted {
    DeskLookupAccepted {
        status: "sent_if_known",
        code_expires_in_seconds: koban_policy::throttle::CODE_TTL_MS / 1000,
    }
}

/// The code that came to the contact on file.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskLookupCheck {
    #[schema(example = "2612-0345-678", max_length = 64)]
    pub reference: String,
    #[schema(schema_with = crate::http::openapi::schemas::code)]
    pub code: String,
}

/// Trades the code for a grant (one hour) to read the ticket and add to
/// it. A wrong code and a number that is nobody's get the same 422
/// `lookup-code-invalid`; past five tries, 429 even for the right code.
#[utoipa::path(post, path = "/api/v1/desk/lookups/check", tag = "desk", security(()), request_body = DeskLookupCheck,
    responses((status = 201, body = DeskLookupGrant), (status = 422), (status = 429)))]
pub async fn check_lookup(
    State(app): State<Arc<App>>,
    CallerIp(ip): CallerIp,
    ApiJson(input): ApiJson<DeskLookupCheck>,
) -> Result<(StatusCode, Json<DeskLookupGrant>), Problem> {
    let grant = lookup::check(&app, &input.reference, &input.code, &ip.to_string()).await?;
    Ok((StatusCode::CREATED, Json(grant)))
}

/// Who reads a ticket: a signed-in caller, or the holder of a lookup grant
/// (as `Authorization: Bearer dg_…`), who may see that ticket only.
pub enum Reader {
    Session(Box<Current>),
    Grant(Box<TicketRow>),
}

impl FromRequestParts<Arc<App>> for Reader {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Problem> {
        let (token, from_cookie) =
            presented_token(&parts.headers).ok_or_else(Problem::unauthorized)?;
        if !from_cookie && token.starts_with(lookup::GRANT_PREFIX) {
            return match lookup::granted(app, &token).await? {
                Some(ticket) => Ok(Reader::Grant(Box::new(ticket))),
                None => Err(Problem::unauthorized()),
            };
        }
        Ok(Reader::Session(Box::new(
            sessions::authenticate(app, &token).await?,
        )))
    }
}

impl Reader {
    /// The ticket `reference` if the reader may see it, and as whom; a
    /// grant opens its own ticket only, and any other is "not found".
    pub async fn ticket(
        &self,
        app: &App,
        reference: &str,
    ) -> Result<(TicketRow, Standing), DeskError> {
        match self {
            Reader::Session(current) => service::visible(app, current, reference).await,
            Reader::Grant(ticket) => {
                if service::parse_reference(reference)? == ticket.reference {
                    Ok(((**ticket).clone(), Standing::Requester))
                } else {
                    Err(DeskError::NotFound)
                }
            }
        }
    }

    /// The signed-in caller, if the reader is one (not a grant holder).
    pub fn current(&self) -> Option<&Current> {
        match self {
            Reader::Session(current) => Some(current),
            Reader::Grant(_) => None,
        }
    }

    /// The account a message is written as: the caller's, or for a grant
    /// the requester's account if they have one.
    pub fn author(&self) -> Option<i64> {
        match self {
            Reader::Session(current) => Some(current.account.id),
            Reader::Grant(ticket) => ticket.requester_account_id,
        }
    }
}
