//! The account home: who the account is, its security reminders, and the
//! password change. It belongs to the security center because what it
//! shows first is what to do for the account's safety.

use crate::accounts::pages::{explain, notice, refused};
use crate::accounts::service;
use crate::accounts::sessions::Viewing;
use crate::state::App;
use crate::web::i18n::t;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use std::sync::Arc;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct AccountQuery {
    notice: Option<String>,
}

/// A security reminder as the account page shows it.
#[derive(Debug, serde::Serialize)]
struct ReminderView {
    kind: String,
    text: String,
    detail: String,
    /// Where to act on it.
    href: String,
    action: String,
}

async fn account_context(app: &App, viewer: &Viewer, notice: Option<String>) -> minijinja::Value {
    let Some(current) = viewer.current() else {
        return context! {};
    };
    let reminders = match crate::security::reminders::current(app, &current.account).await {
        Ok(list) => list,
        Err(error) => {
            // The page is still useful without them.
            tracing::warn!(%error, "security reminders unavailable");
            vec![]
        }
    };
    let reminders: Vec<ReminderView> = reminders
        .into_iter()
        .map(|r| {
            // A notice another domain pushed brings its own words and link.
            if let (Some(href), Some(action)) = (r.link, r.action) {
                return ReminderView {
                    kind: r.kind,
                    text: r.detail,
                    detail: String::new(),
                    href,
                    action,
                };
            }
            let (href, action) = match r.kind.as_str() {
                "enable_two_factor" => ("/account/security/2fa", "reminder-action-2fa"),
                "review_stale_device" => ("/account/security/devices", "reminder-action-devices"),
                _ => ("#password-form", "reminder-action-password"),
            };
            ReminderView {
                text: t(viewer.lang, &format!("reminder-{}-subject", r.kind), &[]),
                kind: r.kind,
                detail: r.detail,
                href: href.to_string(),
                action: t(viewer.lang, action, &[]),
            }
        })
        .collect();
    let account = &current.account;
    let since = jiff::Timestamp::from_millisecond(account.created_at)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default();
    context! {
        account => context! {
            identifier => account.display_identifier(),
            phone => account.phone.as_deref().map(koban_policy::contact::display_phone),
            phone_verified => account.phone_verified,
            email => account.email,
            email_verified => account.email_verified,
            role => account.role,
            since => since,
        },
        reminders => reminders,
        notice => notice,
    }
}

/// `GET /account`.
pub(super) async fn account_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<AccountQuery>,
) -> Response {
    if viewer.who.is_none() {
        return see_other(&url_with("/signin", &[("next", "/account")]));
    }
    let notice = notice(viewer.lang, query.notice.as_deref());
    render::page(
        &viewer,
        StatusCode::OK,
        "account.html",
        account_context(&app, &viewer, notice).await,
    )
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// `POST /account/password`: every other session ends.
pub(super) async fn change_password(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    PageForm(form): PageForm<PasswordForm>,
) -> Response {
    let Some(current) = viewer.current() else {
        return see_other(&url_with("/signin", &[("next", "/account")]));
    };
    let result =
        service::change_password(&app, current, &form.current_password, &form.new_password).await;
    match result {
        Ok(()) => see_other("/account?notice=password-changed"),
        Err(error) => {
            viewer.here = "/account".into();
            match explain(&viewer, error, &["current_password", "new_password"]) {
                Ok(feedback) => refused(
                    &viewer,
                    "account.html",
                    feedback,
                    account_context(&app, &viewer, None).await,
                ),
                Err(response) => response,
            }
        }
    }
}
