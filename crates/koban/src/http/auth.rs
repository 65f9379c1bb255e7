//! Who is calling: the session from a Bearer token (API) or the session
//! cookie (browser), and the client's address and language.

use super::problem::Problem;
use crate::accounts::service::Client;
use crate::accounts::sessions::{self, Current};
use crate::app::App;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use std::net::SocketAddr;
use std::sync::Arc;

/// The session token presented, and how.
pub fn presented_token(parts: &axum::http::HeaderMap) -> Option<(String, bool)> {
    if let Some(auth) = parts
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))?;
        return Some((token.trim().to_string(), false));
    }
    super::cookie(parts, sessions::COOKIE).map(|t| (t.to_string(), true))
}

/// The client's address: the peer, or behind a trusted proxy the client the
/// proxy names in `X-Forwarded-For`, as the sign-in risk rules count it.
pub fn client_ip(app: &App, request: &axum::extract::Request) -> Option<std::net::IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()?
        .0
        .ip();
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    Some(koban_policy::device::client_ip(
        peer,
        forwarded,
        &app.security.trusted_proxies,
    ))
}

/// A signed-in caller.
pub struct Authenticated(pub Current);

impl FromRequestParts<Arc<App>> for Authenticated {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Problem> {
        let (token, _) = presented_token(&parts.headers).ok_or_else(Problem::unauthorized)?;
        sessions::authenticate(app, &token)
            .await
            .map(Authenticated)
            .map_err(Problem::from)
    }
}

/// A signed-in caller with at least the role named by `R`.
pub struct Staff<const RANK: u8>(pub Current);

/// Ranks for [`Staff`]: agent, supervisor, admin.
pub const AGENT: u8 = 1;
pub const ADMIN: u8 = 3;

impl<const RANK: u8> FromRequestParts<Arc<App>> for Staff<RANK> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Problem> {
        let Authenticated(current) = Authenticated::from_request_parts(parts, app).await?;
        let role = match RANK {
            AGENT => "agent",
            2 => "supervisor",
            _ => "admin",
        };
        if current.account.has_role(role) {
            Ok(Staff(current))
        } else {
            Err(Problem::forbidden())
        }
    }
}

/// The caller's address, user agent and language.
pub struct ClientInfo(pub Client);

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let lang = Some(crate::web::lang_from_headers(&parts.headers));
        Ok(ClientInfo(Client {
            ip,
            user_agent,
            lang,
        }))
    }
}
