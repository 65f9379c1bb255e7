//! The members page's changes: a member's roles, suspension, reinstating
//! and removal, and sending and revoking invitations. Each is the API's
//! service call; a refusal shows the page again with the reason.

use super::super::{done, member_of, not_found};
use super::{id_of, path_of, refused_change};
use crate::enterprise::invites::{self, Invitation};
use crate::enterprise::{members, EnterpriseError};
use crate::state::App;
use crate::web::{PageForm, Viewer};
use axum::extract::{Path, State};
use axum::response::Response;
use koban_policy::org::roles::MemberChange;
use minijinja::context;
use std::sync::Arc;

/// A posted form as its pairs: role checkboxes send one `roles` pair each.
type Pairs = Vec<(String, String)>;

fn value<'a>(form: &'a Pairs, name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

fn all(form: &Pairs, name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// `POST /orgs/{org}/members/{account}/roles`: replaces a member's roles,
/// if nobody changed the member since the page showed `version`.
pub(super) async fn set_roles(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, account)): Path<(String, String)>,
    PageForm(form): PageForm<Pairs>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let Some(account) = id_of(&account) else {
        return not_found(&viewer);
    };
    let keys = all(&form, "roles");
    let result = match value(&form, "version").trim().parse::<i64>() {
        Ok(version) => {
            members::set_roles(&app, me.account_id(), me.org.id, account, &keys, version).await
        }
        Err(_) => Err(EnterpriseError::field("version", "invalid_value")),
    };
    match result {
        Ok(_) => done(&path_of(&me), "members-roles-changed"),
        Err(error) => {
            let extra = context! { open_member => account, picked => keys };
            refused_change(&app, &viewer, &me, error, &[], extra).await
        }
    }
}

/// Suspends, reinstates or removes `account` as the service allows.
async fn change(
    app: &App,
    viewer: &Viewer,
    org: &str,
    account: &str,
    what: MemberChange,
    reason: Option<&str>,
) -> Response {
    let me = match member_of(app, viewer, org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let Some(account) = id_of(account) else {
        return not_found(viewer);
    };
    let code = match what {
        MemberChange::Suspend => "members-suspended",
        MemberChange::Reinstate => "members-reinstated",
        MemberChange::Remove => "members-removed",
    };
    match members::change_member(app, me.account_id(), me.org.id, account, what, reason).await {
        // Leaving: the directory is no longer the viewer's to see.
        Ok(_) if what == MemberChange::Remove && account == me.account_id() => {
            crate::web::see_other("/orgs")
        }
        Ok(_) => done(&path_of(&me), code),
        Err(error) => {
            let extra = context! { open_member => account, reason => reason };
            refused_change(app, viewer, &me, error, &[], extra).await
        }
    }
}

/// `POST /orgs/{org}/members/{account}/suspend` (with an optional reason).
pub(super) async fn suspend(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, account)): Path<(String, String)>,
    PageForm(form): PageForm<Pairs>,
) -> Response {
    let reason = value(&form, "reason");
    change(
        &app,
        &viewer,
        &org,
        &account,
        MemberChange::Suspend,
        Some(reason),
    )
    .await
}

/// `POST /orgs/{org}/members/{account}/reinstate`.
pub(super) async fn reinstate(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, account)): Path<(String, String)>,
    PageForm(_): PageForm<Pairs>,
) -> Response {
    change(&app, &viewer, &org, &account, MemberChange::Reinstate, None).await
}

/// `POST /orgs/{org}/members/{account}/remove` (the page asks first).
pub(super) async fn remove(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, account)): Path<(String, String)>,
    PageForm(_): PageForm<Pairs>,
) -> Response {
    change(&app, &viewer, &org, &account, MemberChange::Remove, None).await
}

/// `POST /orgs/{org}/members/invites`: invites someone by email or SMS.
pub(super) async fn invite(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    PageForm(form): PageForm<Pairs>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let roles = all(&form, "roles");
    let region = Some(value(&form, "region")).filter(|r| !r.is_empty());
    let sent = invites::invite(
        &app,
        me.account_id(),
        me.org.id,
        Invitation {
            contact: value(&form, "contact"),
            region,
            display_name: value(&form, "display_name"),
            roles: &roles,
            lang: viewer.lang,
        },
    )
    .await;
    match sent {
        Ok(_) => done(&path_of(&me), "members-invite-sent"),
        Err(error) => {
            let values = context! {
                contact => value(&form, "contact"), region => region,
                display_name => value(&form, "display_name"), roles => roles,
            };
            let extra = context! { values => values, open_form => "invite" };
            let fields = ["contact", "region", "display_name", "roles"];
            refused_change(&app, &viewer, &me, error, &fields, extra).await
        }
    }
}

/// `POST /orgs/{org}/members/invites/{invite}/revoke`.
pub(super) async fn revoke(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, invite)): Path<(String, String)>,
    PageForm(_): PageForm<Pairs>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let Some(invite) = id_of(&invite) else {
        return not_found(&viewer);
    };
    match invites::revoke(&app, me.account_id(), me.org.id, invite).await {
        Ok(()) => done(&path_of(&me), "members-invite-revoked"),
        Err(error) => refused_change(&app, &viewer, &me, error, &[], context! {}).await,
    }
}
