//! Getting back in: self-service unlock through a verified contact, a
//! second factor or a passkey, and the account operations support performs
//! from a ticket, each requiring a recorded identity verification and audited.

use super::guards;
use super::history;
use super::passkeys::{self, Assertion, PasskeyOptions};
use super::signin::verified_contacts;
use crate::accounts::codes::{self, Purpose};
use crate::accounts::sessions::{self, Current};
use crate::accounts::{store as accounts_store, AccountError};
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::Lang;
use koban_policy::contact::parse_identifier;
use koban_policy::contact::Contact;
use koban_policy::password::{check_new_password, normalize};

/// Sends an unlock code to a verified contact of the account behind
/// `identifier`. Answers alike for unknown, unlocked and locked accounts
/// (the throttle applies to all), and only sends when there is a lock.
///
/// Whether a code is sent is decided by a job after the answer: the
/// request does the same work for any identifier (a lookup, the throttle,
/// one job queued), so its time tells nothing either.
pub async fn send_unlock_code(
    app: &App,
    identifier: &Contact,
    lang: Lang,
) -> Result<(), AccountError> {
    // The same lookup for everyone; the job looks again.
    let _ = accounts_store::find_with_hash(app.store.read(), identifier).await?;
    codes::take_send_allowance(app, Purpose::Unlock, identifier.as_str()).await?;
    let payload = serde_json::json!({ "identifier": identifier.as_str(), "lang": lang.tag() });
    crate::jobs::enqueue(
        app.store.write(),
        SEND_UNLOCK_CODE_JOB,
        &payload,
        None,
        now_ms(),
    )
    .await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Job kind: issue an unlock code asked for through [`send_unlock_code`].
pub const SEND_UNLOCK_CODE_JOB: &str = "send_unlock_code";

/// Runs a [`SEND_UNLOCK_CODE_JOB`]: a code goes out only for an account
/// under a lock a code can lift. A payload it cannot read is dropped.
pub async fn issue_unlock_code(app: &App, payload: &serde_json::Value) -> Result<(), AccountError> {
    let text = |name: &str| payload.get(name).and_then(|v| v.as_str());
    let Some(identifier) = text("identifier").and_then(|i| parse_identifier(i, None).ok()) else {
        return Ok(());
    };
    let lang = text("lang").and_then(Lang::parse).unwrap_or(Lang::En);
    let Some((account, _)) = accounts_store::find_with_hash(app.store.read(), &identifier).await?
    else {
        return Ok(());
    };
    let Some(guard) = guards::lock_in_force(&app.store, account.id, now_ms()).await? else {
        return Ok(());
    };
    if guard.locked_for_support {
        return Ok(());
    }
    // The code goes to the contact that was named if it is verified, else to another verified one.
    let contacts = verified_contacts(&account);
    let Some(contact) = contacts
        .iter()
        .find(|c| **c == identifier)
        .or(contacts.first())
        .cloned()
    else {
        return Ok(());
    };
    let lang = account
        .locale
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(lang);
    let mut tx = app.store.write().begin().await?;
    codes::issue(
        app,
        &mut tx,
        account.id,
        Purpose::Unlock,
        None,
        &contact,
        lang,
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// What the owner proves themselves with to lift a lock.
#[derive(Debug, Clone)]
pub enum Proof<'a> {
    /// `method` is `code` (the unlock code), `totp` or `recovery_code`.
    Code { method: &'a str, answer: &'a str },
    /// A passkey's answer to the ceremony from [`passkey_options`].
    Passkey {
        ceremony: &'a str,
        credential: serde_json::Value,
    },
}

impl Proof<'_> {
    /// The method's name, as the timeline shows it.
    pub fn method(&self) -> &str {
        match self {
            Proof::Code { method, .. } => method,
            Proof::Passkey { .. } => "passkey",
        }
    }

    /// The refusal when there is no lock to lift here. A passkey's decoy
    /// ceremony is never stored, so "no such ceremony" is what a real but
    /// forged ceremony would get too: the answer reveals nothing.
    fn nothing_to_unlock(&self) -> AccountError {
        match self {
            Proof::Code { .. } => AccountError::CodeInvalid,
            Proof::Passkey { .. } => AccountError::field("ceremony", "invalid_value"),
        }
    }
}

/// The options for `navigator.credentials.get()` to unlock `identifier`
/// with a passkey. Answered alike for unknown, unlocked, support-locked and
/// passkey-less accounts (see [`passkeys::begin_unlock`]).
pub async fn passkey_options(
    app: &App,
    identifier: &Contact,
) -> Result<PasskeyOptions, AccountError> {
    let found = accounts_store::find_with_hash(app.store.read(), identifier)
        .await?
        .map(|(a, _)| a);
    let mut unlockable = None;
    if let Some(account) = found {
        let guard = guards::lock_in_force(&app.store, account.id, now_ms()).await?;
        if guard.is_some_and(|g| !g.locked_for_support) {
            unlockable = Some(account.id);
        }
    }
    passkeys::begin_unlock(app, unlockable).await
}

/// Unlocks with proof: a code, a second factor or a passkey. A lock caused
/// by wrong passwords also needs a new password, since someone may have been
/// guessing it; it is checked before the proof is used, so a refusal spends
/// neither the code nor the ceremony. A lock for support cannot be lifted here.
pub async fn unlock(
    app: &App,
    identifier: &Contact,
    proof: Proof<'_>,
    new_password: Option<&str>,
    ip: &str,
) -> Result<(), AccountError> {
    let (account, _) = accounts_store::find_with_hash(app.store.read(), identifier)
        .await?
        .ok_or_else(|| proof.nothing_to_unlock())?;
    let Some(guard) = guards::lock_in_force(&app.store, account.id, now_ms()).await? else {
        return Err(proof.nothing_to_unlock());
    };
    if guard.locked_for_support {
        return Err(AccountError::Locked {
            retry_after_ms: None,
            lock: crate::accounts::Lock::Support,
            reference: guard.lock_reference.map(crate::accounts::LockReference),
        });
    }
    let needs_password = guard.lock_cause.as_deref() == Some("password");
    let new_password = match (needs_password, new_password) {
        (true, None) => return Err(AccountError::field("new_password", "required")),
        (_, Some(p)) => {
            let ids: Vec<&str> = [account.phone.as_deref(), account.email.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            check_new_password(p, &ids)
                .map_err(|e| AccountError::field("new_password", e.code()))?;
            Some(p)
        }
        (false, None) => None,
    };
    let method = proof.method().to_string();
    match proof {
        Proof::Code { method, answer } => {
            super::totp::prove(app, account.id, method, answer, Purpose::Unlock, None).await?
        }
        Proof::Passkey {
            ceremony,
            credential,
        } => {
            // A wrong passkey was counted on the second-factor counter, as a wrong code is.
            let verified = passkeys::verify(
                app,
                account.id,
                passkeys::Purpose::Unlock,
                passkeys::UNLOCK_BINDING,
                ceremony,
                credential,
            )
            .await?;
            if let Assertion::Failed(error) = verified {
                return Err(error);
            }
        }
    }
    let hash = match new_password {
        Some(password) => Some(
            crate::accounts::hasher(app)
                .hash(normalize(password))
                .await
                .map_err(AccountError::Internal)?,
        ),
        None => None,
    };
    let mut change = app.store.change().await?;
    if let Some(hash) = hash {
        accounts_store::set_password_hash(&mut *change.tx, account.id, &hash, true).await?;
        sessions::revoke_all_in(&mut *change.tx, account.id, None).await?;
        history::event(
            &mut *change.tx,
            account.id,
            "password_changed",
            "at unlock",
            Some(ip),
        )
        .await?;
        change.step("unlock:password_set")?;
    }
    guards::clear_account(&mut *change.tx, account.id).await?;
    history::event(
        &mut *change.tx,
        account.id,
        "unlocked",
        &format!("self-service ({method})"),
        Some(ip),
    )
    .await?;
    change.commit().await?;
    crate::security::state(app).refusals.forget_all();
    Ok(())
}

/// What support can do to an account from a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupportAction {
    Unlock,
    ResetTwoFactor,
    RemoveDevice(i64),
    EndSessions,
}

impl SupportAction {
    /// Stored name in the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            SupportAction::Unlock => "account.unlock",
            SupportAction::ResetTwoFactor => "account.reset_2fa",
            SupportAction::RemoveDevice(_) => "account.remove_device",
            SupportAction::EndSessions => "account.end_sessions",
        }
    }
}

/// The longest verification reference support may record, in characters.
pub const MAX_REFERENCE_CHARS: usize = 200;
/// The longest reason support may record, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// The API document's rules for the verification reference.
pub fn verification_reference_schema() -> utoipa::openapi::schema::Object {
    crate::http::openapi::schemas::line(
        "How the owner's identity was verified (ticket and method).",
        MAX_REFERENCE_CHARS,
    )
}

/// The API document's rules for the reason.
pub fn reason_schema() -> utoipa::openapi::schema::Object {
    crate::http::openapi::schemas::line("Why.", MAX_REASON_CHARS)
}

fn bounded(field: &str, value: &str, max: usize) -> Result<String, AccountError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AccountError::field(field, "required"));
    }
    if value.chars().count() > max {
        return Err(AccountError::field(field, "too_long"));
    }
    koban_policy::text::check_visible(value, false)
        .map_err(|_| AccountError::field(field, "hidden_character"))?;
    Ok(value.to_string())
}

/// Performs `action` on `account_id` for an agent. Refused without a
/// verification reference (how the owner's identity was checked, e.g. the
/// ticket and the method) and a reason; every action is written to the
/// audit log with who, why and which verification, and to the owner's
/// security timeline.
pub async fn perform(
    app: &App,
    agent: &Current,
    account_id: i64,
    action: SupportAction,
    verification_reference: &str,
    reason: &str,
    ip: &str,
) -> Result<(), AccountError> {
    let mut change = app.store.change().await?;
    perform_in(
        app,
        &mut change,
        agent,
        account_id,
        &action,
        verification_reference,
        reason,
        ip,
    )
    .await?;
    change.commit().await?;
    after_commit(app, &action);
    Ok(())
}

/// [`perform`] inside the caller's change, so the caller's own record of
/// the action (a ticket event) commits or rolls back with it. The caller
/// commits, then calls [`after_commit`].
#[allow(clippy::too_many_arguments)]
pub async fn perform_in(
    app: &App,
    change: &mut crate::store::Change,
    agent: &Current,
    account_id: i64,
    action: &SupportAction,
    verification_reference: &str,
    reason: &str,
    ip: &str,
) -> Result<(), AccountError> {
    if !agent.account.has_role("agent") {
        return Err(AccountError::Forbidden);
    }
    let verification_reference = bounded(
        "verification_reference",
        verification_reference,
        MAX_REFERENCE_CHARS,
    )?;
    let reason = bounded("reason", reason, MAX_REASON_CHARS)?;
    let account = accounts_store::find_by_id(app.store.read(), account_id)
        .await?
        .ok_or(AccountError::NotFound)?;
    // The action and its audit record commit together: an action nobody
    // can trace, or a record of one that never happened, are both worse
    // than a refusal.
    match action {
        SupportAction::Unlock => guards::clear_account(&mut *change.tx, account.id).await?,
        SupportAction::ResetTwoFactor => {
            super::totp::disable_in(&mut change.tx, account.id, Some(ip), "reset by support")
                .await?
        }
        SupportAction::RemoveDevice(device_id) => {
            let removed = super::devices::remove_in(
                &mut change.tx,
                account.id,
                *device_id,
                Some(ip),
                "removed by support",
            )
            .await?;
            if !removed {
                return Err(AccountError::field("device_id", "invalid_value"));
            }
        }
        SupportAction::EndSessions => {
            sessions::revoke_all_in(&mut *change.tx, account.id, None).await?;
        }
    }
    change.step("support_action:action_done")?;
    let detail = serde_json::json!({
        "verification_reference": verification_reference,
        "reason": reason,
        "device_id": match action { SupportAction::RemoveDevice(id) => Some(id), _ => None },
    });
    super::store::recovery::audit(
        &mut change.tx,
        agent.account.id,
        action.name(),
        account.id,
        &detail.to_string(),
        ip,
    )
    .await?;
    history::event(
        &mut *change.tx,
        account.id,
        &format!("support_{}", action.name().trim_start_matches("account.")),
        &verification_reference,
        Some(ip),
    )
    .await?;
    Ok(())
}

/// What follows a committed support action outside the database: an
/// unlocked account must not meet the refusals cached before it.
pub fn after_commit(app: &App, action: &SupportAction) {
    if *action == SupportAction::Unlock {
        crate::security::state(app).refusals.forget_all();
    }
}
