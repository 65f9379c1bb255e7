//! Signing up and entering (or asking again for) the code that verifies
//! the phone or email.

use super::*;

// ---- Sign up -------------------------------------------------------------

#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub(super) struct SignupForm {
    /// `phone` or `email`: which of the two the form shows.
    #[serde(default)]
    with: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    region: String,
    #[serde(default, skip_serializing)]
    password: String,
}

impl SignupForm {
    fn kind(&self) -> &'static str {
        if self.with == "email" {
            "email"
        } else {
            "phone"
        }
    }
}

fn signup_context(form: &SignupForm) -> minijinja::Value {
    context! { values => form, with => form.kind(), regions => REGIONS }
}

/// `GET /signup?with=phone|email`.
pub(super) async fn signup_page(viewer: Viewer, Query(form): Query<SignupForm>) -> Response {
    if viewer.who.is_some() {
        return see_other("/account");
    }
    render::page(
        &viewer,
        StatusCode::OK,
        "signup.html",
        signup_context(&form),
    )
}

/// `POST /signup`: creates the account and sends the code.
pub(super) async fn signup(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    info: ClientInfo,
    PageForm(form): PageForm<SignupForm>,
) -> Response {
    let by_email = form.kind() == "email";
    let registration = Registration {
        phone: (!by_email).then(|| form.phone.clone()),
        email: by_email.then(|| form.email.clone()),
        region: non_empty(&form.region).map(str::to_string),
        password: form.password.clone(),
        locale: None,
    };
    match service::register(&app, registration, &client(info, &viewer)).await {
        Ok(_) => {
            // The same normalisation the service applied, to name the account in the URL.
            let contact = if by_email {
                koban_policy::contact::parse_email(&form.email)
            } else {
                koban_policy::contact::parse_phone(&form.phone, non_empty(&form.region))
            };
            let identifier = contact
                .map(|c| c.as_str().to_string())
                .unwrap_or_else(|_| form.email.clone() + &form.phone);
            see_other(&url_with(
                "/verify",
                &[("identifier", &identifier), ("sent", &now_ms().to_string())],
            ))
        }
        Err(error) => match explain(&viewer, error, &["phone", "email", "password"]) {
            Ok(feedback) => refused(&viewer, "signup.html", feedback, signup_context(&form)),
            Err(response) => response,
        },
    }
}

// ---- Enter the code ------------------------------------------------------

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct VerifyQuery {
    #[serde(default)]
    pub(crate) identifier: String,
    /// When the last code was sent (ms since the epoch), so the page can
    /// count down to when another may be.
    #[serde(default)]
    pub(crate) sent: Option<i64>,
    pub(crate) notice: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct VerifyForm {
    #[serde(default)]
    pub(crate) identifier: String,
    #[serde(default)]
    pub(crate) code: String,
}

/// When another code may be asked for, after one sent at `sent`: within
/// the resend gap, or never earlier than now for a time from the address
/// that is in the past or implausibly far ahead.
pub(crate) fn resend_at(sent: Option<i64>, now: i64) -> Option<i64> {
    let gap = koban_policy::throttle::RESEND_GAP_MS;
    sent.filter(|s| *s <= now && now - s < gap).map(|s| s + gap)
}

/// What the code page shows about where the code went. A pending account
/// has exactly the one contact it signed up with, so there is no other
/// contact to offer here.
pub(crate) fn verify_context(
    identifier: &str,
    code: &str,
    resend_at: Option<i64>,
    notice: Option<String>,
) -> minijinja::Value {
    let contact = service::parse_login_identifier(identifier, None).ok();
    context! {
        values => context! { identifier => identifier, code => code },
        identifier => contact.as_ref().map(|c| c.as_str().to_string()),
        destination => contact.as_ref().map(Contact::masked),
        resend_at => resend_at,
        notice => notice,
    }
}

/// `POST /verify/resend`: a new code, to the same contact or the other one.
pub(super) async fn resend(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    info: ClientInfo,
    PageForm(form): PageForm<VerifyForm>,
) -> Response {
    let client = client(info, &viewer);
    let result = async {
        let contact = service::parse_login_identifier(&form.identifier, None)?;
        check_rate(&app, &contact)?;
        service::send_code(&app, &contact, Purpose::VerifyContact, None, &client).await?;
        Ok::<_, AccountError>(contact)
    }
    .await;
    match result {
        Ok(contact) => see_other(&url_with(
            "/verify",
            &[
                ("identifier", contact.as_str()),
                ("notice", "resent"),
                ("sent", &now_ms().to_string()),
            ],
        )),
        Err(error) => {
            // This path only answers POST; the language switch should come back to the code page.
            viewer.here = url_with("/verify", &[("identifier", &form.identifier)]);
            match explain(&viewer, error, &["identifier"]) {
                Ok(feedback) => {
                    // Too soon: the page counts down to when it may.
                    let wait = feedback.retry_after.map(|s| now_ms() + s as i64 * 1000);
                    refused(
                        &viewer,
                        "verify.html",
                        feedback,
                        verify_context(&form.identifier, "", wait, None),
                    )
                }
                Err(response) => response,
            }
        }
    }
}
