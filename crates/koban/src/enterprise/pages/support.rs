//! The organization's support requests (`support.read_all`): every ticket
//! its people opened on its support line, a subscription to support's
//! replies by mail, and the audit excerpt or device list attached to a
//! ticket in one step.

use super::{done, failed, field, frame, member_of, notice, refusal};
use crate::enterprise::access::Acting;
use crate::enterprise::evidence::{self, Evidence};
use crate::enterprise::{support, EnterpriseError};
use crate::state::App;
use crate::store::now_ms;
use crate::web::{render, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::org::roles::Permission;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

type Posted = BTreeMap<String, String>;

const NOTICES: &[&str] = &["subscribed", "unsubscribed", "evidence-attached"];
/// Tickets a page shows.
const PER_PAGE: i64 = 25;
/// How far back an attached audit excerpt reaches.
const AUDIT_EXCERPT_MS: i64 = 7 * 24 * 3600 * 1000;

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/orgs/{org}/support", get(page))
        .route("/orgs/{org}/support/subscription", post(subscribe))
        .route("/orgs/{org}/support/{reference}/evidence", post(attach))
}

/// The page's content for the query `query` (`open`, `before`).
async fn content(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
    query: &Posted,
) -> Result<minijinja::Value, Response> {
    let open_only = query.get("open").is_some_and(|v| v == "1");
    let before = query
        .get("before")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(i64::MAX);
    let shown = async {
        let tickets =
            support::tickets(app, me.account_id(), me.org.id, open_only, before, PER_PAGE).await?;
        let subscribed = support::subscription(app, me.account_id(), me.org.id).await?;
        Ok::<_, EnterpriseError>((tickets, subscribed))
    }
    .await;
    let (mut tickets, subscribed) = shown.map_err(|e| failed(viewer, e))?;
    let next = (tickets.len() as i64 > PER_PAGE).then(|| {
        tickets.truncate(PER_PAGE as usize);
        tickets.last().map(|t| t.id)
    });
    Ok(context! {
        frame => frame(me, "support"),
        tickets => tickets.iter().map(|t| context! {
            reference => t.reference, subject => t.subject, status => t.status,
            tier => t.tier, opened => viewer.when(t.created_at).text,
            updated => viewer.when(t.updated_at).text,
        }).collect::<Vec<_>>(),
        open_only => open_only,
        next => next.flatten(),
        subscribed => subscribed,
        may_attach_audit => me.may(Permission::ReadAudit).is_ok(),
        may_attach_devices => me.may(Permission::ReadDevices).is_ok(),
    })
}

/// `GET /orgs/{org}/support`.
async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    Query(query): Query<Posted>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    match content(&app, &viewer, &me, &query).await {
        Ok(page) => render::page(
            &viewer,
            StatusCode::OK,
            "org_support.html",
            context! {
                notice => notice(viewer.lang, query.get("notice").map(String::as_str), NOTICES),
                ..page
            },
        ),
        Err(response) => response,
    }
}

/// `POST /orgs/{org}/support/subscription`: `subscribed` is `on` or `off`.
async fn subscribe(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let on = field(&form, "subscribed") == "on";
    match support::subscribe(&app, me.account_id(), me.org.id, on).await {
        Ok(on) => done(
            &format!("/orgs/{}/support", me.org.id),
            if on { "subscribed" } else { "unsubscribed" },
        ),
        Err(error) => failed(&viewer, error),
    }
}

/// `POST /orgs/{org}/support/{reference}/evidence`: `kind` is `audit`
/// (the last seven days of the audit log) or `devices` (every member's).
async fn attach(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, reference)): Path<(String, String)>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let evidence = match field(&form, "kind") {
        "audit" => Ok(Evidence::Audit {
            since: now_ms() - AUDIT_EXCERPT_MS,
        }),
        "devices" => Ok(Evidence::Devices { account: None }),
        _ => Err(EnterpriseError::field("kind", "invalid_value")),
    };
    let attached = match evidence {
        Ok(evidence) => {
            evidence::attach(
                &app,
                me.account_id(),
                me.org.id,
                &reference,
                evidence,
                None,
                viewer.lang,
            )
            .await
        }
        Err(error) => Err(error),
    };
    match attached {
        Ok(_) => done(&format!("/orgs/{}/support", me.org.id), "evidence-attached"),
        Err(EnterpriseError::NotFound) => super::not_found(&viewer),
        Err(error) => match content(&app, &viewer, &me, &Posted::new()).await {
            Ok(page) => refusal(&viewer, error, "org_support.html", &[], page),
            Err(response) => response,
        },
    }
}
