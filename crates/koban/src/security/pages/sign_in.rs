//! Signing in on the web: the password form, and the code page that
//! confirms a new account's contact and signs the person in. Both end in
//! the security checks of [`signin`].

use crate::accounts::pages::{
    check_rate, explain, non_empty, notice, refused, resend_at, verify_context, VerifyForm,
    VerifyQuery, REGIONS,
};
use crate::accounts::service;
use crate::accounts::AccountError;
use crate::security::client::ClientContext;
use crate::security::signin;
use crate::state::App;
use crate::store::now_ms;
use crate::web::{render, safe_next, see_other, url_with, PageForm, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use std::sync::Arc;

/// `GET /verify?identifier=…`.
pub(super) async fn verify_page(viewer: Viewer, Query(query): Query<VerifyQuery>) -> Response {
    let notice = notice(viewer.lang, query.notice.as_deref());
    render::page(
        &viewer,
        StatusCode::OK,
        "verify.html",
        verify_context(
            &query.identifier,
            "",
            resend_at(query.sent, now_ms()),
            notice,
        ),
    )
}

/// `POST /verify`: checks the code, activates the account and signs in.
pub(super) async fn verify(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    mut ctx: ClientContext,
    PageForm(form): PageForm<VerifyForm>,
) -> Response {
    ctx.lang = viewer.lang;
    let result = async {
        let contact = service::parse_login_identifier(&form.identifier, None)?;
        check_rate(&app, &contact)?;
        let account = service::verify_contact_code(&app, &contact, &form.code).await?;
        // Proving the contact signs in like any sign-in, on this browser's
        // device (or stops at the device limit), as the API does.
        let outcome = signin::finish(
            &app,
            &account,
            &signin::spec(&ctx),
            &ctx,
            0,
            &[],
            signin::Already::default(),
        )
        .await?;
        Ok::<_, AccountError>((outcome, contact.kind()))
    }
    .await;
    match result {
        // The account page then says what was just confirmed.
        Ok((outcome, kind)) => {
            let next = format!("/account?notice=verified-{kind}");
            super::after_sign_in(&app, outcome, &ctx, &next)
        }
        Err(error) => match explain(&viewer, error, &["identifier", "code"]) {
            Ok(feedback) => refused(
                &viewer,
                "verify.html",
                feedback,
                verify_context(&form.identifier, &form.code, None, None),
            ),
            Err(response) => response,
        },
    }
}

#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub(super) struct SigninForm {
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    region: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default, skip_serializing)]
    notice: Option<String>,
}

fn signin_context(form: &SigninForm, notice: Option<String>) -> minijinja::Value {
    context! {
        values => form,
        regions => REGIONS,
        notice => notice,
        verify_url => service::parse_login_identifier(&form.identifier, non_empty(&form.region))
            .ok()
            .map(|c| url_with("/verify", &[("identifier", c.as_str())])),
    }
}

/// `GET /signin`.
pub(super) async fn signin_page(viewer: Viewer, Query(form): Query<SigninForm>) -> Response {
    if viewer.who.is_some() {
        return see_other(safe_next(Some(&form.next), "/account"));
    }
    let notice = notice(viewer.lang, form.notice.as_deref());
    render::page(
        &viewer,
        StatusCode::OK,
        "signin.html",
        signin_context(&form, notice),
    )
}

/// `POST /signin`.
pub(super) async fn signin(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    mut ctx: ClientContext,
    PageForm(form): PageForm<SigninForm>,
) -> Response {
    ctx.lang = viewer.lang;
    let next = safe_next(Some(&form.next), "/account");
    let mut identifier = form.identifier.clone();
    let result = async {
        let contact = service::parse_login_identifier(&form.identifier, non_empty(&form.region))?;
        identifier = contact.as_str().to_string();
        signin::sign_in(&app, &contact, &form.password, &ctx).await
    }
    .await;
    match result {
        Ok(outcome) => super::after_sign_in(&app, outcome, &ctx, next),
        Err(AccountError::Locked {
            retry_after_ms,
            lock,
            reference,
        }) => super::locked_redirect(&identifier, retry_after_ms, lock, reference),
        Err(error) => {
            // Before the try that would lock, the way that does not lock.
            let last_try = matches!(error, AccountError::BadCredentialsLastTry);
            match explain(&viewer, error, &["identifier", "password"]) {
                Ok(feedback) => refused(
                    &viewer,
                    "signin.html",
                    feedback,
                    context! { last_try => last_try, ..signin_context(&form, None) },
                ),
                Err(response) => response,
            }
        }
    }
}
