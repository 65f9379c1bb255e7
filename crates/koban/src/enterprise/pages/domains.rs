//! The domains page: the organization's email domains with their status
//! (every member, as the API lists them); for `organization.manage`,
//! claiming one, proving it by a DNS TXT record or by a code sent to an
//! administrative mailbox, letting its people join on their own, and
//! giving it up.

use super::{done, failed, field, frame, member_of, refusal, shown};
use crate::enterprise::access::Acting;
use crate::enterprise::domains as service;
use crate::enterprise::EnterpriseError;
use crate::state::App;
use crate::web::{PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::org::domains::PROOF_MAILBOXES;
use koban_policy::org::roles::Permission;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

type Posted = BTreeMap<String, String>;

const NOTICES: &[&str] = &[
    "domain-claimed",
    "domain-code-sent",
    "domain-verified",
    "domain-auto-join-on",
    "domain-auto-join-off",
    "domain-removed",
];

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/orgs/{org}/domains", get(page).post(claim))
        .route("/orgs/{org}/domains/{domain}/verify", post(verify))
        .route("/orgs/{org}/domains/{domain}/auto-join", post(auto_join))
        .route("/orgs/{org}/domains/{domain}/remove", post(remove))
}

/// The viewer as an administrator of the organization's domains, or the
/// page to show instead: refused before any form is read.
async fn manager(app: &App, viewer: &Viewer, org: &str) -> Result<Acting, Response> {
    let me = member_of(app, viewer, org).await?;
    me.may(Permission::ManageOrganization)
        .map_err(|error| failed(viewer, error))?;
    Ok(me)
}

async fn content(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
) -> Result<minijinja::Value, EnterpriseError> {
    let domains = service::list(app, me.account_id(), me.org.id).await?;
    Ok(context! {
        frame => frame(me, "domains"),
        domains => domains.iter().map(|d| {
            let row = &d.domain;
            // A Unicode name is stored in its xn-- form: show both.
            let (unicode, _) = idna::domain_to_unicode(&row.domain);
            context! {
                domain => row.domain,
                unicode => (unicode != row.domain).then_some(unicode),
                method => row.method,
                status => row.status,
                mailbox => row.mailbox,
                auto_join => row.auto_join,
                claimed => viewer.when(row.created_at).text,
                verified => row.verified_at.map(|at| viewer.when(at).text),
                txt_name => d.txt_name,
                txt_value => d.txt_value,
            }
        }).collect::<Vec<_>>(),
        mailboxes => PROOF_MAILBOXES,
    })
}

/// `GET /orgs/{org}/domains`.
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
    let page = content(&app, &viewer, &me).await;
    shown(&viewer, "org_domains.html", &query, NOTICES, page)
}

/// The page again after a refusal, the reasons beside the `fields` of the
/// form `target` (`claim`, or the domain whose form was sent) and what was
/// typed in it.
async fn shown_again(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
    error: EnterpriseError,
    target: &str,
    fields: &[&str],
    form: &Posted,
) -> Response {
    match content(app, viewer, me).await {
        Ok(shown) => refusal(
            viewer,
            error,
            "org_domains.html",
            fields,
            context! { target => target, typed => form, ..shown },
        ),
        Err(error) => failed(viewer, error),
    }
}

/// `POST /orgs/{org}/domains`: claims a domain, or asks for a new record
/// or code for one waiting for its proof.
async fn claim(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let me = match manager(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let method = field(&form, "method");
    // The mailbox list is offered only for a code; a DNS proof ignores it.
    let mailbox = Some(field(&form, "mailbox")).filter(|m| !m.trim().is_empty());
    let result = service::claim(
        &app,
        me.account_id(),
        me.org.id,
        field(&form, "domain"),
        method,
        mailbox,
    )
    .await;
    match result {
        Ok(view) => {
            let code = if view.domain.method == "email" {
                "domain-code-sent"
            } else {
                "domain-claimed"
            };
            done(&format!("/orgs/{}/domains", me.org.id), code)
        }
        Err(error) => {
            let fields = ["domain", "method", "mailbox"];
            shown_again(&app, &viewer, &me, error, "claim", &fields, &form).await
        }
    }
}

/// `POST /orgs/{org}/domains/{domain}/verify`: looks the TXT record up
/// now, or checks the `code` sent to the mailbox.
async fn verify(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, domain)): Path<(String, String)>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let me = match manager(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let code = form.get("code").map(String::as_str);
    match service::verify(&app, me.account_id(), me.org.id, &domain, code).await {
        Ok(_) => done(&format!("/orgs/{}/domains", me.org.id), "domain-verified"),
        Err(EnterpriseError::NotFound) => super::not_found(&viewer),
        Err(error) => shown_again(&app, &viewer, &me, error, &domain, &["code"], &form).await,
    }
}

/// `POST /orgs/{org}/domains/{domain}/auto-join`: `auto_join` = `on` lets
/// people with a verified address there join on their own; anything else
/// stops it.
async fn auto_join(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, domain)): Path<(String, String)>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let me = match manager(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let on = field(&form, "auto_join") == "on";
    match service::set_auto_join(&app, me.account_id(), me.org.id, &domain, on).await {
        Ok(_) => {
            let code = if on {
                "domain-auto-join-on"
            } else {
                "domain-auto-join-off"
            };
            done(&format!("/orgs/{}/domains", me.org.id), code)
        }
        Err(EnterpriseError::NotFound) => super::not_found(&viewer),
        Err(error) => shown_again(&app, &viewer, &me, error, &domain, &[], &form).await,
    }
}

/// `POST /orgs/{org}/domains/{domain}/remove`: gives the domain up.
async fn remove(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, domain)): Path<(String, String)>,
) -> Response {
    let me = match manager(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    match service::remove(&app, me.account_id(), me.org.id, &domain).await {
        Ok(()) => done(&format!("/orgs/{}/domains", me.org.id), "domain-removed"),
        Err(EnterpriseError::NotFound) => super::not_found(&viewer),
        Err(error) => failed(&viewer, error),
    }
}
