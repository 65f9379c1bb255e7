//! The access review pages (`access.review`): the access report (members ×
//! roles × last active × two-step verification × devices, what needs a
//! look marked in words), how often reviews fall due, starting a review,
//! and the reviews so far. A review itself — keep or revoke per member,
//! progress, sign-off — is in [`review`]. Every step is the service's
//! (`enterprise::reviews`), as the API's.

mod review;

use super::{done, failed, field, frame, member_of, refusal, shown};
use crate::enterprise::access::Acting;
use crate::enterprise::reviews::{self as service, AccessEntry};
use crate::enterprise::store::{members, roles};
use crate::enterprise::EnterpriseError;
use crate::http::pagination::page as paged;
use crate::state::App;
use crate::web::i18n::{t, Lang};
use crate::web::{url_with, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::org::roles::Permission;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

type Posted = BTreeMap<String, String>;

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/orgs/{org}/access", get(page))
        .route("/orgs/{org}/access/schedule", post(schedule))
        .route("/orgs/{org}/access/reviews", post(start))
        .merge(review::router())
}

/// Notices the access pages show after a change.
const NOTICES: &[&str] = &[
    "access-schedule-saved",
    "access-review-started",
    "access-decided",
    "access-signed-off",
];

/// A review mark (`inactive`, `administrator_without_two_factor`) in words.
fn mark_words(lang: Lang, mark: &str) -> String {
    match mark {
        "inactive" | "administrator_without_two_factor" => t(
            lang,
            &format!("org-access-mark-{}", mark.replace('_', "-")),
            &[],
        ),
        other => other.to_string(),
    }
}

/// The names the pages show for custom roles (`custom:<id>` → name), for
/// the `role_name` macro.
async fn custom_names(app: &App, org_id: i64) -> Result<BTreeMap<String, String>, EnterpriseError> {
    Ok(roles::all(app.store.read(), org_id)
        .await?
        .into_iter()
        .map(|r| (format!("custom:{}", r.id), r.name))
        .collect())
}

/// The names of the members among `ids` (who started, decided or signed
/// off), read one by one: a page names a few people, not the directory.
pub(super) async fn people(
    app: &App,
    org_id: i64,
    ids: impl IntoIterator<Item = i64>,
) -> Result<BTreeMap<i64, String>, EnterpriseError> {
    let mut names = BTreeMap::new();
    for id in ids {
        if names.contains_key(&id) {
            continue;
        }
        if let Some(m) = members::find(app.store.read(), org_id, id).await? {
            names.insert(id, shown_name(&m));
        }
    }
    Ok(names)
}

/// A member's name as the pages show it: the name they gave, else their
/// email or phone (an account may have no name).
pub(super) fn shown_name(m: &members::MemberRow) -> String {
    [Some(&m.display_name), m.email.as_ref(), m.phone.as_ref()]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| format!("#{}", m.account_id))
}

/// A person by account id in words: their name, or "a former member".
fn person(lang: Lang, names: &BTreeMap<i64, String>, id: i64) -> String {
    names.get(&id).cloned().unwrap_or_else(|| {
        t(
            lang,
            "org-audit-target-former-member",
            &[("id", id.to_string())],
        )
    })
}

fn report_row(viewer: &Viewer, e: &AccessEntry) -> minijinja::Value {
    context! {
        account_id => e.account_id,
        name => if e.display_name.trim().is_empty() { e.email.clone().unwrap_or_default() } else { e.display_name.clone() },
        email => e.email,
        suspended => e.status != "active",
        roles => e.roles,
        administrator => e.administrator,
        last_active => viewer.when(e.last_active_at).text,
        two_factor => e.two_factor,
        devices => e.devices,
        frozen => e.frozen_devices,
        marks => e.marks.iter().map(|m| context! { code => m, words => mark_words(viewer.lang, m) })
            .collect::<Vec<_>>(),
    }
}

/// The access page's content: the report (a page of it, by `cursor`,
/// only the marked with `marked`), the schedule and the reviews.
async fn content(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
    q: &BTreeMap<String, String>,
) -> Result<minijinja::Value, EnterpriseError> {
    let (org_id, actor, lang) = (me.org.id, me.account_id(), viewer.lang);
    let overview = service::overview(app, actor, org_id).await?;
    let marked = q.get("marked").is_some_and(|v| v == "1");
    let (before, limit) = super::cursor_bounds(q, 50);
    let rows = service::access_page(app, actor, org_id, before, limit, marked).await?;
    let report = paged(rows, limit, |e| e.account_id);
    let next = report.next_cursor.map(|cursor| {
        url_with(
            &format!("/orgs/{org_id}/access"),
            &[
                ("marked", if marked { "1" } else { "" }),
                ("cursor", &cursor),
            ],
        )
    });
    let mut who: Vec<i64> = Vec::new();
    for r in &overview.reviews {
        who.push(r.started_by);
        who.extend(r.signed_off_by);
    }
    let names = people(app, org_id, who).await?;
    let reviews: Vec<minijinja::Value> = overview
        .reviews
        .iter()
        .map(|r| {
            context! {
                id => r.id,
                started_at => viewer.when(r.started_at).text,
                started_by => person(lang, &names, r.started_by),
                progress => t(lang, "org-access-progress", &[
                    ("decided", r.decided.to_string()), ("members", r.members.to_string()),
                ]),
                kept => r.kept,
                revoked => r.revoked,
                signed_off => r.signed_off_at.map(|at| t(lang, "org-access-signed-off-by", &[
                    ("name", person(lang, &names, r.signed_off_by.unwrap_or_default())),
                    ("when", viewer.when(at).text),
                ])),
            }
        })
        .collect();
    Ok(context! {
        frame => frame(me, "access"),
        customs => custom_names(app, org_id).await?,
        report => report.items.iter().map(|e| report_row(viewer, e)).collect::<Vec<_>>(),
        marked => marked,
        next => next,
        every_days => overview.every_days,
        next_due => viewer.when(overview.next_due_at).text,
        overdue => overview.next_due_at <= crate::store::now_ms(),
        in_progress => overview.in_progress,
        reviews => reviews,
    })
}

/// `GET /orgs/{org}/access`.
async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let page = content(&app, &viewer, &me, &q).await;
    shown(&viewer, "org_access.html", &q, NOTICES, page)
}

/// The access page again after a refused change, with what was typed.
async fn refused_here(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
    error: EnterpriseError,
    form: &Posted,
) -> Response {
    match content(app, viewer, me, &BTreeMap::new()).await {
        Ok(ctx) => refusal(
            viewer,
            error,
            "org_access.html",
            &["every_days"],
            context! { typed_days => field(form, "every_days"), ..ctx },
        ),
        // Not allowed to see the page at all: its answer (403, 404) instead.
        Err(unseen) => failed(viewer, unseen),
    }
}

/// `POST /orgs/{org}/access/schedule`: how often reviews fall due.
async fn schedule(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let (org_id, actor) = (me.org.id, me.account_id());
    let result = async {
        // Only the permission is checked before the number: someone who may
        // not review learns nothing from the form.
        me.may(Permission::ReviewAccess)?;
        let days = field(&form, "every_days")
            .trim()
            .parse::<i64>()
            .map_err(|_| EnterpriseError::field("every_days", "invalid_value"))?;
        service::set_schedule(&app, actor, org_id, days).await
    }
    .await;
    match result {
        Ok(()) => done(&format!("/orgs/{org_id}/access"), "access-schedule-saved"),
        Err(error) => refused_here(&app, &viewer, &me, error, &form).await,
    }
}

/// `POST /orgs/{org}/access/reviews`: starts a review.
async fn start(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let org_id = me.org.id;
    match service::start(&app, me.account_id(), org_id).await {
        Ok(review) => done(
            &format!("/orgs/{org_id}/access/reviews/{}", review.id),
            "access-review-started",
        ),
        Err(error) => refused_here(&app, &viewer, &me, error, &form).await,
    }
}
