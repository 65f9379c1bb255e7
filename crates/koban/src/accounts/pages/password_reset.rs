//! A forgotten password: the code sent, then the new password with it.

use super::*;

// ---- Forgotten password --------------------------------------------------

#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub(super) struct ForgotForm {
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    region: String,
}

/// `GET /forgot`.
pub(super) async fn forgot_page(viewer: Viewer, Query(form): Query<ForgotForm>) -> Response {
    render::page(
        &viewer,
        StatusCode::OK,
        "forgot.html",
        context! { values => form, regions => REGIONS },
    )
}

/// `POST /forgot`: sends a reset code if the account exists (and says the
/// same either way, so the page cannot be used to find out who is registered).
pub(super) async fn forgot(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    info: ClientInfo,
    PageForm(form): PageForm<ForgotForm>,
) -> Response {
    let client = client(info, &viewer);
    let result = async {
        let contact = service::parse_login_identifier(&form.identifier, non_empty(&form.region))?;
        check_rate(&app, &contact)?;
        service::send_code(&app, &contact, Purpose::PasswordReset, None, &client).await?;
        Ok::<_, AccountError>(contact)
    }
    .await;
    match result {
        Ok(contact) => see_other(&url_with(
            "/reset",
            &[("identifier", contact.as_str()), ("notice", "code-sent")],
        )),
        Err(error) => match explain(&viewer, error, &["identifier"]) {
            Ok(feedback) => refused(
                &viewer,
                "forgot.html",
                feedback,
                context! { values => form, regions => REGIONS },
            ),
            Err(response) => response,
        },
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ResetForm {
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    new_password: String,
    notice: Option<String>,
}

fn reset_context(identifier: &str, code: &str, notice: Option<String>) -> minijinja::Value {
    let contact = service::parse_login_identifier(identifier, None).ok();
    context! {
        values => context! { identifier => identifier, code => code },
        identifier => contact.as_ref().map(|c| c.as_str().to_string()),
        destination => contact.as_ref().map(Contact::masked),
        notice => notice,
    }
}

/// `GET /reset?identifier=…`.
pub(super) async fn reset_page(viewer: Viewer, Query(form): Query<ResetForm>) -> Response {
    let notice = notice(viewer.lang, form.notice.as_deref());
    render::page(
        &viewer,
        StatusCode::OK,
        "reset.html",
        reset_context(&form.identifier, "", notice),
    )
}

/// `POST /reset`: a new password with the code; every session ends.
pub(super) async fn reset(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<ResetForm>,
) -> Response {
    let result = async {
        let contact = service::parse_login_identifier(&form.identifier, None)?;
        check_rate(&app, &contact)?;
        service::reset_password(&app, &contact, &form.code, &form.new_password).await?;
        Ok::<_, AccountError>(contact)
    }
    .await;
    match result {
        Ok(contact) => {
            let mut response = see_other(&url_with(
                "/signin",
                &[("identifier", contact.as_str()), ("notice", "reset")],
            ));
            // The reset ended every session, this browser's included.
            crate::web::set_cookie(&mut response, crate::web::clear_session_cookie(&app));
            response
        }
        Err(error) => match explain(&viewer, error, &["identifier", "code", "new_password"]) {
            Ok(feedback) => refused(
                &viewer,
                "reset.html",
                feedback,
                reset_context(&form.identifier, &form.code, None),
            ),
            Err(response) => response,
        },
    }
}
