//! The viewer's organizations: the list (with the invitations open to
//! them and the organizations their address's domain lets them join), a
//! new organization, and each organization's overview — its profile, the
//! viewer's roles and their own security checklist.

use super::{done, failed, field, frame, member_of, notice, refusal};
use crate::accounts::sessions::Viewing;
use crate::enterprise::invites::{self, Proof};
use crate::enterprise::store;
use crate::enterprise::{domains, onboarding, orgs, EnterpriseError};
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
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

/// Notices the list and the overview show after a change.
const NOTICES: &[&str] = &[
    "created",
    "joined",
    "declined",
    "profile-saved",
    "acknowledged",
];

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/orgs", get(list).post(create))
        .route("/orgs/invitations/answer", post(answer))
        .route("/orgs/{org}", get(overview))
        .route("/orgs/{org}/join", post(join))
        .route("/orgs/{org}/profile", post(save_profile))
        .route("/orgs/{org}/onboarding/{item}", post(acknowledge))
}

/// What `/orgs` shows: the viewer's organizations, the invitations open
/// to their verified addresses, and the one their domain lets them join.
async fn list_context(
    app: &App,
    viewer: &Viewer,
    account_id: i64,
) -> Result<minijinja::Value, EnterpriseError> {
    let mine = store::orgs::of_account(app.store.read(), account_id).await?;
    let invitations = invites::open_to_me(app, account_id).await?;
    let joinable = domains::joinable(app, account_id).await?;
    Ok(context! {
        orgs => mine.iter().map(|(org, status, _)| context! {
            id => org.id, name => org.name, plan => org.plan, status => status,
        }).collect::<Vec<_>>(),
        invitations => invitations.iter().map(|i| context! {
            id => i.id, organization_id => i.organization_id, organization => i.organization_name,
            roles => i.roles, expires => viewer.when(i.expires_at).text,
        }).collect::<Vec<_>>(),
        joinable => joinable.iter().map(|j| context! {
            id => j.id, name => j.name, domain => j.domain,
        }).collect::<Vec<_>>(),
    })
}

/// `GET /orgs`.
async fn list(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<Posted>,
) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", "/orgs")]));
    };
    match list_context(&app, &viewer, current.account.id).await {
        Ok(page) => render::page(
            &viewer,
            StatusCode::OK,
            "orgs.html",
            context! {
                notice => notice(viewer.lang, query.get("notice").map(String::as_str), NOTICES),
                ..page
            },
        ),
        Err(error) => failed(&viewer, error),
    }
}

/// Shows `/orgs` again after a refused form, with what was typed.
async fn list_refused(
    app: &App,
    viewer: &Viewer,
    error: EnterpriseError,
    fields: &[&str],
    typed: minijinja::Value,
) -> Response {
    let Some(current) = viewer.current() else {
        return see_other("/signin");
    };
    match list_context(app, viewer, current.account.id).await {
        Ok(page) => refusal(
            viewer,
            error,
            "orgs.html",
            fields,
            context! { ..typed, ..page },
        ),
        Err(error) => failed(viewer, error),
    }
}

/// `POST /orgs`: a new organization, the viewer its owner.
async fn create(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", "/orgs")]));
    };
    let (name, description) = (field(&form, "name"), field(&form, "description"));
    match orgs::create(&app, current.account.id, name, description).await {
        Ok(org) => done(&format!("/orgs/{}", org.id), "created"),
        Err(error) => {
            let typed = context! { name => name, description => description };
            list_refused(&app, &viewer, error, &["name", "description"], typed).await
        }
    }
}

/// `POST /orgs/invitations/answer`: accepts or declines an invitation
/// with the code of its message (`answer` is `accept` or `decline`).
async fn answer(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", "/orgs")]));
    };
    let Ok(org_id) = field(&form, "organization_id").parse::<i64>() else {
        return super::not_found(&viewer);
    };
    let accept = field(&form, "answer") == "accept";
    let code = field(&form, "code");
    let result = if code.trim().is_empty() {
        Err(EnterpriseError::field("code", "required"))
    } else {
        invites::decide(
            &app,
            current.account.id,
            Proof::Code { org_id, code },
            accept,
        )
        .await
    };
    match result {
        Ok(_) if accept => done(&format!("/orgs/{org_id}"), "joined"),
        Ok(_) => done("/orgs", "declined"),
        Err(error) => {
            let typed = context! { answering => org_id };
            list_refused(&app, &viewer, error, &["code"], typed).await
        }
    }
}

/// `POST /orgs/{org}/join`: joins through the viewer's verified domain.
async fn join(State(app): State<Arc<App>>, viewer: Viewer, Path(org): Path<String>) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", "/orgs")]));
    };
    let Ok(org_id) = org.parse::<i64>() else {
        return super::not_found(&viewer);
    };
    match domains::join(&app, current.account.id, org_id).await {
        Ok(()) => done(&format!("/orgs/{org_id}"), "joined"),
        Err(error) => list_refused(&app, &viewer, error, &[], context! {}).await,
    }
}

/// The overview of organization `org` for the viewer.
async fn overview_context(
    app: &App,
    viewer: &Viewer,
    org: &str,
) -> Result<minijinja::Value, Response> {
    let me = member_of(app, viewer, org).await?;
    let org_id = me.org.id;
    let shown = async {
        let customs = super::role_names(app, org_id).await?;
        let checklist = onboarding::mine(app, me.account_id(), org_id, viewer.lang).await?;
        Ok::<_, EnterpriseError>((customs, checklist))
    }
    .await;
    let (customs, checklist) = shown.map_err(|e| failed(viewer, e))?;
    let manages = me.may(Permission::ManageOrganization).is_ok();
    Ok(context! {
        frame => frame(&me, "overview"),
        description => me.org.description,
        roles => me.member.roles,
        customs => customs,
        joined => viewer.when(me.member.joined_at).text,
        checklist => checklist,
        manages => manages,
        name => me.org.name,
    })
}

/// `GET /orgs/{org}`.
async fn overview(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    Query(query): Query<Posted>,
) -> Response {
    match overview_context(&app, &viewer, &org).await {
        Ok(page) => render::page(
            &viewer,
            StatusCode::OK,
            "org_overview.html",
            context! {
                notice => notice(viewer.lang, query.get("notice").map(String::as_str), NOTICES),
                ..page
            },
        ),
        Err(response) => response,
    }
}

/// `POST /orgs/{org}/profile` (`organization.manage`).
async fn save_profile(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let page = match overview_context(&app, &viewer, &org).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let Some(current) = viewer.current() else {
        return see_other("/signin");
    };
    let Ok(org_id) = org.parse::<i64>() else {
        return super::not_found(&viewer);
    };
    let (name, description) = (field(&form, "name"), field(&form, "description"));
    match orgs::update_profile(&app, current.account.id, org_id, name, description).await {
        Ok(_) => done(&format!("/orgs/{org_id}"), "profile-saved"),
        Err(error) => {
            let page = context! { name => name, description => description, ..page };
            refusal(
                &viewer,
                error,
                "org_overview.html",
                &["name", "description"],
                page,
            )
        }
    }
}

/// `POST /orgs/{org}/onboarding/{item}`: the viewer reviewed their devices
/// or read the security notice.
async fn acknowledge(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, item)): Path<(String, String)>,
    PageForm(_): PageForm<Posted>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let org_id = me.org.id;
    match onboarding::acknowledge(&app, me.account_id(), org_id, &item, viewer.lang).await {
        Ok(_) => done(&format!("/orgs/{org_id}"), "acknowledged"),
        Err(error) => failed(&viewer, error),
    }
}
