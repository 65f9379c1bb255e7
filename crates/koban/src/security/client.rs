//! Who is signing in, from where, on what: the client's real address
//! (behind trusted proxies only), its device key, name, platform, app
//! version and place.

use super::geo::Place;
use crate::accounts::service::Client;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::i18n::Lang;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use koban_policy::device::{client_ip, describe_user_agent, valid_device_id, MAX_USER_AGENT_CHARS};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

pub use crate::http::auth::{
    CLIENT_VERSION_HEADER, DEVICE_COOKIE, DEVICE_HEADER, DEVICE_NAME_HEADER,
};

/// The headers an app may send about itself, as the API document lists them
/// on every operation that reads them (their rules are set in
/// `http::openapi` from the checks in `koban_policy::device`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Only read by the document, never constructed.
pub struct ClientHeaders {
    /// The app's stable device id, the same on every request of one
    /// installation; browsers are recognised by the `koban_device` cookie instead.
    #[param(rename = "X-Koban-Device")]
    device: Option<String>,
    /// A name for the device people will recognise, such as "Mei's iPhone".
    #[param(rename = "X-Koban-Device-Name")]
    device_name: Option<String>,
    /// The app's version, such as 14.2.1.
    #[param(rename = "X-Koban-Client-Version")]
    client_version: Option<String>,
}

/// Everything known about the client of one request.
#[derive(Debug, Clone)]
pub struct ClientContext {
    pub ip: IpAddr,
    pub user_agent: Option<String>,
    /// The device key as presented (or freshly made).
    pub device_key: String,
    /// True when the client presented no key and this one was made for it:
    /// it must be handed back (cookie or response body) to be remembered.
    pub device_key_is_new: bool,
    pub device_name: String,
    pub platform: String,
    pub client_version: Option<String>,
    pub place: Place,
    pub lang: Lang,
}

impl ClientContext {
    /// The SHA-256 of the device key: what is stored.
    pub fn device_key_hash(&self) -> String {
        crate::crypto::sha256_hex(self.device_key.as_bytes())
    }

    /// The plain client record the accounts service takes.
    pub fn client(&self) -> Client {
        Client {
            ip: Some(self.ip.to_string()),
            user_agent: self.user_agent.clone(),
            lang: Some(self.lang),
        }
    }

    /// Reads a request's headers. Malformed app-supplied values are refused;
    /// a malformed cookie is treated as absent (a browser cannot fix it).
    pub fn from_headers(
        app: &App,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<ClientContext, Problem> {
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        let ip = client_ip(peer, forwarded, &app.trusted_proxies);
        let user_agent = headers.get(header::USER_AGENT).map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(MAX_USER_AGENT_CHARS)
                .collect::<String>()
        });
        let text = |name: &str| -> Result<Option<String>, Problem> {
            match headers.get(name) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .map(|s| Some(s.trim().to_string()))
                    .map_err(|_| Problem::field(name, "invalid_value")),
            }
        };
        let (device_key, device_key_is_new) = match text(DEVICE_HEADER)? {
            Some(id) if valid_device_id(&id) => (id, false),
            Some(_) => return Err(Problem::field("X-Koban-Device", "invalid_value")),
            None => {
                match crate::http::cookie(headers, DEVICE_COOKIE).filter(|c| valid_device_id(c)) {
                    Some(c) => (c.to_string(), false),
                    None => (crate::crypto::random_token(32), true),
                }
            }
        };
        let (ua_name, platform) = describe_user_agent(user_agent.as_deref().unwrap_or(""));
        let device_name = match text(DEVICE_NAME_HEADER)? {
            Some(name) => {
                let name = name.trim();
                if name.is_empty()
                    || name.chars().count() > koban_policy::device::MAX_NAME_CHARS
                    || koban_policy::text::check_visible(name, false).is_err()
                {
                    return Err(Problem::field("X-Koban-Device-Name", "invalid_value"));
                }
                name.to_string()
            }
            None => ua_name,
        };
        let client_version = match text(CLIENT_VERSION_HEADER)? {
            Some(v) if v.len() <= 32 && v.bytes().all(|b| b.is_ascii_graphic()) => Some(v),
            Some(_) => return Err(Problem::field("X-Koban-Client-Version", "invalid_value")),
            None => None,
        };
        Ok(ClientContext {
            place: crate::security::state(app).settings.geo.locate(ip),
            ip,
            user_agent,
            device_key,
            device_key_is_new,
            device_name,
            platform: platform.to_string(),
            client_version,
            lang: crate::web::lang_from_headers(headers),
        })
    }
}

impl FromRequestParts<Arc<App>> for ClientContext {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Problem> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        ClientContext::from_headers(app, &parts.headers, peer)
    }
}
