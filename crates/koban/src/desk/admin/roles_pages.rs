//! The desk admin's roles page: the staff, a form to change a role, and
//! who changed whose role.

use crate::accounts::pages::{explain_problem, refused};
use crate::accounts::sessions::Viewing;
use crate::desk::admin::roles;
use crate::desk::admin::roles_api::listing;
use crate::desk::DeskError;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use koban_policy::desk::permissions::{Action, Role};
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Routes of the roles page.
pub fn router() -> Router<Arc<App>> {
    Router::new().route("/desk/admin/agents", get(page).post(change))
}

type Posted = BTreeMap<String, String>;

/// The page's content, or the answer for someone who may not see it.
async fn content(app: &App, viewer: &Viewer) -> Result<minijinja::Value, Response> {
    let Some(current) = viewer.current() else {
        return Err(see_other(&url_with(
            "/signin",
            &[("next", "/desk/admin/agents")],
        )));
    };
    let shown = async {
        roles::require(current, Action::ReadRoles)?;
        listing(app).await
    }
    .await;
    match shown {
        Ok(listing) => Ok(context! {
            agents => listing.agents.iter().map(|a| context! {
                account_id => a.account_id, identifier => a.identifier, role => a.role,
            }).collect::<Vec<_>>(),
            changes => listing.changes.iter().map(|c| context! {
                account_id => c.account_id, from_role => c.from_role, to_role => c.to_role,
                changed_by => c.changed_by, at => viewer.when(c.at).text,
            }).collect::<Vec<_>>(),
            roles => Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        }),
        Err(error) => {
            let problem = Problem::from(error);
            Err(render::error(viewer, problem.status, problem.message))
        }
    }
}

/// `GET /desk/admin/agents`.
async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<Posted>,
) -> Response {
    match content(&app, &viewer).await {
        Ok(page) => render::page(
            &viewer,
            StatusCode::OK,
            "desk_admin_agents.html",
            context! { saved => query.contains_key("saved"), ..page },
        ),
        Err(response) => response,
    }
}

/// `POST /desk/admin/agents`: changes one account's role.
async fn change(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let page = match content(&app, &viewer).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let Some(current) = viewer.current() else {
        return see_other("/signin");
    };
    let result = async {
        roles::require(current, Action::ChangeRole)?;
        let account_id = form
            .get("account_id")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .ok_or_else(|| DeskError::field("account_id", "invalid_value"))?;
        let role = form.get("role").map(String::as_str).unwrap_or_default();
        roles::change(&app, current, account_id, role).await
    }
    .await;
    match result {
        Ok(()) => see_other("/desk/admin/agents?saved=1"),
        Err(error) => match explain_problem(&viewer, Problem::from(error), &["account_id", "role"])
        {
            Ok(feedback) => refused(&viewer, "desk_admin_agents.html", feedback, page),
            Err(response) => response,
        },
    }
}
