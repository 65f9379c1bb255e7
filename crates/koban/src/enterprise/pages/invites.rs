//! The invitation link of the message (`/invites/{token}`): the invited
//! person, signed in with the address it was sent to, sees which
//! organization invites them into which roles, and accepts or declines.
//! Anyone else reads "no invitation here", never whose it is.

use super::{done, failed, field};
use crate::accounts::sessions::Viewing;
use crate::enterprise::invites::{self, Proof};
use crate::enterprise::EnterpriseError;
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<App>> {
    Router::new().route("/invites/{token}", get(show).post(answer))
}

/// The answer for a link the viewer cannot use: not theirs (or no such
/// link) reads as 404 with how to open it; used or expired says so.
fn unusable(viewer: &Viewer, error: EnterpriseError) -> Response {
    if matches!(error, EnterpriseError::NotFound) {
        let who = viewer
            .who
            .as_ref()
            .map(|w| w.display_identifier().to_string())
            .unwrap_or_default();
        return render::page(
            viewer,
            StatusCode::NOT_FOUND,
            "org_invite.html",
            context! { not_yours => true, who => who },
        );
    }
    failed(viewer, error)
}

/// `GET /invites/{token}`.
async fn show(State(app): State<Arc<App>>, viewer: Viewer, Path(token): Path<String>) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", &viewer.here)]));
    };
    match invites::preview(&app, current.account.id, &token).await {
        Ok(invitation) => {
            let customs = super::role_names(&app, invitation.organization_id)
                .await
                .unwrap_or_default();
            render::page(
                &viewer,
                StatusCode::OK,
                "org_invite.html",
                context! {
                    organization => invitation.organization_name,
                    roles => invitation.roles,
                    customs => customs,
                    expires => viewer.when(invitation.expires_at).text,
                    token => token,
                },
            )
        }
        Err(error) => unusable(&viewer, error),
    }
}

/// `POST /invites/{token}`: `answer` is `accept` or `decline`.
async fn answer(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(token): Path<String>,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", &viewer.here)]));
    };
    let accept = match field(&form, "answer") {
        "accept" => true,
        "decline" => false,
        _ => return see_other(&format!("/invites/{token}")),
    };
    match invites::decide(&app, current.account.id, Proof::Token(&token), accept).await {
        Ok(invite) if accept => done(&format!("/orgs/{}", invite.org_id), "joined"),
        Ok(_) => done("/orgs", "declined"),
        Err(error) => unusable(&viewer, error),
    }
}
