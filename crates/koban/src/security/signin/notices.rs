//! What a sign-in tells the account's owner: new devices, risky sign-ins
//! and locks, sent to every verified contact in the owner's language.

use super::*;

pub(super) fn account_lang(account: &Account, fallback: Lang) -> Lang {
    account
        .locale
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(fallback)
}

/// The account's verified contacts, email first.
pub fn verified_contacts(account: &Account) -> Vec<Contact> {
    let mut out = vec![];
    if account.email_verified {
        if let Some(e) = &account.email {
            out.push(Contact::Email(e.clone()));
        }
    }
    if account.phone_verified {
        if let Some(p) = &account.phone {
            out.push(Contact::Phone(p.clone()));
        }
    }
    out
}

/// Queues a notice to every verified contact of the account.
pub async fn notify(
    app: &App,
    account: &Account,
    purpose: &str,
    subject: String,
    body: String,
) -> Result<(), AccountError> {
    if verified_contacts(account).is_empty() {
        return Ok(());
    }
    let mut change = app.store.change().await?;
    notify_in(app, &mut change.tx, account, purpose, subject, body).await?;
    change.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// [`notify`] inside a change of several rows; the caller wakes the jobs
/// after its commit.
pub async fn notify_in(
    app: &App,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account: &Account,
    purpose: &str,
    subject: String,
    body: String,
) -> Result<(), AccountError> {
    for contact in verified_contacts(account) {
        let channel = match contact {
            Contact::Phone(_) => Channel::Sms,
            Contact::Email(_) => Channel::Email,
        };
        let message = Outgoing {
            account_id: Some(account.id),
            purpose: purpose.to_string(),
            channel,
            destination: contact.as_str().to_string(),
            subject: subject.clone(),
            body: body.clone(),
            mail: None,
        };
        delivery::queue(tx, &app.key, app.config.delivery_mode == "live", message).await?;
    }
    Ok(())
}

/// The reasons of a sign-in whose password was right that its owner is
/// told about at once: someone holding the password from somewhere new.
pub(super) const RISKY_REASONS: [&str; 3] = ["new_country", "impossible_travel", "device_churn"];

/// Records a risky sign-in on the owner's timeline and alerts their
/// verified contacts in their language, with the way to secure the account.
/// One alert a minute (five an hour) at most: whoever holds the password
/// must not be able to flood the owner's inbox, and the timeline keeps
/// every one.
pub(super) async fn risky_sign_in_alert(
    app: &App,
    account: &Account,
    ctx: &ClientContext,
    risky: &[&str],
) -> Result<(), AccountError> {
    let ip = ctx.ip.to_string();
    history::event(
        app.store.write(),
        account.id,
        "risky_sign_in",
        &risky.join(","),
        Some(&ip),
    )
    .await?;
    let allowance = format!("risky_sign_in_alert:account:{}", account.id);
    if codes::take_allowance(app, koban_policy::throttle::CODE_SENDS, &allowance)
        .await
        .is_err()
    {
        return Ok(());
    }
    let lang = account_lang(account, ctx.lang);
    let reasons = lang.list(
        &risky
            .iter()
            .map(|code| t(lang, &format!("risk-reason-{code}"), &[]))
            .collect::<Vec<_>>(),
    );
    let link = format!("{}/account/secure", app.config.public_base());
    notify(
        app,
        account,
        "risky_sign_in_alert",
        t(lang, "notice-risky-subject", &[]),
        t(
            lang,
            "notice-risky-body",
            &[("ip", ip), ("reasons", reasons), ("link", link)],
        ),
    )
    .await
}

/// Records a new lock (with `reasons`, risk codes joined by commas) on the
/// timeline and tells the owner the way out that applies: how long to wait
/// and how to unlock now, or, for a support lock, the reference to quote.
pub(super) async fn lock_notice(
    app: &App,
    account: &Account,
    ctx: &ClientContext,
    decision: risk::LockDecision,
    applied: guards::Applied,
    reasons: &str,
) -> Result<(), AccountError> {
    let lang = account_lang(account, ctx.lang);
    history::event(
        app.store.write(),
        account.id,
        "locked",
        reasons,
        Some(&ctx.ip.to_string()),
    )
    .await?;
    let (subject, body) = match decision {
        risk::LockDecision::LockUntilVerifiedSupport => {
            let reference = applied.reference.map(|r| LockReference(r).to_string());
            (
                t(lang, "notice-locked-support-subject", &[]),
                t(
                    lang,
                    "notice-locked-support-body",
                    &[("reference", reference.unwrap_or_default())],
                ),
            )
        }
        risk::LockDecision::TemporaryLock { until_ms } => {
            let minutes = ((until_ms - now_ms()).max(0) + 59_999) / 60_000;
            let link = format!("{}/signin", app.config.public_base());
            (
                t(lang, "notice-locked-subject", &[]),
                t(
                    lang,
                    "notice-locked-body",
                    &[("minutes", minutes.to_string()), ("link", link)],
                ),
            )
        }
        risk::LockDecision::NoLock => return Ok(()),
    };
    notify(app, account, "lock_notice", subject, body).await
}
