//! The desk administration pages for teams and their members (calendars in
//! [`crate::desk::admin::calendar_pages`], SLA policies in
//! [`crate::desk::admin::sla_pages`]). Supervisors read them, desk admins
//! change them, through the same services as the JSON API, so each change
//! is checked and logged with who made it the same way.

use crate::accounts::pages::{explain_problem, internal, refused};
use crate::accounts::sessions::{Current, Viewing};
use crate::desk::admin::routing::{self as admin, DeskMemberInput, DeskTeamInput};
use crate::desk::admin::{calendar_pages, roles, sla_pages};
use crate::desk::store::routing as rstore;
use crate::desk::store::settings;
use crate::desk::DeskError;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::desk::forms::Category;
use koban_policy::desk::permissions::Action;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

const PAGE: &str = "/desk/admin/teams";
const TEMPLATE: &str = "desk_admin_teams.html";

/// A posted form, or a page's query.
pub(crate) type Posted = BTreeMap<String, String>;

/// Routes of the three administration pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(PAGE, get(page).post(save))
        .route("/desk/admin/teams/{slug}/delete", post(delete))
        .route("/desk/admin/teams/{slug}/members", post(save_member))
        .route(
            "/desk/admin/teams/{slug}/members/{account_id}/remove",
            post(remove_member),
        )
        .merge(calendar_pages::router())
        .merge(sla_pages::router())
}

/// The viewer if they may do `action`; else what the other admin pages
/// answer: sign-in for a visitor, the 403 page for anyone else.
#[allow(clippy::result_large_err)]
pub(crate) fn allowed(viewer: &Viewer, action: Action, here: &str) -> Result<Current, Response> {
    let Some(current) = viewer.current() else {
        return Err(see_other(&url_with("/signin", &[("next", here)])));
    };
    match roles::require(current, action) {
        Ok(()) => Ok(current.clone()),
        Err(error) => {
            let problem = Problem::from(error);
            Err(render::error(viewer, problem.status, problem.message))
        }
    }
}

/// Shows `error` on the form of `template` (fields named as the page names
/// them, `rename` turning the service's names into the page's), or the
/// error page when it is not about the form.
pub(crate) fn show_refusal(
    viewer: &Viewer,
    error: DeskError,
    rename: impl Fn(&str) -> String,
    fields: &[&str],
    template: &str,
    page: minijinja::Value,
) -> Response {
    let mut problem = Problem::from(error);
    for e in &mut problem.errors {
        e.field = rename(&e.field);
    }
    match explain_problem(viewer, problem, fields) {
        Ok(feedback) => refused(viewer, template, feedback, page),
        Err(response) => response,
    }
}

/// A comma- or space-separated list as typed.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n', '\r', '\t', '、', '，'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Everything the teams page shows; `values` refill the team form.
async fn content(
    app: &App,
    viewer: &Viewer,
    current: &Current,
    values: &Posted,
) -> Result<minijinja::Value, Response> {
    let read = async {
        let teams = rstore::teams(app.store.read()).await?;
        let calendars = settings::calendars(app.store.read()).await?;
        let staff = crate::desk::admin::roles_api::listing(app).await?;
        let mut shown = Vec::new();
        for team in teams {
            let members = rstore::members(app.store.read(), team.id).await?;
            let calendar = calendars
                .iter()
                .find(|c| c.id == team.calendar_id)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            let members: Vec<minijinja::Value> = members
                .iter()
                .map(|m| {
                    let who = staff.agents.iter().find(|a| a.account_id == m.account_id);
                    context! {
                        account_id => m.account_id, cap => m.cap, available => m.available,
                        open_tickets => m.open_tickets,
                        identifier => who.map(|a| a.identifier.clone()).unwrap_or_default(),
                    }
                })
                .collect();
            shown.push(context! {
                slug => team.slug, name => team.name, languages => team.languages.join(", "),
                regions => team.regions.join(", "), categories => team.categories.join(", "),
                skills => team.skills.join(", "), calendar_id => team.calendar_id,
                calendar => calendar, enterprise_queue => team.enterprise_queue,
                is_default => team.is_default, members_count => members.len(), members => members,
            });
        }
        let calendars: Vec<minijinja::Value> = calendars
            .iter()
            .map(|c| context! { id => c.id, name => c.name })
            .collect();
        let agents: Vec<minijinja::Value> = staff
            .agents
            .iter()
            .filter(|a| a.role != "user")
            .map(|a| context! { account_id => a.account_id, identifier => a.identifier })
            .collect();
        Ok::<_, DeskError>((shown, calendars, agents))
    };
    let (teams, calendars, agents) = read.await.map_err(|e| internal(viewer, &e))?;
    Ok(context! {
        teams => teams, calendars => calendars, agents => agents,
        categories => Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        can_edit => current.account.has_role("admin"),
        values => values,
    })
}

/// `GET /desk/admin/teams` (`?edit=<slug>` fills the form with that team).
async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<Posted>,
) -> Response {
    let current = match allowed(&viewer, Action::ReadRouting, PAGE) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let mut values = Posted::new();
    if let Some(slug) = query.get("edit") {
        match rstore::team(app.store.read(), slug).await {
            Ok(Some(team)) => {
                values.insert("mode".into(), "update".into());
                values.insert("slug".into(), team.slug);
                values.insert("name".into(), team.name);
                values.insert("languages".into(), team.languages.join(", "));
                values.insert("regions".into(), team.regions.join(", "));
                values.insert("categories".into(), team.categories.join(", "));
                values.insert("skills".into(), team.skills.join(", "));
                values.insert("calendar_id".into(), team.calendar_id.to_string());
                if team.enterprise_queue {
                    values.insert("enterprise_queue".into(), "on".into());
                }
            }
            Ok(None) => return render::error(&viewer, StatusCode::NOT_FOUND, "problem-not-found"),
            Err(error) => return internal(&viewer, &error),
        }
    }
    match content(&app, &viewer, &current, &values).await {
        Ok(page) => render::page(
            &viewer,
            StatusCode::OK,
            TEMPLATE,
            context! { saved => query.contains_key("saved"), ..page },
        ),
        Err(response) => response,
    }
}

/// The team form's fields, as the service names them.
const TEAM_FIELDS: [&str; 7] = [
    "slug",
    "name",
    "languages",
    "regions",
    "categories",
    "skills",
    "calendar_id",
];

/// A list field's error names the list, not the item (`regions[2]`).
fn team_field(field: &str) -> String {
    field.split('[').next().unwrap_or(field).to_string()
}

/// `POST /desk/admin/teams`: adds a team (`mode=create`) or rewrites one.
async fn save(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let current = match allowed(&viewer, Action::AdministerRouting, PAGE) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let field = |name: &str| {
        form.get(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let create = field("mode") != "update";
    let result = match field("calendar_id").parse::<i64>() {
        Ok(calendar_id) => {
            let input = DeskTeamInput {
                slug: field("slug"),
                name: field("name"),
                languages: words(&field("languages")),
                regions: words(&field("regions")),
                categories: words(&field("categories")),
                skills: words(&field("skills")),
                calendar_id,
                enterprise_queue: form.contains_key("enterprise_queue"),
            };
            admin::save_team(&app, current.account.id, &input, create).await
        }
        Err(_) => Err(DeskError::field("calendar_id", "invalid_value")),
    };
    match result {
        Ok(()) => see_other(&format!("{PAGE}?saved=1")),
        Err(error) => match content(&app, &viewer, &current, &form).await {
            Ok(page) => show_refusal(&viewer, error, team_field, &TEAM_FIELDS, TEMPLATE, page),
            Err(response) => response,
        },
    }
}

/// Shows the teams page again with `error` (a delete or a member change),
/// its field errors kept to the form of team `slug`.
async fn refuse_on_team(
    app: &App,
    viewer: &Viewer,
    current: &Current,
    slug: &str,
    error: DeskError,
) -> Response {
    match content(app, viewer, current, &Posted::new()).await {
        Ok(page) => show_refusal(
            viewer,
            error,
            |f| {
                if f == "account_id" {
                    "agent".into()
                } else {
                    f.into()
                }
            },
            &["agent", "cap"],
            TEMPLATE,
            context! { failed_team => slug, ..page },
        ),
        Err(response) => response,
    }
}

/// `POST /desk/admin/teams/{slug}/delete`: the default team stays.
async fn delete(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(slug): Path<String>,
    PageForm(_): PageForm<Posted>,
) -> Response {
    let current = match allowed(&viewer, Action::AdministerRouting, PAGE) {
        Ok(current) => current,
        Err(response) => return response,
    };
    match admin::delete_team(&app, current.account.id, &slug).await {
        Ok(()) => see_other(&format!("{PAGE}?saved=1")),
        Err(error) => refuse_on_team(&app, &viewer, &current, &slug, error).await,
    }
}

/// `POST /desk/admin/teams/{slug}/members`: adds an agent (by email, phone
/// or account number) or changes their cap and availability.
async fn save_member(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(slug): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let current = match allowed(&viewer, Action::AdministerRouting, PAGE) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let result = async {
        let agent = form.get("agent").map(|v| v.trim()).unwrap_or_default();
        let staff = crate::desk::admin::roles_api::listing(&app).await?;
        let account_id = staff
            .agents
            .iter()
            .find(|a| {
                a.role != "user"
                    && (a.identifier.eq_ignore_ascii_case(agent)
                        || a.account_id.to_string() == agent)
            })
            .map(|a| a.account_id)
            .ok_or_else(|| DeskError::field("agent", "invalid_value"))?;
        let cap = form
            .get("cap")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .ok_or_else(|| DeskError::field("cap", "not_a_number"))?;
        let member = DeskMemberInput {
            cap,
            available: form.contains_key("available"),
        };
        admin::save_member(&app, current.account.id, &slug, account_id, &member).await
    }
    .await;
    match result {
        Ok(()) => see_other(&format!("{PAGE}?saved=1")),
        Err(error) => refuse_on_team(&app, &viewer, &current, &slug, error).await,
    }
}

/// `POST /desk/admin/teams/{slug}/members/{account_id}/remove`.
async fn remove_member(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((slug, account_id)): Path<(String, i64)>,
    PageForm(_): PageForm<Posted>,
) -> Response {
    let current = match allowed(&viewer, Action::AdministerRouting, PAGE) {
        Ok(current) => current,
        Err(response) => return response,
    };
    match admin::delete_member(&app, current.account.id, &slug, account_id).await {
        Ok(()) => see_other(&format!("{PAGE}?saved=1")),
        Err(error) => refuse_on_team(&app, &viewer, &current, &slug, error).await,
    }
}
