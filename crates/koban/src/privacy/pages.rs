//! `/account/privacy`: the person's exports (ask, watch the progress,
//! download while the link lasts) and their account's deletion (ask with
//! a fresh step-up, see the date, cancel; a sign-in since asking shows as
//! the cancellation it is). Each action calls the service the API calls.

use super::deletion::{self, PrivacyDeletion};
use super::export::{self, PrivacyExport};
use super::PrivacyError;
use crate::accounts::sessions::Viewing;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::i18n::t;
use crate::web::{render, see_other, url_with, Viewer, When};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use std::sync::Arc;

/// The page's templates.
pub const TEMPLATES: &[crate::web::render::Template] =
    &[("privacy.html", include_str!("../../templates/privacy.html"))];

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/account/privacy", get(privacy_page))
        .route("/account/privacy/exports", post(ask_export))
        .route("/account/privacy/exports/{id}/download", get(download))
        .route("/account/privacy/deletion", post(ask_deletion))
        .route("/account/privacy/deletion/cancel", post(cancel_deletion))
}

const HERE: &str = "/account/privacy";

#[derive(Debug, Default, serde::Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

/// An export as the page shows it.
#[derive(serde::Serialize)]
struct ExportView {
    id: i64,
    status: String,
    progress: i64,
    created: When,
    expires: Option<When>,
    size: String,
    download: Option<String>,
}

fn export_view(viewer: &Viewer, e: PrivacyExport) -> ExportView {
    ExportView {
        id: e.id,
        created: viewer.when(e.created_at),
        expires: e.expires_at.map(|at| viewer.when(at)),
        size: e
            .bytes
            .map(|b| format!("{:.1} KB", b as f64 / 1024.0))
            .unwrap_or_default(),
        download: e
            .download
            .as_ref()
            .map(|_| format!("/account/privacy/exports/{}/download", e.id)),
        status: e.status,
        progress: e.progress,
    }
}

/// The deletion request as the page shows it.
#[derive(serde::Serialize)]
struct DeletionView {
    status: String,
    erase_after: When,
    cancelled_at: Option<When>,
    cancelled_by: Option<String>,
}

fn deletion_view(viewer: &Viewer, d: PrivacyDeletion) -> DeletionView {
    DeletionView {
        status: d.status,
        erase_after: viewer.when(d.erase_after),
        cancelled_at: d.cancelled_at.map(|at| viewer.when(at)),
        cancelled_by: d.cancelled_by,
    }
}

/// `GET /account/privacy`.
async fn privacy_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", HERE)]));
    };
    let account_id = current.account.id;
    let page = async {
        let exports = export::list(&app, account_id).await?;
        let deletion = deletion::status(&app, account_id).await?;
        // Said before the person asks, not only inside the archive.
        let region = super::retention::region_of(&app, account_id).await?;
        let withheld = (!super::regional_rules(&app).may_export_tickets(region.as_deref()))
            .then(|| region.unwrap_or_default());
        Ok::<_, PrivacyError>((exports, deletion, withheld))
    };
    let (exports, deletion, withheld) = match page.await {
        Ok(found) => found,
        Err(e) => return refusal(&viewer, e),
    };
    let notice = query.notice.as_deref().and_then(|code| {
        let id = match code {
            "export-asked" => "privacy-notice-export-asked",
            "export-in-progress" => "privacy-notice-export-in-progress",
            "deletion-asked" => "privacy-notice-deletion-asked",
            "deletion-cancelled" => "privacy-notice-deletion-cancelled",
            _ => return None,
        };
        Some(t(viewer.lang, id, &[]))
    });
    let in_progress = exports
        .iter()
        .any(|e| matches!(e.status.as_str(), "queued" | "preparing"));
    let exports: Vec<ExportView> = exports
        .into_iter()
        .map(|e| export_view(&viewer, e))
        .collect();
    let deletion = deletion.map(|d| deletion_view(&viewer, d));
    render::page(
        &viewer,
        StatusCode::OK,
        "privacy.html",
        context! {
            exports => exports,
            in_progress => in_progress,
            deletion => deletion,
            grace_days => app.config.privacy_deletion_grace_days,
            link_days => app.config.privacy_export_link_days,
            notice => notice,
            withheld_region => withheld,
        },
    )
}

/// `POST /account/privacy/exports`.
async fn ask_export(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", HERE)]));
    };
    match export::request(&app, current.account.id).await {
        Ok((_, true)) => see_other("/account/privacy?notice=export-asked"),
        Ok((_, false)) => see_other("/account/privacy?notice=export-in-progress"),
        Err(e) => refusal(&viewer, e),
    }
}

/// `GET /account/privacy/exports/{id}/download`.
async fn download(State(app): State<Arc<App>>, viewer: Viewer, Path(id): Path<String>) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", HERE)]));
    };
    let Ok(id) = id.parse::<i64>() else {
        return refusal(&viewer, PrivacyError::NotFound);
    };
    match export::archive(&app, current.account.id, id).await {
        Ok(bytes) => super::api::archive_response(id, bytes),
        Err(e) => refusal(&viewer, e),
    }
}

/// `POST /account/privacy/deletion`: without a fresh step-up, to the
/// step-up page and back here.
async fn ask_deletion(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", HERE)]));
    };
    if crate::security::totp::require_step_up(current).is_err() {
        return see_other(&url_with("/account/security/step-up", &[("next", HERE)]));
    }
    match deletion::request(&app, current).await {
        Ok(_) => see_other("/account/privacy?notice=deletion-asked"),
        Err(e) => refusal(&viewer, e),
    }
}

/// `POST /account/privacy/deletion/cancel`.
async fn cancel_deletion(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", HERE)]));
    };
    match deletion::cancel(&app, current.account.id).await {
        Ok(_) => see_other("/account/privacy?notice=deletion-cancelled"),
        Err(e) => refusal(&viewer, e),
    }
}

/// The error page for a refusal, worded as the API words it.
fn refusal(viewer: &Viewer, error: PrivacyError) -> Response {
    let problem = Problem::from(error);
    let args: Vec<(&str, String)> = problem.args.clone();
    render::page(
        viewer,
        problem.status,
        "error.html",
        context! {
            status => problem.status.as_u16(),
            message => t(viewer.lang, problem.message, &args),
        },
    )
}
