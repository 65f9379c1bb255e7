//! Templates (minijinja, compiled into the binary) and turning them into
//! responses. Every page extends `base.html`; `t(id, **args)` translates in
//! the page's language.

use super::i18n::{t, Lang};
use super::{assets, Viewer};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::value::{merge_maps, Kwargs};
use minijinja::{Environment, Error, State, UndefinedBehavior, Value};
use std::sync::OnceLock;

/// The shell's own templates; each domain brings its pages' templates
/// through its [`crate::domain::Domain`], registered at start.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("landing.html", include_str!("../../templates/landing.html")),
    ("error.html", include_str!("../../templates/error.html")),
];

/// A template: its name and its source.
pub type Template = (&'static str, &'static str);

static REGISTERED: OnceLock<Vec<Template>> = OnceLock::new();

/// Adds the domains' templates. Called once, when the application is
/// composed, before any page renders; later calls (tests compose many
/// applications from the same domains) change nothing.
pub fn register(templates: Vec<Template>) {
    let _ = REGISTERED.set(templates);
}

/// `t(id, **args)` inside templates: the language comes from the `lang`
/// variable every page context carries, so one environment serves all.
fn translate(state: &State, id: &str, kwargs: Kwargs) -> Result<String, Error> {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or(Lang::En);
    let mut args = Vec::new();
    for key in kwargs.args() {
        let value: Value = kwargs.get(key)?;
        args.push((key, value.to_string()));
    }
    Ok(t(lang, id, &args))
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        let registered = REGISTERED.get().map(Vec::as_slice).unwrap_or_default();
        for (name, source) in TEMPLATES.iter().chain(registered) {
            // The templates are part of the binary; a broken one is a build defect
            // that the unit tests below catch before it ships.
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e}"));
        }
        // Optional page variables (no errors yet, no notice) read as empty.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.add_function("t", translate);
        env
    })
}

/// One entry of the language switch.
#[derive(serde::Serialize)]
struct LangChoice {
    tag: &'static str,
    name: &'static str,
}

/// Who is signed in, as the header shows it.
#[derive(serde::Serialize)]
struct Badge {
    identifier: String,
    admin: bool,
    /// Agents and above get the console in the header.
    agent: bool,
    supervisor: bool,
}

/// What the layout needs on every page.
#[derive(serde::Serialize)]
struct Base<'a> {
    lang: &'static str,
    lang_name: &'static str,
    langs: Vec<LangChoice>,
    csrf: &'a str,
    user: Option<Badge>,
    here: &'a str,
    css: String,
    js: String,
    /// The passkey script, loaded only by the pages that use passkeys.
    passkeys_js: String,
    favicon: String,
    outbox_mode: bool,
    /// The bar a domain asked for (see `web::banner`), included by the layout.
    banner: Option<&'a super::banner::Banner>,
}

impl<'a> Base<'a> {
    fn new(lang: Lang, csrf: &'a str, here: &'a str) -> Base<'a> {
        Base {
            lang: lang.tag(),
            lang_name: lang.native_name(),
            langs: Lang::ALL
                .iter()
                .map(|l| LangChoice {
                    tag: l.tag(),
                    name: l.native_name(),
                })
                .collect(),
            csrf,
            user: None,
            here,
            css: assets::url("koban.css"),
            js: assets::url("koban.js"),
            passkeys_js: assets::url("passkeys.js"),
            favicon: assets::url("favicon.svg"),
            outbox_mode: false,
            banner: None,
        }
    }

    fn of(viewer: &'a Viewer) -> Base<'a> {
        Base {
            user: viewer.who.as_ref().map(|who| Badge {
                identifier: who.display_identifier().to_string(),
                admin: who.has_role("admin"),
                agent: who.has_role("agent"),
                supervisor: who.has_role("supervisor"),
            }),
            outbox_mode: viewer.outbox_mode,
            banner: viewer.banner.as_ref(),
            ..Base::new(viewer.lang, &viewer.csrf, &viewer.here)
        }
    }
}

fn to_response(status: StatusCode, html: Result<String, Error>) -> Response {
    let mut response = match html {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response();
        }
    };
    let headers = response.headers_mut();
    // Pages carry a CSRF token and personal data: never cache them.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

fn render_with(name: &str, base: Base<'_>, page: Value) -> Result<String, Error> {
    let context = merge_maps([page, Value::from_serialize(&base)]);
    environment().get_template(name)?.render(context)
}

/// Renders `template` for `viewer` with `page` as its own variables.
pub fn page(
    viewer: &Viewer,
    status: StatusCode,
    template: &str,
    page: impl serde::Serialize,
) -> Response {
    to_response(
        status,
        render_with(template, Base::of(viewer), Value::from_serialize(&page)),
    )
}

/// The error page with one message.
pub fn error(viewer: &Viewer, status: StatusCode, message_id: &str) -> Response {
    page(
        viewer,
        status,
        "error.html",
        ErrorPage {
            status: status.as_u16(),
            message: t(
                viewer.lang,
                message_id,
                &[("request_id", viewer.request_id.clone())],
            ),
        },
    )
}

/// The error page with a message already in words (a problem's detail,
/// which carries its own arguments).
pub fn error_text(viewer: &Viewer, status: StatusCode, message: String) -> Response {
    page(
        viewer,
        status,
        "error.html",
        ErrorPage {
            status: status.as_u16(),
            message,
        },
    )
}

/// The error page for a request that got no further than its headers.
pub fn plain_error(lang: Lang, status: StatusCode, message_id: &str) -> Response {
    plain_error_text(
        lang,
        status,
        t(lang, message_id, &[("request_id", String::new())]),
    )
}

/// The error page with a message already in words.
pub fn plain_error_text(lang: Lang, status: StatusCode, message: String) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        message,
    };
    to_response(
        status,
        render_with(
            "error.html",
            Base::new(lang, "", "/"),
            Value::from_serialize(&page),
        ),
    )
}

#[derive(serde::Serialize)]
struct ErrorPage {
    status: u16,
    message: String,
}

/// Renders template `name` with an empty page in `lang`, for the test that
/// every registered template renders in every language.
pub fn render_empty(name: &str, lang: Lang) -> Result<String, Error> {
    render_with(name, Base::new(lang, "tok", "/"), Value::from(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_in_every_language() {
        for lang in Lang::ALL {
            for (name, _) in TEMPLATES {
                let html = render_with(name, Base::new(lang, "tok", "/"), Value::from(()))
                    .unwrap_or_else(|e| panic!("{name} in {lang:?}: {e:#}"));
                if *name != "macros.html" {
                    assert!(
                        html.contains(&format!("<html lang=\"{}\"", lang.tag())),
                        "{name}"
                    );
                }
            }
        }
    }

    #[test]
    fn output_is_escaped_and_translated() {
        let html = render_with(
            "error.html",
            Base::new(Lang::ZhCn, "tok", "/"),
            minijinja::context! { status => 400, message => "<b>x</b>" },
        )
        .unwrap_or_default();
        assert!(html.contains("&lt;b&gt;x&lt;"), "{html}");
        assert!(!html.contains("<b>x</b>"));
        assert!(html.contains("登录"), "{html}");
    }
}
