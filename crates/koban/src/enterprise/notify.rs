//! Telling a member something the organization did: a message to their
//! verified email, or else their verified phone, in their own language.

use super::EnterpriseError;
use crate::accounts::store as accounts_store;
use crate::delivery::{self, Channel, Outgoing};
use crate::state::App;
use crate::web::i18n::{t, Lang};
use sqlx::{Any, Transaction};

/// Queues `<message>-subject` and `<message>-body` to the account inside
/// the caller's change. False when the account has no verified address to
/// reach it at (the change goes on: the notice is a courtesy, the audit
/// entry is the record).
pub async fn queue(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
    purpose: &str,
    message: &str,
    args: &[(&str, String)],
) -> Result<bool, EnterpriseError> {
    let Some(account) = accounts_store::find_by_id(&mut **tx, account_id).await? else {
        return Ok(false);
    };
    let lang = account
        .locale
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::En);
    let destination = match (&account.email, account.email_verified, &account.phone) {
        (Some(email), true, _) => (Channel::Email, email.clone()),
        (_, _, Some(phone)) if account.phone_verified => (Channel::Sms, phone.clone()),
        _ => return Ok(false),
    };
    delivery::queue(
        tx,
        &app.key,
        app.config.delivery_mode == "live",
        Outgoing {
            account_id: Some(account_id),
            purpose: purpose.to_string(),
            channel: destination.0,
            destination: destination.1,
            subject: t(lang, &format!("{message}-subject"), args),
            body: t(lang, &format!("{message}-body"), args),
            mail: None,
        },
    )
    .await?;
    Ok(true)
}
