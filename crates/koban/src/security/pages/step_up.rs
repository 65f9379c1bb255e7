//! Step-up: a fresh second factor before a sensitive change.

use super::*;
use crate::accounts::sessions::Viewing;

/// Where a passed step-up goes: a page of the security center, or the
/// privacy page (deleting the account needs a step-up).
pub(super) fn step_up_next(next: &str) -> &str {
    let next = safe_next(Some(next), "/account/security");
    if next.starts_with("/account/security") || next == "/account/privacy" {
        next
    } else {
        "/account/security"
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct StepUpQuery {
    #[serde(default)]
    next: String,
    notice: Option<String>,
}

pub(super) async fn step_up_context(
    app: &App,
    current: &Current,
    next: &str,
    method: &str,
    notice: Option<String>,
) -> Result<minijinja::Value, AccountError> {
    let factors = totp::factors(app, current.account.id).await?;
    let (methods, method) = code_methods(factors, method);
    Ok(context! {
        section => "step-up",
        on => factors.on(),
        totp => factors.totp,
        passkey => factors.passkey,
        methods => methods,
        method => method,
        destination => masked_contact(&current.account),
        next => step_up_next(next),
        notice => notice,
    })
}

/// `GET /account/security/step-up?next=…`: confirm it's you.
pub(super) async fn step_up_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<StepUpQuery>,
) -> Response {
    let Some(current) = viewer.current() else {
        return sign_in_first(&viewer.here);
    };
    let notice = notice(viewer.lang, query.notice.as_deref());
    show(
        &viewer,
        "step_up.html",
        step_up_context(&app, current, &query.next, "", notice).await,
    )
}

pub(super) async fn step_up_refused(
    app: &App,
    viewer: &mut Viewer,
    current: &Current,
    form: &CodeForm,
    error: AccountError,
) -> Response {
    viewer.here = url_with(
        "/account/security/step-up",
        &[("next", step_up_next(&form.next))],
    );
    let page = match step_up_context(app, current, &form.next, &form.method, None).await {
        Ok(page) => page,
        Err(e) => return failed(viewer, e),
    };
    match explain(viewer, error, &["code", "method"]) {
        Ok(feedback) => refused(viewer, "step_up.html", feedback, page),
        Err(response) => response,
    }
}

/// `POST /account/security/step-up`: a fresh second factor, then back to the action.
pub(super) async fn step_up(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    PageForm(form): PageForm<CodeForm>,
) -> Response {
    let Some(current) = viewer.current().cloned() else {
        return sign_in_first("/account/security");
    };
    let result = if form.method == "passkey" {
        match credential_field(&form.credential) {
            Ok(credential) => passkeys::step_up(&app, &current, &form.ceremony, credential).await,
            Err(e) => Err(e),
        }
    } else {
        totp::step_up(&app, &current, &form.method, &form.code).await
    };
    match result {
        Ok(()) => see_other(step_up_next(&form.next)),
        Err(error) => step_up_refused(&app, &mut viewer, &current, &form, error).await,
    }
}

/// `POST /account/security/step-up/code`: a code to a verified contact (accounts without 2FA).
pub(super) async fn step_up_code(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    PageForm(form): PageForm<CodeForm>,
) -> Response {
    let Some(current) = viewer.current().cloned() else {
        return sign_in_first("/account/security");
    };
    match totp::send_step_up_code(&app, &current).await {
        Ok(()) => see_other(&url_with(
            "/account/security/step-up",
            &[
                ("next", step_up_next(&form.next)),
                ("notice", "step-up-sent"),
            ],
        )),
        Err(error) => step_up_refused(&app, &mut viewer, &current, &form, error).await,
    }
}
