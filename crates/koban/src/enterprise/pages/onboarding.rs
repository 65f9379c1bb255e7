//! Onboarding progress (`devices.read`): each member's security checklist
//! (two-step verification, recovery codes, devices reviewed, the security
//! notice read) in words, and the security notice's editor for those who
//! may change the policy (`policies.manage`). Both go through
//! `enterprise::onboarding`, as the API does.

use super::{done, failed, field, frame, member_of, refusal, shown};
use crate::enterprise::access::Acting;
use crate::enterprise::onboarding::{self as service, MemberProgress};
use crate::enterprise::EnterpriseError;
use crate::http::pagination::page as paged;
use crate::state::App;
use crate::web::i18n::t;
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
        .route("/orgs/{org}/onboarding", get(page))
        .route("/orgs/{org}/onboarding/notice", post(save_notice))
}

const NOTICES: &[&str] = &["onboarding-notice-saved"];

/// The checklist's items, in the order members see them; each has its
/// words in `org-onboarding-item-<item>`.
const ITEMS: &[&str] = &[
    "two_factor",
    "recovery_codes",
    "devices_reviewed",
    "security_notice",
];

fn progress_row(viewer: &Viewer, m: &MemberProgress) -> minijinja::Value {
    let lang = viewer.lang;
    let name = if m.display_name.trim().is_empty() {
        m.email
            .clone()
            .unwrap_or_else(|| format!("#{}", m.account_id))
    } else {
        m.display_name.clone()
    };
    context! {
        account_id => m.account_id,
        name => name,
        email => m.email,
        joined => viewer.when(m.joined_at).text,
        complete => m.complete,
        done => m.items.iter().filter(|i| i.done).count(),
        items => m.items.iter().map(|i| context! {
            item => i.item,
            done => i.done,
            words => if ITEMS.contains(&i.item) {
                t(lang, &format!("org-onboarding-item-{}", i.item.replace('_', "-")), &[])
            } else {
                i.item.to_string()
            },
        }).collect::<Vec<_>>(),
    }
}

/// The page's content: a page of members' progress (by `cursor`; only
/// the unfinished with `incomplete`) and the security notice.
async fn content(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
    q: &BTreeMap<String, String>,
) -> Result<minijinja::Value, EnterpriseError> {
    let (org_id, actor) = (me.org.id, me.account_id());
    let incomplete = q.get("incomplete").is_some_and(|v| v == "1");
    let (before, limit) = super::cursor_bounds(q, 50);
    let rows = service::progress(app, actor, org_id, incomplete, before, limit).await?;
    let rows = paged(rows, limit, |m| m.account_id);
    let next = rows.next_cursor.map(|cursor| {
        url_with(
            &format!("/orgs/{org_id}/onboarding"),
            &[
                ("incomplete", if incomplete { "1" } else { "" }),
                ("cursor", &cursor),
            ],
        )
    });
    // The notice as members read it (the built-in one in the viewer's
    // language until someone writes one).
    let own = service::mine(app, actor, org_id, viewer.lang).await?;
    Ok(context! {
        frame => frame(me, "onboarding"),
        members => rows.items.iter().map(|m| progress_row(viewer, m)).collect::<Vec<_>>(),
        incomplete => incomplete,
        next => next,
        security_notice => context! {
            body => own.notice.body,
            version => own.notice.version,
            updated => own.notice.updated_at.map(|at| viewer.when(at).text),
        },
        may_edit => me.may(Permission::ManagePolicies).is_ok(),
    })
}

/// `GET /orgs/{org}/onboarding`.
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
    shown(&viewer, "org_onboarding.html", &q, NOTICES, page)
}

/// `POST /orgs/{org}/onboarding/notice`: a new version of the security
/// notice, which every member must read again.
async fn save_notice(
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
    let result = async {
        // The permission first: someone who may not edit learns nothing
        // about what they typed.
        me.may(Permission::ManagePolicies)?;
        service::set_notice(&app, me.account_id(), org_id, field(&form, "body")).await
    }
    .await;
    match result {
        Ok(_) => done(
            &format!("/orgs/{org_id}/onboarding"),
            "onboarding-notice-saved",
        ),
        Err(error) => match content(&app, &viewer, &me, &BTreeMap::new()).await {
            Ok(ctx) => refusal(
                &viewer,
                error,
                "org_onboarding.html",
                &["body"],
                context! { typed_body => field(&form, "body"), ..ctx },
            ),
            // Not allowed to see the page at all: its answer (403, 404) instead.
            Err(unseen) => failed(&viewer, unseen),
        },
    }
}
