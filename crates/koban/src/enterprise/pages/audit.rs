//! The organization's audit log page (`audit.read`): its entries newest
//! first with cursor paging, filtered as the API filters them; each action
//! in words; the chain's verification as `koban audit verify` gives it; and
//! links to the API's CSV and JSON export for those with `audit.export`.

use super::access_review::shown_name;
use super::{failed, frame, member_of};
use crate::accounts::pages::{explain_problem, refused};
use crate::audit::api::EntryFilter;
use crate::audit::store::EntryRow;
use crate::audit::Verification;
use crate::enterprise::audit::{entries_for, verification_for};
use crate::enterprise::store::members::{self, DirectoryFilter};
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::i18n::{t, Lang};
use crate::web::{render, url_with, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use koban_policy::audit::Break;
use koban_policy::org::roles::Permission;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<App>> {
    Router::new().route("/orgs/{org}/audit", get(page))
}

/// Every action the organization's chain records, in the order the filter
/// offers them. Each has its words in `org-audit-action-<code>` (dots and
/// underscores as dashes); a code not listed here is shown as it is.
pub(super) const ACTIONS: &[&str] = &[
    "organization.created",
    "organization.profile_changed",
    "organization.plan_changed",
    "invite.sent",
    "invite.revoked",
    "invite.declined",
    "member.joined",
    "member.joined_by_domain",
    "member.roles_changed",
    "member.suspended",
    "member.reinstated",
    "member.removed",
    "member.left",
    "members.imported",
    "role.created",
    "role.changed",
    "role.deleted",
    "policy.changed",
    "device.frozen",
    "device.unfrozen",
    "domain.claimed",
    "domain.verified",
    "domain.removed",
    "domain.auto_join_changed",
    "access_review.schedule_changed",
    "access_review.started",
    "access_review.decided",
    "access_review.signed_off",
    "access_review.reminded",
    "onboarding.acknowledged",
    "onboarding.notice_changed",
    "audit.exported",
    "support.evidence_attached",
    "support.subscribed",
    "support.unsubscribed",
];

/// An action code in words; an unknown one as its code.
pub(super) fn action_words(lang: Lang, code: &str) -> String {
    if ACTIONS.contains(&code) {
        t(
            lang,
            &format!("org-audit-action-{}", code.replace(['.', '_'], "-")),
            &[],
        )
    } else {
        code.to_string()
    }
}

/// Who an entry's actor or target is, in words: a member by name, the
/// organization, a review, an invitation, … Anything else as recorded.
fn subject_words(lang: Lang, names: &BTreeMap<String, String>, subject: &str) -> String {
    if let Some(name) = names.get(subject) {
        return name.clone();
    }
    if subject == "system" {
        return t(lang, "org-audit-system", &[]);
    }
    let Some((kind, id)) = subject.split_once(':') else {
        return subject.to_string();
    };
    let key = match kind {
        "account" => "org-audit-target-former-member",
        "org" => "org-audit-target-organization",
        "access_review" => "org-audit-target-review",
        "invite" => "org-audit-target-invite",
        "role" => "org-audit-target-role",
        "domain" => "org-audit-target-domain",
        "ticket" => "org-audit-target-ticket",
        _ => return subject.to_string(),
    };
    t(lang, key, &[("id", id.to_string())])
}

/// The verification in words: intact with how many entries were checked,
/// or the first entry changed, removed, moved or slipped in.
fn verification_words(lang: Lang, v: &Verification) -> minijinja::Value {
    let broken = v.broken.as_ref().map(|b| match b {
        Break::Changed { seq } => t(
            lang,
            "org-audit-broken-changed",
            &[("seq", seq.to_string())],
        ),
        Break::Removed { seq } => t(
            lang,
            "org-audit-broken-removed",
            &[("seq", seq.to_string())],
        ),
        Break::Reordered { seq } => t(
            lang,
            "org-audit-broken-reordered",
            &[("seq", seq.to_string())],
        ),
        Break::Inserted { after_seq } => t(
            lang,
            "org-audit-broken-inserted",
            &[("seq", after_seq.to_string())],
        ),
    });
    context! {
        intact => broken.is_none() && !v.forged_checkpoint,
        intact_text => t(lang, "org-audit-intact", &[("count", v.checked.to_string())]),
        broken => broken,
        forged => v.forged_checkpoint.then(|| t(lang, "org-audit-forged-checkpoint", &[])),
        from_checkpoint => (v.from_seq > 0)
            .then(|| t(lang, "org-audit-from-checkpoint", &[("seq", v.from_seq.to_string())])),
    }
}

/// A day typed in the filter (`YYYY-MM-DD`) as the first millisecond of
/// that day (or of the day after, for the end of the range: the API's
/// `to` is exclusive, the form's last day inclusive), in the viewer's time
/// zone, or UTC when the browser did not say.
fn day_start(viewer: &Viewer, text: &str, field: &str, next: bool) -> Result<Option<i64>, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || Problem::field(field, "invalid_value");
    let mut day: jiff::civil::Date = text.parse().map_err(|_| bad())?;
    if next {
        day = day.tomorrow().map_err(|_| bad())?;
    }
    let zone = viewer.tz.clone().unwrap_or(jiff::tz::TimeZone::UTC);
    let at = day.to_zoned(zone).map_err(|_| bad())?;
    Ok(Some(at.timestamp().as_millisecond()))
}

/// The filter the API is asked with, from the page's query; an empty
/// field filters nothing.
fn filter_of(viewer: &Viewer, q: &BTreeMap<String, String>) -> Result<EntryFilter, Problem> {
    let text = |name: &str| {
        q.get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let from = day_start(viewer, text("from").as_deref().unwrap_or(""), "from", false)?;
    let to = day_start(viewer, text("to").as_deref().unwrap_or(""), "to", true)?;
    Ok(EntryFilter {
        actor: text("actor"),
        action: text("action"),
        target: text("target"),
        from,
        to,
        cursor: text("cursor"),
        limit: Some(25),
        format: None,
    })
}

/// The query of an API export of the same entries (all of them: no cursor).
fn export_link(org: i64, filter: &EntryFilter, format: &str) -> String {
    let from = filter.from.map(|v| v.to_string()).unwrap_or_default();
    let to = filter.to.map(|v| v.to_string()).unwrap_or_default();
    url_with(
        &format!("/api/v1/orgs/{org}/audit/export"),
        &[
            ("format", format),
            ("actor", filter.actor.as_deref().unwrap_or("")),
            ("action", filter.action.as_deref().unwrap_or("")),
            ("target", filter.target.as_deref().unwrap_or("")),
            ("from", &from),
            ("to", &to),
        ],
    )
}

/// `GET /orgs/{org}/audit`.
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
    if let Err(error) = me.may(Permission::ReadAudit) {
        return failed(&viewer, error);
    }
    let (org_id, actor) = (me.org.id, me.account_id());
    let lang = viewer.lang;
    let verification = match verification_for(&app, actor, org_id).await {
        Ok(v) => v,
        Err(problem) => return shown(&viewer, problem),
    };
    // Names of the members, for the entries and the filter's choices.
    let people = match members::list(
        &app.store,
        org_id,
        &DirectoryFilter::default(),
        i64::MAX,
        1000,
    )
    .await
    {
        Ok(rows) => rows,
        Err(error) => return shown(&viewer, Problem::internal(&error)),
    };
    let mut names: BTreeMap<String, String> = people
        .iter()
        .map(|m| (format!("account:{}", m.account_id), shown_name(m)))
        .collect();
    names.insert(
        format!("org:{org_id}"),
        t(lang, "org-audit-target-organization", &[]),
    );
    let typed = |name: &str| q.get(name).cloned().unwrap_or_default();
    // The filter's choices; one given in the address but not among them
    // (a former member, an entry's own target) is added, so the form
    // shows what is filtered.
    let choices = |with: &str, typed: String| -> Vec<minijinja::Value> {
        let mut values: Vec<String> = people
            .iter()
            .map(|m| format!("account:{}", m.account_id))
            .collect();
        values.push(with.to_string());
        let typed = typed.trim().to_string();
        if !typed.is_empty() && !values.contains(&typed) {
            values.push(typed);
        }
        values
            .iter()
            .map(|v| context! { value => v, label => subject_words(lang, &names, v) })
            .collect()
    };
    let mut actions: Vec<String> = ACTIONS.iter().map(|a| a.to_string()).collect();
    let typed_action = typed("action").trim().to_string();
    if !typed_action.is_empty() && !actions.contains(&typed_action) {
        actions.push(typed_action);
    }
    let mut ctx = context! {
        frame => frame(&me, "audit"),
        filters => context! {
            actor => typed("actor"), action => typed("action"), target => typed("target"),
            from => typed("from"), to => typed("to"),
        },
        actors => choices("system", typed("actor")),
        targets => choices(&format!("org:{org_id}"), typed("target")),
        actions => actions.iter().map(|a| context! { value => a, label => action_words(lang, a) })
            .collect::<Vec<_>>(),
        verification => verification_words(lang, &verification),
        filtered => ["actor", "action", "target", "from", "to"].iter().any(|f| !typed(f).trim().is_empty()),
    };
    let listed = async {
        let filter = filter_of(&viewer, &q)?;
        let page = entries_for(&app, actor, org_id, &filter).await?;
        Ok::<_, Problem>((filter, page))
    }
    .await;
    let (filter, listed) = match listed {
        Ok(found) => found,
        Err(problem) => {
            let fields = ["actor", "action", "target", "from", "to"];
            return match explain_problem(&viewer, problem, &fields) {
                Ok(feedback) => refused(&viewer, "org_audit.html", feedback, ctx),
                Err(response) => response,
            };
        }
    };
    // Members beyond the directory's first thousand, by their own row.
    let unnamed: Vec<i64> = listed
        .items
        .iter()
        .flat_map(|e| [&e.actor, &e.target])
        .filter(|s| !names.contains_key(*s))
        .filter_map(|s| s.strip_prefix("account:")?.parse().ok())
        .collect();
    for id in unnamed {
        match members::find(app.store.read(), org_id, id).await {
            Ok(Some(m)) => {
                names.insert(format!("account:{id}"), shown_name(&m));
            }
            Ok(None) => {}
            Err(error) => return shown(&viewer, Problem::internal(&error)),
        }
    }
    let entries: Vec<minijinja::Value> = listed
        .items
        .iter()
        .map(|e: &EntryRow| {
            context! {
                seq => e.seq,
                at => viewer.when(e.at).text,
                actor => subject_words(lang, &names, &e.actor),
                action => action_words(lang, &e.action),
                action_code => e.action,
                target => subject_words(lang, &names, &e.target),
                details => (e.details != "{}" && e.details != "null").then_some(&e.details),
            }
        })
        .collect();
    let next = listed.next_cursor.map(|cursor| {
        let mut query: Vec<(&str, String)> = ["actor", "action", "target", "from", "to"]
            .iter()
            .map(|f| (*f, typed(f)))
            .collect();
        query.push(("cursor", cursor));
        let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        url_with(&format!("/orgs/{org_id}/audit"), &pairs)
    });
    let exports = me.may(Permission::ExportAudit).is_ok().then(|| {
        context! {
            csv => export_link(org_id, &filter, "csv"),
            json => export_link(org_id, &filter, "json"),
        }
    });
    ctx = context! { entries => entries, next => next, exports => exports, ..ctx };
    render::page(&viewer, StatusCode::OK, "org_audit.html", ctx)
}

/// The page for a problem the API answered with outright.
fn shown(viewer: &Viewer, problem: Problem) -> Response {
    if problem.status == StatusCode::NOT_FOUND {
        return super::not_found(viewer);
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
