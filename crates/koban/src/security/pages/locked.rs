//! The lock page for a refused sign-in, and self-service unlock.

use super::*;

/// The lock page for a refused sign-in. Unknown identifiers lock exactly
/// like real ones, so the page reveals no more than the refusal did.
pub fn locked_redirect(
    identifier: &str,
    retry_after_ms: Option<i64>,
    lock: Lock,
    reference: Option<LockReference>,
) -> Response {
    let kind = match lock {
        Lock::Temporary => "temporary",
        Lock::Support => "support",
        Lock::NetworkThrottled => "network",
        Lock::NetworkBlocked => "blocked",
    };
    if lock != Lock::Temporary {
        let reference = reference.map(|r| r.to_string()).unwrap_or_default();
        return see_other(&url_with(
            "/locked",
            &[
                ("identifier", identifier),
                ("kind", kind),
                ("reference", &reference),
            ],
        ));
    }
    let until = (now_ms() + retry_after_ms.unwrap_or(60_000).max(0)).to_string();
    see_other(&url_with(
        "/locked",
        &[
            ("identifier", identifier),
            ("kind", "temporary"),
            ("until", &until),
        ],
    ))
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct LockedForm {
    #[serde(default)]
    identifier: String,
    /// `temporary`, `support`, `network` (the address is throttled) or
    /// `blocked` (the address is block-listed).
    #[serde(default)]
    kind: String,
    /// A support lock's reference, as the sign-in answer gave it.
    #[serde(default)]
    reference: String,
    /// When the temporary lock ends, ms since the epoch.
    #[serde(default)]
    until: String,
    /// `code` once an unlock code was asked for.
    #[serde(default)]
    step: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    new_password: String,
    /// With `method=passkey`: filled in by the page's script.
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
    notice: Option<String>,
}

pub(super) fn locked_context(
    viewer: &Viewer,
    form: &LockedForm,
    notice: Option<String>,
) -> minijinja::Value {
    let support = form.kind == "support";
    // Only the shape of a reference is shown back: the page repeats what
    // the sign-in answered, and must not echo arbitrary text.
    let reference = Some(form.reference.trim()).filter(|r| {
        r.len() == 12
            && r.starts_with("LK-")
            && r[3..].bytes().all(|b| b.is_ascii_digit() || b == b'-')
    });
    let until = form.until.trim().parse::<i64>().ok();
    let minutes = until.map(|u| ((u - now_ms()).max(0) + 59_999) / 60_000);
    let method = match form.method.as_str() {
        m @ ("totp" | "recovery_code") => m,
        _ => "code",
    };
    context! {
        identifier => form.identifier,
        destination => service::parse_login_identifier(&form.identifier, None).ok().map(|c| c.masked()),
        support => support,
        reference => reference,
        network => form.kind == "network",
        blocked => form.kind == "blocked",
        lead => minutes.filter(|m| *m > 0).map(|m| if m == 1 {
            t(viewer.lang, "locked-temporary-lead-one", &[])
        } else {
            t(viewer.lang, "locked-temporary-lead", &[("minutes", m.to_string())])
        }),
        until => until.map(|u| viewer.when(u)),
        until_raw => form.until,
        minutes => minutes,
        ended => minutes == Some(0),
        step_code => form.step == "code" || !form.code.is_empty(),
        values => context! { code => form.code, method => method },
        notice => notice,
        signin_url => url_with("/signin", &[("identifier", &form.identifier)]),
        passkey_options_url => url_with("/locked/passkey/options", &[("identifier", &form.identifier)]),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct IdentifierQuery {
    #[serde(default)]
    identifier: String,
}

/// `POST /locked/passkey/options?identifier=…`: the lock page's script asks
/// for the options of `navigator.credentials.get()`; the identifier rides in
/// the address because the script posts no form fields.
pub(super) async fn unlock_passkey_options(
    State(app): State<Arc<App>>,
    Query(query): Query<IdentifierQuery>,
) -> Result<axum::Json<PasskeyOptions>, crate::http::problem::Problem> {
    let contact = service::parse_login_identifier(&query.identifier, None)?;
    app.limiter
        .check_account(contact.as_str())
        .map_err(crate::http::problem::Problem::rate_limited)?;
    Ok(axum::Json(
        super::recovery::passkey_options(&app, &contact).await?,
    ))
}

/// `GET /locked?identifier=…&kind=temporary|support&until=…`.
pub(super) async fn locked_page(viewer: Viewer, Query(form): Query<LockedForm>) -> Response {
    let notice = notice(viewer.lang, form.notice.as_deref());
    render::page(
        &viewer,
        StatusCode::OK,
        "locked.html",
        locked_context(&viewer, &form, notice),
    )
}

pub(super) fn locked_back(viewer: &mut Viewer, form: &LockedForm) {
    // The language switch should come back to the lock page, not to a POST path.
    viewer.here = url_with(
        "/locked",
        &[
            ("identifier", &form.identifier),
            ("kind", &form.kind),
            ("until", &form.until),
            ("step", &form.step),
        ],
    );
}

/// `POST /locked/code`: sends an unlock code to a verified contact (says the
/// same whether or not the account exists or is locked).
pub(super) async fn unlock_code(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    PageForm(form): PageForm<LockedForm>,
) -> Response {
    let result = async {
        let contact = service::parse_login_identifier(&form.identifier, None)?;
        app.limiter
            .check_account(contact.as_str())
            .map_err(AccountError::RateLimited)?;
        super::recovery::send_unlock_code(&app, &contact, viewer.lang).await?;
        Ok::<_, AccountError>(contact)
    }
    .await;
    match result {
        Ok(contact) => see_other(&url_with(
            "/locked",
            &[
                ("identifier", contact.as_str()),
                ("kind", "temporary"),
                ("until", &form.until),
                ("step", "code"),
                ("notice", "unlock-sent"),
            ],
        )),
        Err(error) => {
            locked_back(&mut viewer, &form);
            match explain(&viewer, error, &[]) {
                Ok(feedback) => refused(
                    &viewer,
                    "locked.html",
                    feedback,
                    locked_context(&viewer, &form, None),
                ),
                Err(response) => response,
            }
        }
    }
}

/// `POST /locked/unlock`: the code (or a second factor) and, where wrong
/// passwords caused the lock, a new password; then back to sign in.
pub(super) async fn unlock(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    ctx: ClientContext,
    PageForm(form): PageForm<LockedForm>,
) -> Response {
    let method = match form.method.as_str() {
        "" => "code",
        m => m,
    };
    let result = async {
        let contact = service::parse_login_identifier(&form.identifier, None)?;
        app.limiter
            .check_account(contact.as_str())
            .map_err(AccountError::RateLimited)?;
        let new_password = (!form.new_password.is_empty()).then_some(form.new_password.as_str());
        let proof = if method == "passkey" {
            super::recovery::Proof::Passkey {
                ceremony: &form.ceremony,
                credential: credential_field(&form.credential)?,
            }
        } else {
            super::recovery::Proof::Code {
                method,
                answer: &form.code,
            }
        };
        super::recovery::unlock(&app, &contact, proof, new_password, &ctx.ip.to_string()).await?;
        Ok::<_, AccountError>(contact)
    }
    .await;
    match result {
        Ok(contact) => {
            // A new password ended every session, this browser's included.
            let mut response = see_other(&url_with(
                "/signin",
                &[("identifier", contact.as_str()), ("notice", "unlocked")],
            ));
            set_cookie(&mut response, crate::web::clear_session_cookie(&app));
            response
        }
        Err(AccountError::Locked {
            lock: Lock::Support,
            reference,
            ..
        }) => locked_redirect(&form.identifier, None, Lock::Support, reference),
        Err(error) => {
            locked_back(&mut viewer, &form);
            let passkey = method == "passkey";
            match explain(&viewer, error, &["code", "new_password", "method"]) {
                Ok(feedback) => refused(
                    &viewer,
                    "locked.html",
                    feedback,
                    locked_context(
                        &viewer,
                        &LockedForm {
                            // A passkey's refusal comes back to the passkey form, not the code form.
                            step: if passkey {
                                form.step.clone()
                            } else {
                                "code".into()
                            },
                            method: if passkey {
                                String::new()
                            } else {
                                form.method.clone()
                            },
                            ..form
                        },
                        None,
                    ),
                ),
                Err(response) => response,
            }
        }
    }
}
