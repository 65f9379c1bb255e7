//! The roles page: the built-in roles and the organization's custom roles
//! with their permissions in words (every member), and for `roles.manage`
//! forms to create, change and delete custom roles.

use super::{done, failed, field, frame, member_of, notice, refusal};
use crate::enterprise::access::Acting;
use crate::enterprise::roles as service;
use crate::enterprise::EnterpriseError;
use crate::state::App;
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

const NOTICES: &[&str] = &["role-created", "role-saved", "role-deleted"];

/// A permission box is `permission.<name>`: one field per permission, as a
/// form map keeps one value per name.
const BOX: &str = "permission.";

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/orgs/{org}/roles", get(page).post(create))
        .route("/orgs/{org}/roles/{role}", post(update))
        .route("/orgs/{org}/roles/{role}/delete", post(delete))
}

/// The roles, and the permissions a custom role may be given (every one
/// but ownership, which only the owner role carries), each marked when the
/// viewer does not hold it (giving it would be refused).
async fn content(app: &App, me: &Acting) -> Result<minijinja::Value, EnterpriseError> {
    let roles = service::list(app, me.account_id(), me.org.id).await?;
    let (built_in, custom): (Vec<_>, Vec<_>) = roles.into_iter().partition(|r| r.built_in);
    let custom_id = |key: &str| {
        key.trim_start_matches("custom:")
            .parse::<i64>()
            .unwrap_or(0)
    };
    Ok(context! {
        frame => frame(me, "roles"),
        built_in => built_in.iter().map(|r| context! {
            key => r.key, permissions => r.permissions,
        }).collect::<Vec<_>>(),
        custom => custom.iter().map(|r| context! {
            id => custom_id(&r.key), key => r.key, name => r.name, permissions => r.permissions,
        }).collect::<Vec<_>>(),
        grantable => Permission::ALL
            .iter()
            .filter(|p| **p != Permission::Own)
            .map(|p| context! { name => p.as_str(), held => me.permissions.has(*p) })
            .collect::<Vec<_>>(),
    })
}

/// `GET /orgs/{org}/roles[?edit=<id>]`.
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
    match content(&app, &me).await {
        Ok(shown) => render::page(
            &viewer,
            StatusCode::OK,
            "org_roles.html",
            context! {
                notice => notice(viewer.lang, query.get("notice").map(String::as_str), NOTICES),
                editing => query.get("edit").and_then(|v| v.parse::<i64>().ok()),
                ..shown
            },
        ),
        Err(error) => failed(&viewer, error),
    }
}

/// The permission names ticked in `form`.
fn ticked(form: &Posted) -> Vec<String> {
    form.iter()
        .filter(|(k, v)| k.starts_with(BOX) && v.as_str() == "on")
        .map(|(k, _)| k[BOX.len()..].to_string())
        .collect()
}

/// `POST /orgs/{org}/roles`: a new custom role.
async fn create(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    write(&app, &viewer, &org, None, &form).await
}

/// `POST /orgs/{org}/roles/{role}`: renames a custom role or changes its
/// permissions.
async fn update(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, role)): Path<(String, String)>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let Ok(id) = role.parse::<i64>() else {
        return super::not_found(&viewer);
    };
    write(&app, &viewer, &org, Some(id), &form).await
}

async fn write(app: &App, viewer: &Viewer, org: &str, id: Option<i64>, form: &Posted) -> Response {
    let me = match member_of(app, viewer, org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    // Refused before the form is read, as on every page of the console.
    if let Err(error) = me.may(Permission::ManageRoles) {
        return failed(viewer, error);
    }
    let wanted = ticked(form);
    let result = service::write(
        app,
        me.account_id(),
        me.org.id,
        id,
        field(form, "name"),
        &wanted,
    )
    .await;
    let error = match result {
        Ok(_) => {
            let code = if id.is_some() {
                "role-saved"
            } else {
                "role-created"
            };
            return done(&format!("/orgs/{}/roles", me.org.id), code);
        }
        Err(EnterpriseError::NotFound) => return super::not_found(viewer),
        Err(error) => error,
    };
    shown_again(app, viewer, &me, error, id, field(form, "name"), &wanted).await
}

/// The page again after a refused change, the form that was sent open
/// with what was typed and ticked.
async fn shown_again(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
    error: EnterpriseError,
    id: Option<i64>,
    name: &str,
    ticked: &[String],
) -> Response {
    let shown = match content(app, me).await {
        Ok(shown) => shown,
        Err(error) => return failed(viewer, error),
    };
    let typed = context! {
        target => id.map(|i| i.to_string()).unwrap_or_else(|| "new".to_string()),
        editing => id,
        typed_name => name,
        typed_permissions => ticked,
        ..shown
    };
    refusal(
        viewer,
        error,
        "org_roles.html",
        &["name", "permissions"],
        typed,
    )
}

/// `POST /orgs/{org}/roles/{role}/delete`: deletes a custom role nobody
/// holds.
async fn delete(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, role)): Path<(String, String)>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    if let Err(error) = me.may(Permission::ManageRoles) {
        return failed(&viewer, error);
    }
    let Ok(id) = role.parse::<i64>() else {
        return super::not_found(&viewer);
    };
    match service::delete(&app, me.account_id(), me.org.id, id).await {
        Ok(()) => done(&format!("/orgs/{}/roles", me.org.id), "role-deleted"),
        Err(EnterpriseError::NotFound) => super::not_found(&viewer),
        Err(error) => match content(&app, &me).await {
            Ok(shown) => refusal(&viewer, error, "org_roles.html", &[], shown),
            Err(error) => failed(&viewer, error),
        },
    }
}
