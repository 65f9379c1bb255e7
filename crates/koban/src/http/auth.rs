//! Who is calling: the session from a Bearer token (API) or the session
//! cookie (browser), the client's address, device and language. Which
//! account a token belongs to is the business of the domain that registers
//! the [`SessionSource`] (accounts); this layer only carries the answer.

use super::problem::Problem;
use crate::state::App;
use crate::web::i18n::Lang;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

/// Cookie holding a browser's session token.
pub const SESSION_COOKIE: &str = "koban_session";
/// Browser cookie holding the device key.
pub const DEVICE_COOKIE: &str = "koban_device";
/// Header an app uses for its own stable device id.
pub const DEVICE_HEADER: &str = "x-koban-device";
/// Header an app uses to name the device ("Mei's iPhone").
pub const DEVICE_NAME_HEADER: &str = "x-koban-device-name";
/// Header an app uses for its version.
pub const CLIENT_VERSION_HEADER: &str = "x-koban-client-version";

/// A signed-in caller as the shared layers see them: enough for the page
/// header, the language and role checks. The domain that made it can get
/// its own type back through [`Signed::as_any`].
pub trait Signed: Any + Send + Sync {
    fn account_id(&self) -> i64;
    fn has_role(&self, role: &str) -> bool;
    /// The account's own language setting, which outranks the browser's.
    fn locale(&self) -> Option<&str>;
    /// How the page header names the account.
    fn display_identifier(&self) -> &str;
    fn as_any(&self) -> &dyn Any;
}

/// A signed-in caller.
pub type Principal = Arc<dyn Signed>;

/// What [`SessionSource::authenticate`] returns.
pub type SessionFuture<'a> = Pin<Box<dyn Future<Output = Result<Principal, Problem>> + Send + 'a>>;

/// Resolves session tokens; registered by the domain that owns sessions.
pub trait SessionSource: Send + Sync {
    /// The live session for `token` (touching its idle expiry), or 401.
    fn authenticate<'a>(&'a self, app: &'a App, token: &'a str) -> SessionFuture<'a>;
}

/// The session token presented, and whether it came in the cookie.
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
    super::cookie(parts, SESSION_COOKIE).map(|t| (t.to_string(), true))
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
        &app.trusted_proxies,
    ))
}

/// A signed-in caller, whoever they are.
pub struct SignedIn(pub Principal);

impl FromRequestParts<Arc<App>> for SignedIn {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Problem> {
        let (token, _) = presented_token(&parts.headers).ok_or_else(Problem::unauthorized)?;
        app.sessions().authenticate(app, &token).await.map(SignedIn)
    }
}

/// A signed-in caller with at least the role ranked `RANK`.
pub struct Staff<const RANK: u8>(pub Principal);

/// Ranks for [`Staff`]: agent, supervisor, admin.
pub const AGENT: u8 = 1;
pub const SUPERVISOR: u8 = 2;
pub const ADMIN: u8 = 3;

impl<const RANK: u8> FromRequestParts<Arc<App>> for Staff<RANK> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Problem> {
        let SignedIn(who) = SignedIn::from_request_parts(parts, app).await?;
        let role = match RANK {
            AGENT => "agent",
            SUPERVISOR => "supervisor",
            _ => "admin",
        };
        if who.has_role(role) {
            Ok(Staff(who))
        } else {
            Err(Problem::forbidden())
        }
    }
}

/// Who is asking: for the session record and the per-account limits.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub lang: Option<Lang>,
}

impl Client {
    /// The language messages to this client are written in.
    pub fn lang(&self) -> Lang {
        self.lang.unwrap_or(Lang::En)
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
