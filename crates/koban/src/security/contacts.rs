//! Changing the phone number or email address of an account: a fresh second
//! factor first, then a code to the new contact, and a notice to the old one.

use super::history;
use super::signin::notify_in;
use super::totp::require_step_up;
use crate::accounts::codes::{self, Purpose};
use crate::accounts::sessions::Current;
use crate::accounts::{store as accounts_store, Account, AccountError};
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use koban_policy::contact::Contact;

fn lang_of(account: &Account, fallback: Lang) -> Lang {
    account
        .locale
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(fallback)
}

/// Starts a change to `new`: needs a step-up within the last minutes, and
/// sends a code to the new contact to prove it.
pub async fn request_change(
    app: &App,
    current: &Current,
    new: &Contact,
    lang: Lang,
) -> Result<(), AccountError> {
    require_step_up(current)?;
    let field = new.kind();
    let existing = match new {
        Contact::Phone(_) => current.account.phone.as_deref(),
        Contact::Email(_) => current.account.email.as_deref(),
    };
    if existing == Some(new.as_str()) {
        return Err(AccountError::field(field, "same_as_current"));
    }
    if accounts_store::exists(app.store.read(), new).await? {
        return Err(AccountError::Duplicate(field));
    }
    codes::take_send_allowance(app, Purpose::ChangeContact, new.as_str()).await?;
    let mut tx = app.store.write().begin().await?;
    codes::issue(
        app,
        &mut tx,
        current.account.id,
        Purpose::ChangeContact,
        Some(&codes::session_binding(current.session_id)),
        new,
        lang_of(&current.account, lang),
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Finishes a change with the code sent to the new contact. The contacts
/// verified before the change are told, so a hijacker cannot quietly move
/// the account away.
pub async fn confirm_change(
    app: &App,
    current: &Current,
    code: &str,
    ip: &str,
    lang: Lang,
) -> Result<Account, AccountError> {
    let code = codes::normalize_code(code)?;
    let binding = codes::session_binding(current.session_id);
    let used = codes::check(
        app,
        current.account.id,
        Purpose::ChangeContact,
        Some(&binding),
        &code,
    )
    .await?;
    let (column, verified, kind) = if used.channel == "sms" {
        ("phone", "phone_verified_at", "phone")
    } else {
        ("email", "email_verified_at", "email")
    };
    // The new contact, the code used up, the timeline entry and the notice
    // to the contacts verified before: all of it, or none.
    let mut change = app.store.change().await?;
    codes::use_up(&mut change.tx, &used).await?;
    let updated = accounts_store::set_contact(
        &mut change.tx,
        current.account.id,
        (column, verified),
        &used.destination,
        now_ms(),
    )
    .await;
    if let Err(e) = updated {
        return Err(accounts_store::duplicate_field(&e)
            .map(AccountError::Duplicate)
            .unwrap_or(e.into()));
    }
    change.step("contact_change:contact_set")?;
    history::event(
        &mut *change.tx,
        current.account.id,
        "contact_changed",
        kind,
        Some(ip),
    )
    .await?;
    let lang = lang_of(&current.account, lang);
    notify_in(
        app,
        &mut change.tx,
        &current.account,
        "contact_changed_notice",
        t(lang, "notice-contact-changed-subject", &[]),
        t(
            lang,
            "notice-contact-changed-body",
            &[("kind", t(lang, &format!("noun-{kind}"), &[]))],
        ),
    )
    .await?;
    change.commit().await?;
    app.jobs_wakeup.notify_one();
    accounts_store::find_by_id(app.store.read(), current.account.id)
        .await?
        .ok_or(AccountError::NotFound)
}
