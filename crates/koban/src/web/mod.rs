//! Server-rendered pages: layout, translations, embedded assets, and the
//! helpers every domain's `pages.rs` shares (who is viewing, forms, cookies,
//! redirects).

pub mod assets;
pub mod banner;
pub mod i18n;
pub mod markdown;
pub mod pages;
pub mod render;

use crate::http::auth::{Principal, SESSION_COOKIE};
use crate::state::App;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use i18n::Lang;
use std::convert::Infallible;
use std::sync::Arc;

/// Cookie remembering the language chosen in the switcher.
pub const LANG_COOKIE: &str = "koban_lang";

/// The viewer's language: the `koban_lang` cookie, then Accept-Language,
/// then English. (A signed-in user's own setting is applied by the pages,
/// which know the account: see [`page_lang`].)
pub fn lang_from_headers(headers: &HeaderMap) -> Lang {
    crate::http::cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(i18n::from_accept_language)
        })
        .unwrap_or(Lang::En)
}

/// The language a page is shown in: the signed-in account's own setting,
/// then the cookie, then Accept-Language.
pub fn page_lang(headers: &HeaderMap, who: Option<&Principal>) -> Lang {
    who.and_then(|w| w.locale())
        .and_then(Lang::parse)
        .unwrap_or_else(|| lang_from_headers(headers))
}

/// Who is looking at a page: their session (if any), language and CSRF token.
pub struct Viewer {
    pub lang: Lang,
    /// The double-submit token every form echoes in `csrf_token`.
    pub csrf: String,
    /// The signed-in account, if any (`accounts::sessions::Viewing` gives
    /// the domain's own view of it).
    pub who: Option<Principal>,
    /// Path and query of this request, so the language switch can come back here.
    pub here: String,
    /// Whether cookies must be `Secure` (Koban is reached over https).
    pub secure: bool,
    /// Whether messages go to the development outbox instead of leaving the machine.
    pub outbox_mode: bool,
    /// This request's id, quoted on error pages so support can find the log.
    pub request_id: String,
    /// The viewer's time zone, when the browser told us (the `koban_tz`
    /// cookie the page script sets); times show in UTC without it.
    pub tz: Option<jiff::tz::TimeZone>,
    /// The bar of announcements above the content, if a domain has one for
    /// this viewer (see [`banner`]).
    pub banner: Option<banner::Banner>,
}

/// Cookie in which the page script keeps the browser's IANA time zone.
pub const TZ_COOKIE: &str = "koban_tz";

/// The time zone named by the `koban_tz` cookie, if it is a real one.
pub fn time_zone(headers: &HeaderMap) -> Option<jiff::tz::TimeZone> {
    let name = crate::http::cookie(headers, TZ_COOKIE)?;
    if name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b))
    {
        return None;
    }
    jiff::tz::TimeZone::get(name).ok()
}

/// A moment as a page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct When {
    /// RFC 3339, for `<time datetime>`.
    pub iso: String,
    /// In the viewer's zone, or UTC.
    pub text: String,
}

impl Viewer {
    /// Formats milliseconds since the epoch in the viewer's zone (UTC without one).
    pub fn when(&self, ms: i64) -> When {
        let at = jiff::Timestamp::from_millisecond(ms).unwrap_or_default();
        let text = match &self.tz {
            Some(tz) => at
                .to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string(),
            None => at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        };
        When {
            iso: at.to_string(),
            text,
        }
    }

    /// The name of the zone times are shown in.
    pub fn zone_name(&self) -> String {
        self.tz
            .as_ref()
            .and_then(|tz| tz.iana_name().map(str::to_string))
            .unwrap_or_else(|| "UTC".into())
    }
}

impl FromRequestParts<Arc<App>> for Viewer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Infallible> {
        // Pages only honour the cookie: a bearer token is for API clients.
        let who = match crate::http::cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => app.sessions().authenticate(app, token).await.ok(),
            None => None,
        };
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let lang = page_lang(&parts.headers, who.as_ref());
        let banner = banner::banner(
            app,
            banner::BannerAsk {
                lang,
                who: who.as_ref(),
                headers: &parts.headers,
                here: &here,
            },
        )
        .await;
        Ok(Viewer {
            lang,
            banner,
            csrf: crate::http::cookie(&parts.headers, crate::http::csrf::COOKIE)
                .unwrap_or_default()
                .to_string(),
            who,
            here,
            secure: is_secure(app),
            outbox_mode: app.config.delivery_mode != "live",
            request_id: parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            tz: time_zone(&parts.headers),
        })
    }
}

/// Whether Koban is served over TLS (see [`crate::config::Config::serves_tls`]).
pub fn is_secure(app: &App) -> bool {
    app.config.serves_tls()
}

/// A `Set-Cookie` value with the attributes every Koban cookie shares.
fn cookie_value(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> String {
    let mut cookie =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}");
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Adds a `Set-Cookie` header to `response`.
pub fn set_cookie(response: &mut Response, cookie: String) {
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The session cookie for a new sign-in; it lives as long as the session's
/// absolute expiry (the server enforces the idle expiry).
pub fn session_cookie(app: &App, token: &str) -> String {
    cookie_value(
        SESSION_COOKIE,
        token,
        app.config.session_absolute_hours * 3600,
        is_secure(app),
    )
}

/// Removes the session cookie.
pub fn clear_session_cookie(app: &App) -> String {
    cookie_value(SESSION_COOKIE, "", 0, is_secure(app))
}

/// Cookie holding a half-finished sign-in's challenge (second factor or
/// device limit), so the token never appears in a URL.
pub const CHALLENGE_COOKIE: &str = "koban_signin";

/// The challenge cookie: only sent to the sign-in pages, and gone when the
/// challenge expires anyway.
pub fn challenge_cookie(app: &App, token: &str) -> String {
    let mut cookie =
        format!("{CHALLENGE_COOKIE}={token}; Path=/signin; HttpOnly; SameSite=Lax; Max-Age=600");
    if is_secure(app) {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Removes the challenge cookie.
pub fn clear_challenge_cookie(app: &App) -> String {
    let mut cookie =
        format!("{CHALLENGE_COOKIE}=; Path=/signin; HttpOnly; SameSite=Lax; Max-Age=0");
    if is_secure(app) {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The device cookie for a browser given a new device key (400 days, the
/// most browsers keep a cookie).
pub fn device_cookie(app: &App, key: &str) -> String {
    cookie_value(
        crate::http::auth::DEVICE_COOKIE,
        key,
        34_560_000,
        is_secure(app),
    )
}

/// The language cookie, kept for a year.
pub fn lang_cookie(app: &App, lang: Lang) -> String {
    cookie_value(LANG_COOKIE, lang.tag(), 365 * 24 * 3600, is_secure(app))
}

/// `next` if it is a path on this site, else `fallback`. Anything that a
/// browser could read as another origin (`//host`, `/\host`, a scheme) or
/// that carries control characters is refused, so no link can bounce a
/// user to a foreign site through Koban.
pub fn safe_next<'a>(next: Option<&'a str>, fallback: &'a str) -> &'a str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 1024
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n
        }
        _ => fallback,
    }
}

/// 303 See Other to `to`: the "redirect" of POST/redirect/GET.
pub fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// `path?query` with the query encoded properly.
pub fn url_with(path: &str, query: &[(&str, &str)]) -> String {
    let query: Vec<(&str, &str)> = query
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .copied()
        .collect();
    if query.is_empty() {
        return path.to_string();
    }
    match serde_urlencoded::to_string(&query) {
        Ok(q) => format!("{path}?{q}"),
        Err(_) => path.to_string(),
    }
}

/// A URL-encoded form body. A body that does not parse answers 400 with an
/// error page instead of the framework's plain-text rejection.
pub struct PageForm<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<Arc<App>> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<Self, Response> {
        let lang = lang_from_headers(request.headers());
        let bytes = axum::body::Bytes::from_request(request, app)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_urlencoded::from_bytes(&bytes)
            .map(PageForm)
            .map_err(|_| render::plain_error(lang, StatusCode::BAD_REQUEST, "problem-validation"))
    }
}

/// A page form that may carry files (`multipart/form-data`): its text
/// fields, and the bytes of each file chosen (a file input left empty
/// sends nothing). A plain form is taken too, with no files, so a page
/// works the same whether or not a file was chosen. The CSRF token was
/// checked by the middleware before this runs.
pub struct PageUpload {
    pub fields: std::collections::BTreeMap<String, String>,
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
}

impl FromRequest<Arc<App>> for PageUpload {
    type Rejection = Response;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<Self, Response> {
        let lang = lang_from_headers(request.headers());
        let bad = || render::plain_error(lang, StatusCode::BAD_REQUEST, "problem-validation");
        if !crate::http::csrf::is_multipart(request.headers()) {
            let PageForm(fields) = PageForm::from_request(request, app).await?;
            return Ok(PageUpload {
                fields,
                files: Default::default(),
            });
        }
        let mut form = axum::extract::Multipart::from_request(request, app)
            .await
            .map_err(|_| bad())?;
        let mut upload = PageUpload {
            fields: Default::default(),
            files: Default::default(),
        };
        while let Some(field) = form.next_field().await.map_err(|_| bad())? {
            let Some(name) = field.name().map(str::to_string) else {
                continue;
            };
            if field.file_name().is_some() {
                let bytes = field.bytes().await.map_err(|_| bad())?;
                if !bytes.is_empty() {
                    upload.files.insert(name, bytes.to_vec());
                }
            } else {
                upload
                    .fields
                    .insert(name, field.text().await.map_err(|_| bad())?);
            }
        }
        Ok(upload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/account?x=1"), "/"), "/account?x=1");
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "/\tevil",
            "",
        ] {
            assert_eq!(safe_next(Some(evil), "/"), "/", "{evil:?}");
        }
        assert_eq!(safe_next(None, "/account"), "/account");
    }

    #[test]
    fn query_is_encoded() {
        assert_eq!(
            url_with("/verify", &[("identifier", "+8190 & x")]),
            "/verify?identifier=%2B8190+%26+x"
        );
        assert_eq!(url_with("/verify", &[("identifier", "")]), "/verify");
    }
}
