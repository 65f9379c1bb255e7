//! The sign-in steps after the password: a second factor, the device limit.

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
    let (methods, method) = code_methods(factors, method);
    // The limit that is reached, policy's or configured, when it is.
    let limit_ahead = signin::device_limit_ahead(app, challenge).await?;
    Ok(context! {
        device_limit_ahead => limit_ahead.is_some(),
        max_devices => limit_ahead.unwrap_or(1),
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
    show(
        &viewer,
        "second_factor.html",
        second_factor_context(&app, &challenge, "", &query.next).await,
    )
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
    let limit = crate::security::policies::device_limit(app, challenge.account.id).await?;
    Ok(context! {
        devices => views,
        place_rule => place_rule(app, viewer.lang, &limit),
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
    show(
        &viewer,
        "device_limit.html",
        device_limit_context(&app, &viewer, &challenge, &query.next).await,
    )
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
