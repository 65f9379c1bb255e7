//! Sign-in methods: two-factor authentication, passkeys and recovery codes.

use super::*;
use crate::accounts::sessions::Viewing;

/// The base32 secret in groups of four, easier to type.
pub(super) fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The server-rendered QR code, ready to embed. It is our own SVG (the
/// `qrcode` crate's output for our otpauth URI), so it alone is marked safe;
/// everything else on the page stays escaped. The XML prolog is dropped.
pub(super) fn qr_markup(svg: &str) -> minijinja::Value {
    let svg = svg
        .find("<svg")
        .map(|start| &svg[start..])
        .unwrap_or_default();
    let lower = svg.to_ascii_lowercase();
    // Defence in depth: a QR code is only paths; anything active is not shown.
    if lower.contains("script") || lower.contains("foreignobject") || lower.contains(" on") {
        return minijinja::Value::from("");
    }
    minijinja::Value::from_safe_string(svg.to_string())
}

pub(super) async fn two_factor_context(
    app: &App,
    viewer: &Viewer,
    current: &Current,
    notice: Option<String>,
) -> Result<minijinja::Value, AccountError> {
    let factors = totp::factors(app, current.account.id).await?;
    let pending = if factors.totp {
        None
    } else {
        totp::pending(app, current).await?
    };
    let keys: Vec<minijinja::Value> = passkeys::list(app, current.account.id)
        .await?
        .into_iter()
        .map(|p| {
            context! {
                id => p.id,
                name => p.name,
                created => viewer.when(p.created_at),
                last_used => p.last_used_at.map(|at| viewer.when(at)),
            }
        })
        .collect();
    let codes_left = if factors.on() {
        Some(totp::recovery_codes_left(app, current.account.id).await?)
    } else {
        None
    };
    Ok(context! {
        section => "methods",
        on => factors.on(),
        totp_on => factors.totp,
        passkey_on => factors.passkey,
        passkeys => keys,
        codes_left => codes_left,
        password_changed => viewer.when(current.account.password_changed_at),
        pending => pending.map(|e| context! {
            secret => grouped(&e.secret),
            otpauth_uri => e.otpauth_uri,
            qr => qr_markup(&e.qr_svg),
        }),
        zone_note => zone_note(viewer),
        notice => notice,
    })
}

/// `GET /account/security/2fa`: on or off; while enrolling, the QR code.
pub(super) async fn two_factor_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let Some(current) = viewer.current() else {
        return sign_in_first(&viewer.here);
    };
    let notice = notice(viewer.lang, query.notice.as_deref());
    show(
        &viewer,
        "two_factor.html",
        two_factor_context(&app, &viewer, current, notice).await,
    )
}

/// Shows the 2FA page again after `error` on one of its forms.
pub(super) async fn two_factor_refused(
    app: &App,
    viewer: &mut Viewer,
    error: AccountError,
) -> Response {
    let Some(current) = viewer.current().cloned() else {
        return sign_in_first("/account/security/2fa");
    };
    viewer.here = "/account/security/2fa".into();
    let page = match two_factor_context(app, viewer, &current, None).await {
        Ok(page) => page,
        Err(e) => return failed(viewer, e),
    };
    match explain(viewer, error, &["code"]) {
        Ok(feedback) => refused(viewer, "two_factor.html", feedback, page),
        Err(response) => response,
    }
}

/// `POST /account/security/2fa/begin`: a new secret, pending until confirmed.
pub(super) async fn totp_begin(State(app): State<Arc<App>>, mut viewer: Viewer) -> Response {
    let Some(current) = viewer.current().cloned() else {
        return sign_in_first("/account/security/2fa");
    };
    match totp::begin(&app, &current).await {
        Ok(_) => see_other("/account/security/2fa"),
        Err(error) => two_factor_refused(&app, &mut viewer, error).await,
    }
}

/// `POST /account/security/2fa/confirm`: the first code turns 2FA on.
pub(super) async fn totp_confirm(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    PageForm(form): PageForm<CodeForm>,
) -> Response {
    let Some(current) = viewer.current().cloned() else {
        return sign_in_first("/account/security/2fa");
    };
    match totp::confirm(&app, &current, &form.code).await {
        Ok(codes) => {
            viewer.here = "/account/security/2fa".into();
            recovery_codes_shown(&viewer, codes, true)
        }
        Err(error) => two_factor_refused(&app, &mut viewer, error).await,
    }
}

/// A "are you sure" page for an action that needs a fresh step-up.
pub(super) fn confirm_page(viewer: &Viewer, what: &str, action: &str) -> Response {
    render::page(
        viewer,
        StatusCode::OK,
        "confirm.html",
        context! {
            section => "methods",
            title => t(viewer.lang, &format!("{what}-title"), &[]),
            text => t(viewer.lang, &format!("{what}-text"), &[]),
            action => action,
            button => t(viewer.lang, &format!("{what}-button"), &[]),
            button_id => format!("confirm-{what}"),
            danger => what == "twofa-disable",
        },
    )
}

/// Checks the common ground of the step-up-guarded 2FA actions: signed in,
/// 2FA on, a fresh step-up. Err is the response to give instead.
pub(super) async fn guarded(app: &App, viewer: &Viewer, back: &str) -> Result<Current, Response> {
    let Some(current) = viewer.current().cloned() else {
        return Err(sign_in_first(back));
    };
    match totp::factors(app, current.account.id).await {
        Ok(factors) if factors.on() => {}
        Ok(_) => return Err(see_other("/account/security/2fa")),
        Err(e) => return Err(failed(viewer, e)),
    }
    if totp::require_step_up(&current).is_err() {
        return Err(step_up_first(back));
    }
    Ok(current)
}

/// The sign-in methods page: password, two-factor authentication,
/// passkeys and recovery codes in one place. It keeps the 2FA page's
/// address, which reminders and mails already link to.
pub(super) const METHODS_PATH: &str = "/account/security/2fa";
pub(super) const RECOVERY_CODES_PATH: &str = "/account/security/2fa/recovery-codes";
pub(super) const DISABLE_PATH: &str = "/account/security/2fa/disable";

/// `GET /account/security/2fa/recovery-codes`: confirm making a new set.
pub(super) async fn recovery_codes_page(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    match guarded(&app, &viewer, RECOVERY_CODES_PATH).await {
        Ok(_) => confirm_page(&viewer, "twofa-regenerate", RECOVERY_CODES_PATH),
        Err(response) => response,
    }
}

/// `POST /account/security/2fa/recovery-codes`: a new set; the old one dies.
pub(super) async fn recovery_codes(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    ctx: ClientContext,
) -> Response {
    let current = match guarded(&app, &viewer, RECOVERY_CODES_PATH).await {
        Ok(current) => current,
        Err(response) => return response,
    };
    match totp::regenerate_recovery_codes(&app, current.account.id, Some(&ctx.ip.to_string())).await
    {
        Ok(codes) => {
            viewer.here = "/account/security/2fa".into();
            recovery_codes_shown(&viewer, codes, false)
        }
        Err(e) => failed(&viewer, e),
    }
}

/// `GET /account/security/2fa/disable`: confirm turning 2FA off.
pub(super) async fn disable_page(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    match guarded(&app, &viewer, DISABLE_PATH).await {
        Ok(_) => confirm_page(&viewer, "twofa-disable", DISABLE_PATH),
        Err(response) => response,
    }
}

/// `POST /account/security/2fa/disable`.
pub(super) async fn disable(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    ctx: ClientContext,
) -> Response {
    let current = match guarded(&app, &viewer, DISABLE_PATH).await {
        Ok(current) => current,
        Err(response) => return response,
    };
    match totp::disable(
        &app,
        current.account.id,
        Some(&ctx.ip.to_string()),
        "by owner",
    )
    .await
    {
        Ok(()) => see_other("/account/security/2fa?notice=2fa-off"),
        Err(e) => failed(&viewer, e),
    }
}

pub(super) const ADD_PASSKEY_PATH: &str = "/account/security/passkeys";

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct PasskeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
}

pub(super) fn add_passkey_context(name: &str) -> minijinja::Value {
    context! { section => "methods", name => name }
}

/// `GET /account/security/passkeys`: name the passkey, then the browser
/// makes it (the page's script calls `navigator.credentials.create()`).
pub(super) async fn add_passkey_page(viewer: Viewer) -> Response {
    if let Err(response) = stepped_up(&viewer, ADD_PASSKEY_PATH) {
        return response;
    }
    let name = t(viewer.lang, "passkey-default-name", &[]);
    render::page(
        &viewer,
        StatusCode::OK,
        "passkey_add.html",
        add_passkey_context(&name),
    )
}

/// `POST /account/security/passkeys`: stores the passkey the browser made.
pub(super) async fn add_passkey(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    ctx: ClientContext,
    PageForm(form): PageForm<PasskeyForm>,
) -> Response {
    let current = match stepped_up(&viewer, ADD_PASSKEY_PATH) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let result = match credential_field(&form.credential) {
        Ok(credential) => {
            passkeys::finish_registration(
                &app,
                &current,
                &form.ceremony,
                &form.name,
                credential,
                Some(&ctx.ip.to_string()),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(added) => match added.recovery_codes {
            Some(codes) => {
                viewer.here = METHODS_PATH.into();
                recovery_codes_shown(&viewer, codes, true)
            }
            None => see_other("/account/security/2fa?notice=passkey-added"),
        },
        Err(error) => match explain(&viewer, error, &["name"]) {
            Ok(feedback) => refused(
                &viewer,
                "passkey_add.html",
                feedback,
                add_passkey_context(&form.name),
            ),
            Err(response) => response,
        },
    }
}

/// `POST /account/security/passkeys/{id}/rename`.
pub(super) async fn rename_passkey(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    ctx: ClientContext,
    Path(id): Path<String>,
    PageForm(form): PageForm<RenameForm>,
) -> Response {
    let Some(current) = viewer.current().cloned() else {
        return sign_in_first(METHODS_PATH);
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&viewer);
    };
    match passkeys::rename(
        &app,
        current.account.id,
        id,
        &form.name,
        Some(&ctx.ip.to_string()),
    )
    .await
    {
        Ok(true) => see_other("/account/security/2fa?notice=passkey-renamed"),
        Ok(false) => not_found(&viewer),
        Err(error) => {
            viewer.here = METHODS_PATH.into();
            let page = match two_factor_context(&app, &viewer, &current, None).await {
                Ok(page) => page,
                Err(e) => return failed(&viewer, e),
            };
            match explain(&viewer, error, &["name"]) {
                Ok(feedback) => refused(
                    &viewer,
                    "two_factor.html",
                    feedback,
                    context! { renaming_passkey => id, name => form.name, ..page },
                ),
                Err(response) => response,
            }
        }
    }
}

/// The account's passkey `id`, if there is one.
pub(super) async fn own_passkey(
    app: &App,
    current: &Current,
    id: &str,
) -> Result<Option<passkeys::PasskeyView>, AccountError> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    Ok(passkeys::list(app, current.account.id)
        .await?
        .into_iter()
        .find(|p| p.id == id))
}

/// `GET /account/security/passkeys/{id}/remove`: asks to confirm, after a
/// fresh step-up (the step-up page comes back here).
pub(super) async fn remove_passkey_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let current = match stepped_up(&viewer, &viewer.here) {
        Ok(current) => current,
        Err(response) => return response,
    };
    match own_passkey(&app, &current, &id).await {
        Ok(None) => not_found(&viewer),
        Ok(Some(passkey)) => render::page(
            &viewer,
            StatusCode::OK,
            "confirm.html",
            context! {
                section => "methods",
                title => t(viewer.lang, "passkey-remove-title", &[]),
                text => t(viewer.lang, "passkey-remove-text", &[("name", passkey.name.clone())]),
                action => format!("/account/security/passkeys/{}/remove", passkey.id),
                button => t(viewer.lang, "security-remove", &[]),
                button_id => "confirm-remove-passkey",
                danger => true,
            },
        ),
        Err(e) => failed(&viewer, e),
    }
}

/// `POST /account/security/passkeys/{id}/remove`.
pub(super) async fn remove_passkey(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    ctx: ClientContext,
    Path(id): Path<String>,
) -> Response {
    let back = format!("/account/security/passkeys/{id}/remove");
    let current = match stepped_up(&viewer, &back) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&viewer);
    };
    match passkeys::remove(&app, &current, id, Some(&ctx.ip.to_string())).await {
        Ok(()) => see_other("/account/security/2fa?notice=passkey-removed"),
        Err(AccountError::NotFound) => not_found(&viewer),
        Err(e) => failed(&viewer, e),
    }
}
