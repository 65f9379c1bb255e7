//! The lock page for a refused sign-in, and self-service unlock: what a
//! person sees when sign-in refuses them for a lock, and the ways out it
//! offers.

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

/// The ways out of a temporary lock, best first.
pub(super) struct Ways {
    methods: Vec<&'static str>,
}

impl Ways {
    /// What every account has, offered to a device the account has not
    /// signed in from: a code to a verified contact first, the second
    /// factors one click away. Naming the account's own factors there would
    /// tell a stranger which ones it has, or that it exists.
    fn unknown() -> Ways {
        Ways {
            methods: vec!["code", "totp", "recovery_code", "passkey"],
        }
    }

    /// The account's own ways, to a device it signed in from before: a
    /// passkey first, then the authenticator app, then a code.
    fn of(factors: crate::security::totp::Factors) -> Ways {
        let mut methods = vec![];
        if factors.passkey {
            methods.push("passkey");
        }
        if factors.totp {
            methods.push("totp");
        }
        methods.push("code");
        if factors.on() {
            methods.push("recovery_code");
        }
        Ways { methods }
    }

    /// The page's blocks in order: `passkey`, `send_code` (ask for a code)
    /// and `entry` (type a code, once, for every kind of code). Once a code
    /// was asked for, typing it comes first.
    fn blocks(&self, step_code: bool) -> Vec<&'static str> {
        let mut blocks: Vec<&'static str> = vec![];
        for method in &self.methods {
            let block = match *method {
                "passkey" => "passkey",
                "code" => "send_code",
                _ => "entry",
            };
            if !blocks.contains(&block) {
                blocks.push(block);
            }
        }
        if step_code {
            blocks.retain(|b| *b != "entry");
            blocks.insert(0, "entry");
        }
        blocks
    }

    /// The kinds of code the entry form takes, in order; the emailed or
    /// texted code only once one was asked for.
    fn entry_methods(&self, step_code: bool) -> Vec<&'static str> {
        let mut methods: Vec<&'static str> = self
            .methods
            .iter()
            .copied()
            .filter(|m| *m != "passkey" && (*m != "code" || step_code))
            .collect();
        if step_code {
            methods.retain(|m| *m != "code");
            methods.insert(0, "code");
        }
        methods
    }
}

/// The ways out for `identifier` as seen from this client.
pub(super) async fn ways_out(app: &App, identifier: &str, ctx: &ClientContext) -> Ways {
    let known = async {
        let contact = service::parse_login_identifier(identifier, None).ok()?;
        let (account, _) = crate::accounts::store::find_with_hash(app.store.read(), &contact)
            .await
            .ok()??;
        crate::security::devices::find_by_key(&app.store, account.id, &ctx.device_key_hash())
            .await
            .ok()??;
        crate::security::totp::factors(app, account.id).await.ok()
    }
    .await;
    known.map_or_else(Ways::unknown, Ways::of)
}

/// "mm:ss" (or "h:mm:ss") until `until`, as the countdown starts.
pub(super) fn time_left(until: i64, now: i64) -> String {
    let seconds = ((until - now).max(0) + 999) / 1000;
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

pub(super) fn locked_context(
    app: &App,
    viewer: &Viewer,
    form: &LockedForm,
    ways: &Ways,
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
    let now = now_ms();
    let until = form.until.trim().parse::<i64>().ok();
    let step_code = form.step == "code" || !form.code.is_empty();
    let entry_methods = ways.entry_methods(step_code);
    let method = entry_methods
        .iter()
        .copied()
        .find(|m| *m == form.method)
        .or(entry_methods.first().copied())
        .unwrap_or("code");
    // Without a support address of its own, the operator's desk is Koban's:
    // its form opens on the sign-in category with the lock's reference.
    let support_url = match app.config.support_url.as_str() {
        "" => Some(url_with(
            "/support",
            &[
                ("category", "cannot_sign_in"),
                ("reference", reference.unwrap_or_default()),
            ],
        )),
        u => Some(match (reference, u.starts_with("mailto:")) {
            (Some(r), true) => format!("{u}?subject={r}"),
            (Some(r), false) => url_with(u, &[("reference", r)]),
            (None, _) => u.to_string(),
        }),
    };
    context! {
        identifier => form.identifier,
        destination => service::parse_login_identifier(&form.identifier, None).ok().map(|c| c.masked()),
        support => support,
        reference => reference,
        network => form.kind == "network",
        blocked => form.kind == "blocked",
        until => until.map(|u| viewer.when(u)),
        until_raw => form.until,
        remaining => until.map(|u| time_left(u, now)),
        ended => until.is_some_and(|u| u <= now),
        step_code => step_code,
        blocks => ways.blocks(step_code),
        entry_methods => entry_methods,
        // Whichever way was used last is open when the page comes back to it.
        open_others => !form.method.is_empty() || !form.code.is_empty(),
        // Every temporary lock offered here came from wrong passwords: the
        // server asks a new one whenever its lock's cause says so.
        needs_password => true,
        values => context! { code => form.code, method => method },
        notice => notice,
        support_url => support_url,
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
        crate::security::recovery::passkey_options(&app, &contact).await?,
    ))
}

/// `GET /locked?identifier=…&kind=temporary|support&until=…`.
pub(super) async fn locked_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    ctx: ClientContext,
    Query(form): Query<LockedForm>,
) -> Response {
    let notice = notice(viewer.lang, form.notice.as_deref());
    let ways = ways_out(&app, &form.identifier, &ctx).await;
    render::page(
        &viewer,
        StatusCode::OK,
        "locked.html",
        locked_context(&app, &viewer, &form, &ways, notice),
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
    ctx: ClientContext,
    PageForm(form): PageForm<LockedForm>,
) -> Response {
    let result = async {
        let contact = service::parse_login_identifier(&form.identifier, None)?;
        app.limiter
            .check_account(contact.as_str())
            .map_err(AccountError::RateLimited)?;
        crate::security::recovery::send_unlock_code(&app, &contact, viewer.lang).await?;
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
                    locked_context(
                        &app,
                        &viewer,
                        &form,
                        &ways_out(&app, &form.identifier, &ctx).await,
                        None,
                    ),
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
            crate::security::recovery::Proof::Passkey {
                ceremony: &form.ceremony,
                credential: credential_field(&form.credential)?,
            }
        } else {
            crate::security::recovery::Proof::Code {
                method,
                answer: &form.code,
            }
        };
        crate::security::recovery::unlock(&app, &contact, proof, new_password, &ctx.ip.to_string())
            .await?;
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
            let ways = ways_out(&app, &form.identifier, &ctx).await;
            match explain(&viewer, error, &["code", "new_password", "method"]) {
                Ok(feedback) => refused(
                    &viewer,
                    "locked.html",
                    feedback,
                    locked_context(
                        &app,
                        &viewer,
                        &LockedForm {
                            // A sent code's refusal comes back to typing it; a
                            // passkey's or an app's to where it was.
                            step: if method == "code" {
                                "code".into()
                            } else {
                                form.step.clone()
                            },
                            method: if passkey {
                                String::new()
                            } else {
                                form.method.clone()
                            },
                            ..form
                        },
                        &ways,
                        None,
                    ),
                ),
                Err(response) => response,
            }
        }
    }
}
