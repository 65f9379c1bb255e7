//! The sign-in steps after the password (a second factor, the device
//! limit), and the lock page with self-service unlock.

use super::*;

/// Turns a sign-in outcome into its redirect: the session cookie, or the
/// challenge cookie and the next step's page; a new device key is handed
/// back as the device cookie in every case.
pub fn after_sign_in(app: &App, outcome: Outcome, ctx: &ClientContext, next: &str) -> Response {
    let carry = if next == "/account" { "" } else { next };
    let mut response = match outcome {
        Outcome::SignedIn { session, .. } => {
            let mut response = see_other(next);
            set_cookie(
                &mut response,
                crate::web::session_cookie(app, &session.token),
            );
            set_cookie(&mut response, clear_challenge_cookie(app));
            response
        }
        Outcome::SecondFactor { challenge, .. } => {
            let mut response = see_other(&url_with("/signin/second-factor", &[("next", carry)]));
            set_cookie(&mut response, crate::web::challenge_cookie(app, &challenge));
            response
        }
        Outcome::DeviceLimit { challenge, .. } => {
            let mut response = see_other(&url_with("/signin/devices", &[("next", carry)]));
            set_cookie(&mut response, crate::web::challenge_cookie(app, &challenge));
            response
        }
    };
    if ctx.device_key_is_new {
        set_cookie(
            &mut response,
            crate::web::device_cookie(app, &ctx.device_key),
        );
    }
    response
}

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

/// Back to the sign-in form: the challenge is missing, forged, used or expired.
pub(super) fn challenge_expired(app: &App) -> Response {
    let mut response = see_other("/signin?notice=expired");
    set_cookie(&mut response, clear_challenge_cookie(app));
    response
}

pub(super) fn is_challenge_error(error: &AccountError) -> bool {
    matches!(error, AccountError::Invalid(errors) if errors.iter().any(|e| e.field == "challenge"))
}

/// Reads the challenge named by the cookie, or the response to give instead.
pub(super) async fn challenge(
    app: &App,
    viewer: &Viewer,
    headers: &HeaderMap,
    kind: &str,
) -> Result<Challenge, Response> {
    let Some(token) = crate::http::cookie(headers, CHALLENGE_COOKIE) else {
        return Err(challenge_expired(app));
    };
    match signin::open_challenge(app, token, kind).await {
        Ok(challenge) => Ok(challenge),
        Err(e) if is_challenge_error(&e) => Err(challenge_expired(app)),
        Err(e) => Err(failed(viewer, e)),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct NextQuery {
    #[serde(default)]
    next: String,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct SecondFactorForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
    /// With `method=passkey`: the ceremony and the browser's answer (JSON),
    /// filled in by the page's script.
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
}

/// `POST /signin/second-factor/passkey/options`: the page's script asks for
/// the options of `navigator.credentials.get()` for the sign-in in the cookie.
pub(super) async fn second_factor_passkey_options(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<axum::Json<PasskeyOptions>, crate::http::problem::Problem> {
    let token = crate::http::cookie(&headers, CHALLENGE_COOKIE)
        .ok_or_else(|| crate::http::problem::Problem::field("challenge", "invalid_value"))?;
    Ok(axum::Json(signin::passkey_options(&app, token).await?))
}

/// The second-factor form: the methods the account can use, as sign-in offers them.
pub(super) async fn second_factor_context(
    app: &App,
    challenge: &Challenge,
    method: &str,
    next: &str,
) -> Result<minijinja::Value, AccountError> {
    let factors = totp::factors(app, challenge.account.id).await?;
    // A passkey is offered as its own button; the form takes the codes.
    let methods: Vec<&str> = factors
        .methods()
        .into_iter()
        .filter(|m| *m != "passkey")
        .collect();
    let method = methods
        .iter()
        .find(|m| **m == method)
        .unwrap_or(&methods[0])
        .to_string();
    let device_limit_ahead = signin::device_limit_ahead(app, challenge).await?.is_some();
    Ok(context! {
        device_limit_ahead => device_limit_ahead,
        max_devices => app.config.max_devices.max(1),
        methods => methods,
        method => method,
        passkey => factors.passkey,
        totp => factors.totp,
        destination => masked_contact(&challenge.account),
        next => safe_next(Some(next), ""),
    })
}

/// `GET /signin/second-factor`.
pub(super) async fn second_factor_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Response {
    let challenge = match challenge(&app, &viewer, &headers, "second_factor").await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match second_factor_context(&app, &challenge, "", &query.next).await {
        Ok(page) => render::page(&viewer, StatusCode::OK, "second_factor.html", page),
        Err(e) => failed(&viewer, e),
    }
}

/// `POST /signin/second-factor`: the code finishes the sign-in.
pub(super) async fn second_factor(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    mut ctx: ClientContext,
    headers: HeaderMap,
    PageForm(form): PageForm<SecondFactorForm>,
) -> Response {
    ctx.lang = viewer.lang;
    let next = safe_next(Some(&form.next), "/account");
    let Some(token) = crate::http::cookie(&headers, CHALLENGE_COOKIE) else {
        return challenge_expired(&app);
    };
    let result = if form.method == "passkey" {
        match credential_field(&form.credential) {
            Ok(credential) => {
                signin::second_factor_passkey(&app, token, &form.ceremony, credential, &ctx).await
            }
            Err(e) => Err(e),
        }
    } else {
        signin::second_factor(&app, token, &form.method, &form.code, &ctx).await
    };
    match result {
        Ok(outcome) => after_sign_in(&app, outcome, &ctx, next),
        Err(e) if is_challenge_error(&e) => challenge_expired(&app),
        Err(error) => {
            let challenge = match challenge(&app, &viewer, &headers, "second_factor").await {
                Ok(c) => c,
                Err(response) => return response,
            };
            let page = match second_factor_context(&app, &challenge, &form.method, &form.next).await
            {
                Ok(page) => page,
                Err(e) => return failed(&viewer, e),
            };
            match explain(&viewer, error, &["code", "method"]) {
                Ok(feedback) => refused(&viewer, "second_factor.html", feedback, page),
                Err(response) => response,
            }
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct DeviceLimitForm {
    #[serde(default)]
    remove_device_id: String,
    #[serde(default)]
    next: String,
}

pub(super) async fn device_limit_context(
    app: &App,
    viewer: &Viewer,
    challenge: &Challenge,
    next: &str,
) -> Result<minijinja::Value, AccountError> {
    // Only the devices holding a place are in the way (the sign-in's rule).
    let bound = devices::list_counted(&app.store, &app.config, challenge.account.id, None).await?;
    let views: Vec<DeviceView> = bound
        .iter()
        .filter(|d| d.holds_place)
        .map(|d| device_view(viewer, d))
        .collect();
    Ok(context! {
        devices => views,
        place_rule => place_rule(app, viewer.lang),
        this_device => challenge.spec.name,
        zone_note => zone_note(viewer),
        next => safe_next(Some(next), ""),
    })
}

/// `GET /signin/devices`: the account is at its device limit; which one goes?
pub(super) async fn device_limit_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Response {
    let challenge = match challenge(&app, &viewer, &headers, "device_limit").await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match device_limit_context(&app, &viewer, &challenge, &query.next).await {
        Ok(page) => render::page(&viewer, StatusCode::OK, "device_limit.html", page),
        Err(e) => failed(&viewer, e),
    }
}

/// `POST /signin/devices`: removes the chosen device and finishes the sign-in.
pub(super) async fn device_limit(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    mut ctx: ClientContext,
    headers: HeaderMap,
    PageForm(form): PageForm<DeviceLimitForm>,
) -> Response {
    ctx.lang = viewer.lang;
    let next = safe_next(Some(&form.next), "/account");
    let Some(token) = crate::http::cookie(&headers, CHALLENGE_COOKIE) else {
        return challenge_expired(&app);
    };
    let result = match form.remove_device_id.trim().parse::<i64>() {
        Ok(id) => signin::resolve_device_limit(&app, token, id, &ctx).await,
        Err(_) => Err(AccountError::field("remove_device_id", "invalid_value")),
    };
    match result {
        Ok(outcome) => after_sign_in(&app, outcome, &ctx, next),
        Err(e) if is_challenge_error(&e) => challenge_expired(&app),
        Err(error) => {
            let challenge = match challenge(&app, &viewer, &headers, "device_limit").await {
                Ok(c) => c,
                Err(response) => return response,
            };
            let page = match device_limit_context(&app, &viewer, &challenge, &form.next).await {
                Ok(page) => page,
                Err(e) => return failed(&viewer, e),
            };
            match explain(&viewer, error, &[]) {
                Ok(feedback) => refused(&viewer, "device_limit.html", feedback, page),
                Err(response) => response,
            }
        }
    }
}

// ---- The lock page and self-service unlock -------------------------------------

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
