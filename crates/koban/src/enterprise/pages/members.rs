//! The members page of the organization console: the directory (search,
//! filters, paging), each member's roles and status changed by those whose
//! roles allow it, the pending invitations and the invitation form, and
//! inviting from a CSV file with a report of every row. Reading and every
//! change go through the same service functions as the API.

#[path = "members_actions.rs"]
mod actions;
#[path = "members_import.rs"]
mod import;

use super::{failed, frame, member_of, notice};
use crate::accounts::pages::REGIONS;
use crate::enterprise::access::Acting;
use crate::enterprise::store::members::MemberRow;
use crate::enterprise::{invites, members, roles, EnterpriseError};
use crate::http::pagination::PageQuery;
use crate::state::App;
use crate::web::{render, url_with, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::org::roles::Permission;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Members shown on one page of the directory, unless the address says.
const PAGE_SIZE: i64 = 20;
/// Pending invitations shown (newest first).
const INVITES_SHOWN: i64 = 100;

/// The notices a change on this page comes back with.
const NOTICES: &[&str] = &[
    "members-roles-changed",
    "members-suspended",
    "members-reinstated",
    "members-removed",
    "members-invite-sent",
    "members-invite-revoked",
];

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/orgs/{org}/members", get(page))
        .route(
            "/orgs/{org}/members/{account}/roles",
            post(actions::set_roles),
        )
        .route(
            "/orgs/{org}/members/{account}/suspend",
            post(actions::suspend),
        )
        .route(
            "/orgs/{org}/members/{account}/reinstate",
            post(actions::reinstate),
        )
        .route(
            "/orgs/{org}/members/{account}/remove",
            post(actions::remove),
        )
        .route("/orgs/{org}/members/invites", post(actions::invite))
        .route(
            "/orgs/{org}/members/invites/{invite}/revoke",
            post(actions::revoke),
        )
        .route("/orgs/{org}/members/import", post(import::import))
}

/// The page's own address.
fn path_of(me: &Acting) -> String {
    format!("/orgs/{}/members", me.org.id)
}

/// The directory's filters as the address carries them.
#[derive(Default)]
struct Filters {
    search: String,
    status: String,
    role: String,
    cursor: Option<String>,
    /// Members per page, when the address names it (as the API's `limit`).
    limit: String,
}

impl Filters {
    fn of(query: &BTreeMap<String, String>) -> Filters {
        let text = |name: &str| query.get(name).cloned().unwrap_or_default();
        Filters {
            search: text("search"),
            status: text("status"),
            role: text("role"),
            cursor: query.get("cursor").filter(|c| !c.is_empty()).cloned(),
            limit: text("limit"),
        }
    }

    /// The filters for the service: a blank select is no filter.
    fn directory(&self) -> members::Directory<'_> {
        let given = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
        members::Directory {
            search: given(&self.search).map(|_| self.search.as_str()),
            status: given(&self.status).map(|_| self.status.as_str()),
            role: given(&self.role).map(|_| self.role.as_str()),
        }
    }

    /// The address of the page after the last one shown.
    fn next(&self, base: &str, cursor: &str) -> String {
        url_with(
            base,
            &[
                ("search", &self.search),
                ("status", &self.status),
                ("role", &self.role),
                ("limit", &self.limit),
                ("cursor", cursor),
            ],
        )
    }
}

/// One member as the directory shows them.
fn member_view(viewer: &Viewer, me: &Acting, m: &MemberRow) -> minijinja::Value {
    context! {
        id => m.account_id,
        name => m.display_name,
        contact => m.email.clone().or_else(|| m.phone.clone()).unwrap_or_default(),
        roles => m.roles,
        status => m.status,
        reason => m.status_reason,
        joined => viewer.when(m.joined_at).text,
        version => m.version,
        is_me => m.account_id == me.account_id(),
    }
}

/// Everything the page shows around its forms: the directory as
/// `filters` choose, the organization's roles, and (for those who may
/// invite) the pending invitations. A filter the service refuses comes
/// back as the error, to be shown beside the search form.
async fn content(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
    filters: &Filters,
) -> Result<(minijinja::Value, Option<EnterpriseError>), EnterpriseError> {
    me.may(Permission::ReadMembers)?;
    let all_roles = roles::list(app, me.account_id(), me.org.id).await?;
    let customs: BTreeMap<String, String> = all_roles
        .iter()
        .filter(|r| !r.built_in)
        .map(|r| (r.key.clone(), r.name.clone()))
        .collect();
    let role_choices: Vec<minijinja::Value> = all_roles
        .iter()
        .map(|r| context! { key => r.key, built_in => r.built_in, name => r.name })
        .collect();
    let limit = match filters.limit.as_str() {
        "" => Ok(PAGE_SIZE),
        text => text
            .parse::<i64>()
            .map_err(|_| EnterpriseError::field("limit", "invalid_value")),
    };
    let bounds = limit.and_then(|limit| {
        PageQuery {
            cursor: filters.cursor.clone(),
            limit: Some(limit),
        }
        .bounds()
        .map_err(|problem| {
            let field = problem
                .errors
                .first()
                .map_or("cursor", |e| e.field.as_str());
            EnterpriseError::field(field, "invalid_value")
        })
    });
    let listed = match bounds {
        Ok((before, limit)) => {
            let listed = members::directory(
                app,
                me.account_id(),
                me.org.id,
                filters.directory(),
                before,
                limit + 1,
            )
            .await;
            listed.map(|rows| (rows, limit))
        }
        Err(error) => Err(error),
    };
    let (rows, limit, filter_error) = match listed {
        Ok((rows, limit)) => (rows, limit, None),
        Err(error @ EnterpriseError::Invalid(_)) => (Vec::new(), PAGE_SIZE, Some(error)),
        Err(error) => return Err(error),
    };
    let page = crate::http::pagination::page(rows, limit, |m| m.account_id);
    let next = page
        .next_cursor
        .as_deref()
        .map(|cursor| filters.next(&path_of(me), cursor));
    let invitations = if me.may(Permission::InviteMembers).is_ok() {
        invites::pending(app, me.account_id(), me.org.id, i64::MAX, INVITES_SHOWN)
            .await?
            .iter()
            .map(|i| {
                context! {
                    id => i.id, contact => i.contact, name => i.display_name,
                    roles => i.roles, expires => viewer.when(i.expires_at).text,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let rows: Vec<minijinja::Value> = page
        .items
        .iter()
        .map(|m| member_view(viewer, me, m))
        .collect();
    let shown = context! {
        frame => frame(me, "members"),
        members => rows,
        next => next,
        filters => context! { search => filters.search, status => filters.status, role => filters.role },
        paged => filters.cursor.is_some(),
        customs => customs,
        roles => role_choices,
        invitations => invitations,
        regions => REGIONS,
    };
    Ok((shown, filter_error))
}

/// `GET /orgs/{org}/members`.
async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let filters = Filters::of(&query);
    let (shown, filter_error) = match content(&app, &viewer, &me, &filters).await {
        Ok(shown) => shown,
        Err(error) => return failed(&viewer, error),
    };
    let notice = notice(
        viewer.lang,
        query.get("notice").map(String::as_str),
        NOTICES,
    );
    let shown = context! { notice => notice, ..shown };
    match filter_error {
        None => render::page(&viewer, StatusCode::OK, "org_members.html", shown),
        Some(error) => super::refusal(
            &viewer,
            error,
            "org_members.html",
            &["search", "status", "role"],
            shown,
        ),
    }
}

/// The page again after a refused change: the reasons in its alert, or
/// beside the `fields` of the form that was sent, with what `extra` adds
/// (the input kept, which member's actions to open). A refusal that means
/// "no such member here" is the 404 page, as the API answers.
async fn refused_change(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
    error: EnterpriseError,
    fields: &[&str],
    extra: minijinja::Value,
) -> Response {
    if matches!(error, EnterpriseError::NotFound) {
        return super::not_found(viewer);
    }
    match content(app, viewer, me, &Filters::default()).await {
        Ok((shown, _)) => super::refusal(
            viewer,
            error,
            "org_members.html",
            fields,
            context! { ..extra, ..shown },
        ),
        // Someone who may not see the directory sees why the change was refused.
        Err(_) => failed(viewer, error),
    }
}

/// An id from the address; anything else names nothing.
fn id_of(text: &str) -> Option<i64> {
    text.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    /// The page renders with nothing in it (no frame, no members) in every
    /// language: every optional part of the template reads as empty.
    #[test]
    fn the_page_renders_empty_in_every_language() {
        let templates = crate::app::domains()
            .iter()
            .flat_map(|d| d.templates.iter().copied())
            .collect();
        crate::web::render::register(templates);
        for lang in crate::web::i18n::Lang::ALL {
            let html = crate::web::render::render_empty("org_members.html", lang)
                .unwrap_or_else(|e| panic!("{lang:?}: {e:#}"));
            assert!(html.contains("id=\"member-search\""), "{lang:?}");
        }
    }
}
