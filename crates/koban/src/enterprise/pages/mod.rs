//! The organization console: the pages members and administrators of an
//! organization work in. Every page reads the viewer's membership as the
//! API does (`access::acting`) and every change goes through the same
//! service function as the API, so a page can show and do nothing the API
//! would refuse; a tab the viewer's roles do not open is not shown, and its
//! address answers as the API would (403 with the permission named).

mod access_review;
mod audit;
mod devices;
mod domains;
mod home;
mod invites;
mod members;
mod onboarding;
mod policy;
mod roles;
mod support;

use super::access::{self, Acting};
use super::EnterpriseError;
use crate::accounts::pages::{explain_problem, refused};
use crate::accounts::sessions::Viewing;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::i18n::{t, Lang};
use crate::web::{render, see_other, url_with, Viewer};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Router;
use minijinja::context;
use std::sync::Arc;

/// Routes of every organization page.
pub fn router() -> Router<Arc<App>> {
    home::router()
        .merge(invites::router())
        .merge(members::router())
        .merge(roles::router())
        .merge(policy::router())
        .merge(devices::router())
        .merge(domains::router())
        .merge(audit::router())
        .merge(access_review::router())
        .merge(onboarding::router())
        .merge(support::router())
}

/// The templates of the organization pages.
pub const TEMPLATES: &[crate::web::render::Template] = &[
    (
        "org_macros.html",
        include_str!("../../../templates/org_macros.html"),
    ),
    ("orgs.html", include_str!("../../../templates/orgs.html")),
    (
        "org_overview.html",
        include_str!("../../../templates/org_overview.html"),
    ),
    (
        "org_invite.html",
        include_str!("../../../templates/org_invite.html"),
    ),
    (
        "org_members.html",
        include_str!("../../../templates/org_members.html"),
    ),
    (
        "org_roles.html",
        include_str!("../../../templates/org_roles.html"),
    ),
    (
        "org_policy.html",
        include_str!("../../../templates/org_policy.html"),
    ),
    (
        "org_devices.html",
        include_str!("../../../templates/org_devices.html"),
    ),
    (
        "org_domains.html",
        include_str!("../../../templates/org_domains.html"),
    ),
    (
        "org_audit.html",
        include_str!("../../../templates/org_audit.html"),
    ),
    (
        "org_access.html",
        include_str!("../../../templates/org_access.html"),
    ),
    (
        "org_access_review.html",
        include_str!("../../../templates/org_access_review.html"),
    ),
    (
        "org_support.html",
        include_str!("../../../templates/org_support.html"),
    ),
    (
        "org_onboarding.html",
        include_str!("../../../templates/org_onboarding.html"),
    ),
];

/// The viewer as an active member of organization `org` (the path's
/// text), or the page to show instead: sign-in for a visitor; 404 for an
/// organization they are not in, or one that does not exist (as the API:
/// never a hint that it exists); the reason, in words, for a suspended
/// member or one whose second factor is overdue.
pub(super) async fn member_of(app: &App, viewer: &Viewer, org: &str) -> Result<Acting, Response> {
    let Some(current) = viewer.current() else {
        return Err(see_other(&url_with("/signin", &[("next", &viewer.here)])));
    };
    let Ok(org_id) = org.parse::<i64>() else {
        return Err(not_found(viewer));
    };
    match access::acting(app, org_id, current.account.id).await {
        Ok((me, _)) => Ok(me),
        Err(error) => Err(failed(viewer, error)),
    }
}

/// What every organization page shows around its content: the
/// organization, the tab `section`, and what the viewer's roles let them do
/// (`can`: permission names, which the tabs and buttons ask).
pub(super) fn frame(me: &Acting, section: &str) -> minijinja::Value {
    context! {
        org => context! { id => me.org.id, name => me.org.name, plan => me.org.plan },
        section => section,
        me => me.account_id(),
        can => me.permissions.to_names(),
    }
}

/// The page for a request the service refused outright (nothing to show
/// a form again for): 404 as the API, the problem in words otherwise.
pub(super) fn failed(viewer: &Viewer, error: EnterpriseError) -> Response {
    let problem = Problem::from(error);
    if problem.status == StatusCode::NOT_FOUND {
        return not_found(viewer);
    }
    if problem.status.is_server_error() {
        return render::error(viewer, problem.status, problem.message);
    }
    let words = problem.to_json(viewer.lang, &viewer.request_id)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    render::error_text(viewer, problem.status, words)
}

pub(super) fn not_found(viewer: &Viewer) -> Response {
    render::error(viewer, StatusCode::NOT_FOUND, "problem-not-found")
}

/// Shows `template` again after a refused change, the reasons beside the
/// `fields` the form has and the rest in its alert.
pub(super) fn refusal(
    viewer: &Viewer,
    error: EnterpriseError,
    template: &str,
    fields: &[&str],
    page: minijinja::Value,
) -> Response {
    match explain_problem(viewer, Problem::from(error), fields) {
        Ok(feedback) => refused(viewer, template, feedback, page),
        Err(response) => response,
    }
}

/// A page's answer: its `content` with the notice the query names (one of
/// `known`), or the page for the refusal that kept it from showing.
pub(super) fn shown(
    viewer: &Viewer,
    template: &str,
    query: &std::collections::BTreeMap<String, String>,
    known: &[&str],
    content: Result<minijinja::Value, EnterpriseError>,
) -> Response {
    match content {
        Ok(page) => render::page(
            viewer,
            StatusCode::OK,
            template,
            context! {
                notice => notice(viewer.lang, query.get("notice").map(String::as_str), known),
                ..page
            },
        ),
        Err(error) => failed(viewer, error),
    }
}

/// The page of a listing a link's `cursor` asks for, `limit` rows: a
/// cursor that is not one starts from the top (it came from a link, and
/// an error page would help nobody).
pub(super) fn cursor_bounds(
    query: &std::collections::BTreeMap<String, String>,
    limit: i64,
) -> (i64, i64) {
    crate::http::pagination::PageQuery {
        cursor: query.get("cursor").cloned(),
        limit: Some(limit),
    }
    .bounds()
    .unwrap_or((i64::MAX, limit))
}

/// After a change: back to `path` with the notice `code` (one of the
/// page's own, see [`notice`]).
pub(super) fn done(path: &str, code: &str) -> Response {
    see_other(&url_with(path, &[("notice", code)]))
}

/// The words of a `?notice=` code, when it is one of `known` (so a link
/// cannot put arbitrary text on a page): the message `org-notice-<code>`.
pub(super) fn notice(lang: Lang, code: Option<&str>, known: &[&str]) -> Option<String> {
    let code = code?;
    known
        .contains(&code)
        .then(|| t(lang, &format!("org-notice-{code}"), &[]))
}

/// A form field as text, empty when it was not sent.
pub(super) fn field<'a>(
    form: &'a std::collections::BTreeMap<String, String>,
    name: &str,
) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or_default()
}

/// The names of the organization's custom roles by key (`custom:<id>`),
/// for `role_name` in the templates.
pub(super) async fn role_names(
    app: &App,
    org_id: i64,
) -> Result<std::collections::BTreeMap<String, String>, EnterpriseError> {
    Ok(super::store::roles::all(app.store.read(), org_id)
        .await?
        .into_iter()
        .map(|role| (format!("custom:{}", role.id), role.name))
        .collect())
}
