//! Account operations, called by the JSON API, the pages and the CLI alike.

use super::codes::{self, Purpose};
use super::sessions;
use super::{store, Account, AccountError};
use crate::http::problem::FieldError;
use crate::state::App;
use crate::web::i18n::Lang;
use koban_policy::contact::{parse_email, parse_identifier, parse_phone, Contact};
use koban_policy::password::{check_new_password, normalize};

pub use crate::http::auth::Client;

/// Registration input: a phone number or an email address, and a password.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// International number; `+` and country code, or give `region`.
    #[schema(schema_with = crate::http::openapi::schemas::phone)]
    pub phone: Option<String>,
    #[schema(schema_with = crate::http::openapi::schemas::email)]
    pub email: Option<String>,
    /// ISO 3166 alpha-2 region for a phone number without a country code.
    #[schema(schema_with = crate::http::openapi::schemas::region)]
    pub region: Option<String>,
    #[schema(schema_with = crate::http::openapi::schemas::new_password)]
    pub password: String,
    /// Preferred language (BCP 47), e.g. `zh-CN`.
    #[schema(schema_with = crate::http::openapi::schemas::locale)]
    pub locale: Option<String>,
}

/// What registration returns: where the code went.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Registered {
    pub account_id: i64,
    pub status: String,
    /// `phone` or `email`.
    pub verification_channel: String,
    /// Masked destination, e.g. `+81*****5678`.
    pub destination: String,
    pub code_expires_in_seconds: i64,
}

fn contact_field(
    kind: &'static str,
    problem: koban_policy::contact::ContactProblem,
) -> AccountError {
    AccountError::field(kind, problem.code())
}

/// Parses the identifier of a sign-in, resend or reset request.
pub fn parse_login_identifier(
    identifier: &str,
    region: Option<&str>,
) -> Result<Contact, AccountError> {
    parse_identifier(identifier, region).map_err(|p| AccountError::field("identifier", p.code()))
}

/// Creates a pending account and sends a code to its contact.
pub async fn register(
    app: &App,
    input: Registration,
    client: &Client,
) -> Result<Registered, AccountError> {
    // Every field is checked before any is refused, so a person fixes them
    // all in one go rather than meeting one refusal after another.
    let contact = match (&input.phone, &input.email) {
        (Some(phone), None) => {
            parse_phone(phone, input.region.as_deref()).map_err(|p| contact_field("phone", p))
        }
        (None, Some(email)) => parse_email(email).map_err(|p| contact_field("email", p)),
        (Some(_), Some(_)) => Err(AccountError::Invalid(vec![
            FieldError {
                field: "phone".into(),
                code: "one_of_phone_email",
            },
            FieldError {
                field: "email".into(),
                code: "one_of_phone_email",
            },
        ])),
        (None, None) => Err(AccountError::field("phone", "required")),
    };
    let named: Vec<&str> = match &contact {
        Ok(c) => vec![c.as_str()],
        Err(_) => [input.phone.as_deref(), input.email.as_deref()]
            .into_iter()
            .flatten()
            .collect(),
    };
    let password = check_new_password(&input.password, &named)
        .map_err(|problem| AccountError::field("password", problem.code()));
    let contact = match (contact, password) {
        (Ok(contact), Ok(())) => contact,
        (Err(AccountError::Invalid(mut errors)), Err(AccountError::Invalid(more))) => {
            errors.extend(more);
            return Err(AccountError::Invalid(errors));
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let locale = match input.locale.as_deref() {
        Some(tag) => {
            Some(Lang::parse(tag).ok_or_else(|| AccountError::field("locale", "invalid_value"))?)
        }
        None => client.lang,
    };
    // Counted before the lookup: each "already registered" answer costs one.
    codes::take_allowance(
        app,
        koban_policy::throttle::SIGN_UPS,
        &format!("sign_up:{}", contact.as_str()),
    )
    .await?;
    if store::exists(app.store.read(), &contact).await? {
        return Err(AccountError::Duplicate(contact.kind()));
    }
    let hash = crate::accounts::hasher(app)
        .hash(normalize(&input.password))
        .await
        .map_err(AccountError::Internal)?;
    codes::take_send_allowance(app, Purpose::VerifyContact, contact.as_str()).await?;
    let mut tx = app.store.write().begin().await?;
    let inserted = store::insert(
        &mut *tx,
        &contact,
        &hash,
        "user",
        "pending",
        locale.map(Lang::tag),
        false,
    )
    .await;
    let account_id = match inserted {
        Ok(id) => id,
        Err(e) => {
            return Err(store::duplicate_field(&e)
                .map(AccountError::Duplicate)
                .unwrap_or(e.into()))
        }
    };
    codes::issue(
        app,
        &mut tx,
        account_id,
        Purpose::VerifyContact,
        None,
        &contact,
        locale.unwrap_or(client.lang()),
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(Registered {
        account_id,
        status: "pending_verification".into(),
        verification_channel: contact.kind().into(),
        destination: contact.masked(),
        code_expires_in_seconds: koban_policy::throttle::CODE_TTL_MS / 1000,
    })
}

/// Job kind: issue and send a code asked for through [`send_code`].
pub const SEND_CODE_JOB: &str = "send_code";

/// Asks for a new verification or reset code. The answer must not tell
/// whether the account exists, by its words or by its time: the request
/// does the same work either way (a lookup, the throttle, one job queued)
/// and the job, run after the answer, finds the account and sends the code.
/// `via` picks the account's other verified contact (`phone` or `email`)
/// when the first one does not arrive.
pub async fn send_code(
    app: &App,
    identifier: &Contact,
    purpose: Purpose,
    via: Option<&str>,
    client: &Client,
) -> Result<(), AccountError> {
    let found = store::find_with_hash(app.store.read(), identifier)
        .await?
        .map(|(a, _)| a);
    let destination = code_destination(found.as_ref(), identifier, purpose, via)?;
    // Throttle on what was asked for, existing or not.
    codes::take_send_allowance(
        app,
        purpose,
        destination.as_ref().unwrap_or(identifier).as_str(),
    )
    .await?;
    let payload = serde_json::json!({
        "identifier": identifier.as_str(),
        "purpose": purpose.as_str(),
        "via": via,
        "lang": client.lang().tag(),
    });
    crate::jobs::enqueue(
        app.store.write(),
        SEND_CODE_JOB,
        &payload,
        None,
        crate::store::now_ms(),
    )
    .await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Where a requested code goes: the identifier itself, or the account's
/// other contact named by `via` (`None` when there is nowhere to send it).
fn code_destination(
    found: Option<&Account>,
    identifier: &Contact,
    purpose: Purpose,
    via: Option<&str>,
) -> Result<Option<Contact>, AccountError> {
    Ok(match (found, via) {
        (Some(account), Some("phone"))
            if account.phone_verified || purpose == Purpose::VerifyContact =>
        {
            account.phone.clone().map(Contact::Phone)
        }
        (Some(account), Some("email"))
            if account.email_verified || purpose == Purpose::VerifyContact =>
        {
            account.email.clone().map(Contact::Email)
        }
        (_, Some("phone" | "email")) | (None, None) => None,
        (_, Some(_)) => return Err(AccountError::field("via", "invalid_value")),
        (Some(_), None) => Some(identifier.clone()),
    })
}

/// Runs a [`SEND_CODE_JOB`]: issues the code if the account exists and may
/// have one. A payload this version cannot read is dropped, not retried.
pub async fn send_requested_code(
    app: &App,
    payload: &serde_json::Value,
) -> Result<(), AccountError> {
    let text = |name: &str| payload.get(name).and_then(|v| v.as_str());
    let Some(identifier) = text("identifier").and_then(|i| parse_identifier(i, None).ok()) else {
        return Ok(());
    };
    let purpose = match text("purpose") {
        Some("password_reset") => Purpose::PasswordReset,
        Some("verify_contact") => Purpose::VerifyContact,
        _ => return Ok(()),
    };
    let via = text("via");
    let Some(account) = store::find_with_hash(app.store.read(), &identifier)
        .await?
        .map(|(a, _)| a)
    else {
        return Ok(());
    };
    let Ok(Some(contact)) = code_destination(Some(&account), &identifier, purpose, via) else {
        return Ok(());
    };
    if account.status == "disabled"
        || (purpose == Purpose::VerifyContact && account.status != "pending" && via.is_none())
    {
        return Ok(());
    }
    let lang = account
        .locale
        .as_deref()
        .and_then(Lang::parse)
        .or_else(|| text("lang").and_then(Lang::parse))
        .unwrap_or(Lang::En);
    let mut tx = app.store.write().begin().await?;
    codes::issue(app, &mut tx, account.id, purpose, None, &contact, lang).await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Confirms a contact with its code and activates the account; returns the
/// account as it now is. Signing in is the caller's next step.
pub async fn verify_contact_code(
    app: &App,
    identifier: &Contact,
    code: &str,
) -> Result<Account, AccountError> {
    let code = codes::normalize_code(code)?;
    let (account, _) = store::find_with_hash(app.store.read(), identifier)
        .await?
        .ok_or(AccountError::CodeInvalid)?;
    if account.status == "disabled" {
        return Err(AccountError::Disabled);
    }
    let used = codes::check(app, account.id, Purpose::VerifyContact, None, &code).await?;
    let mut change = app.store.change().await?;
    codes::use_up(&mut change.tx, &used).await?;
    change.step("verify_contact:code_used")?;
    store::mark_verified(&mut *change.tx, account.id, &used.channel).await?;
    change.commit().await?;
    store::find_by_id(app.store.read(), account.id)
        .await?
        .ok_or(AccountError::CodeInvalid)
}

/// Changes the password of a signed-in account; every other session ends.
pub async fn change_password(
    app: &App,
    current: &sessions::Current,
    old: &str,
    new: &str,
) -> Result<(), AccountError> {
    let identifier = current
        .account
        .email
        .clone()
        .map(Contact::Email)
        .or(current.account.phone.clone().map(Contact::Phone))
        .ok_or(AccountError::Unauthorized)?;
    let (_, stored) = store::find_with_hash(app.store.read(), &identifier)
        .await?
        .ok_or(AccountError::Unauthorized)?;
    let (ok, _) = crate::accounts::hasher(app)
        .verify(normalize(old), Some(stored))
        .await;
    if !ok {
        return Err(AccountError::field("current_password", "wrong_password"));
    }
    let ids: Vec<&str> = [
        current.account.phone.as_deref(),
        current.account.email.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    check_new_password(new, &ids).map_err(|p| AccountError::field("new_password", p.code()))?;
    let hash = crate::accounts::hasher(app)
        .hash(normalize(new))
        .await
        .map_err(AccountError::Internal)?;
    // The new password and the end of every other session go together: a
    // password changed with the intruder's session still alive is no fix.
    let mut change = app.store.change().await?;
    store::set_password_hash(&mut *change.tx, current.account.id, &hash, true).await?;
    change.step("change_password:password_set")?;
    sessions::revoke_all_in(
        &mut *change.tx,
        current.account.id,
        Some(current.session_id),
    )
    .await?;
    change.commit().await?;
    Ok(())
}

/// Resets a password with a code; every session ends.
pub async fn reset_password(
    app: &App,
    identifier: &Contact,
    code: &str,
    new: &str,
) -> Result<(), AccountError> {
    let code = codes::normalize_code(code)?;
    check_new_password(new, &[identifier.as_str()])
        .map_err(|p| AccountError::field("new_password", p.code()))?;
    let (account, _) = store::find_with_hash(app.store.read(), identifier)
        .await?
        .ok_or(AccountError::CodeInvalid)?;
    if account.status == "disabled" {
        return Err(AccountError::Disabled);
    }
    let ids: Vec<&str> = [account.phone.as_deref(), account.email.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    check_new_password(new, &ids).map_err(|p| AccountError::field("new_password", p.code()))?;
    let used = codes::check(app, account.id, Purpose::PasswordReset, None, &code).await?;
    let hash = crate::accounts::hasher(app)
        .hash(normalize(new))
        .await
        .map_err(AccountError::Internal)?;
    let mut change = app.store.change().await?;
    codes::use_up(&mut change.tx, &used).await?;
    store::set_password_hash(&mut *change.tx, account.id, &hash, true).await?;
    change.step("reset_password:password_set")?;
    // Receiving the code proves the contact, as a verification would.
    store::mark_verified(&mut *change.tx, account.id, &used.channel).await?;
    sessions::revoke_all_in(&mut *change.tx, account.id, None).await?;
    change.commit().await?;
    Ok(())
}

/// Creates an already-verified account with a role (operator bootstrap).
pub async fn create_verified(
    app: &App,
    identifier: &Contact,
    password: &str,
    role: &str,
) -> Result<i64, AccountError> {
    if !matches!(role, "user" | "agent" | "supervisor" | "admin") {
        return Err(AccountError::field("role", "invalid_value"));
    }
    check_new_password(password, &[identifier.as_str()])
        .map_err(|p| AccountError::field("password", p.code()))?;
    if store::exists(app.store.read(), identifier).await? {
        return Err(AccountError::Duplicate(identifier.kind()));
    }
    let hash = crate::accounts::hasher(app)
        .hash(normalize(password))
        .await
        .map_err(AccountError::Internal)?;
    store::insert(
        app.store.write(),
        identifier,
        &hash,
        role,
        "active",
        None,
        true,
    )
    .await
    .map_err(|e| {
        store::duplicate_field(&e)
            .map(AccountError::Duplicate)
            .unwrap_or(e.into())
    })
}
