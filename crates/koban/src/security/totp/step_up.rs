//! Proving a second factor: for a sensitive change (step-up) or a sign-in,
//! with the second-factor counter guarding against guessing.

use super::*;

/// Sends a step-up code to a verified contact (for accounts without 2FA).
pub async fn send_step_up_code(app: &App, current: &Current) -> Result<(), AccountError> {
    let contact = crate::security::signin::verified_contacts(&current.account)
        .into_iter()
        .next()
        .ok_or_else(|| AccountError::field("method", "not_on_file"))?;
    codes::take_send_allowance(app, Purpose::StepUp, contact.as_str()).await?;
    let lang = current
        .account
        .locale
        .as_deref()
        .and_then(crate::web::i18n::Lang::parse)
        .unwrap_or(crate::web::i18n::Lang::En);
    let mut tx = app.store.write().begin().await?;
    codes::issue(
        app,
        &mut tx,
        current.account.id,
        Purpose::StepUp,
        Some(&codes::session_binding(current.session_id)),
        &contact,
        lang,
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Checks one second-factor answer: `totp`, `recovery_code`, or `code` (a
/// code of `code_purpose` sent to a verified contact). Refused while
/// second-factor sign-in is locked; a wrong answer counts on the
/// second-factor counter, apart from passwords, and may start that lock.
pub async fn prove(
    app: &App,
    account_id: i64,
    method: &str,
    answer: &str,
    code_purpose: Purpose,
    bound_to: codes::Binding<'_>,
) -> Result<(), AccountError> {
    if !matches!(method, "totp" | "recovery_code" | "code") {
        return Err(AccountError::field("method", "invalid_value"));
    }
    // The answer is counted before it is checked, in one statement, so that
    // parallel guesses cannot all see the counter below its limit.
    let key = crate::security::guards::account_key(account_id);
    let limit = app.config.second_factor_lock_after_failures;
    let now = now_ms();
    let Some(position) =
        crate::security::guards::reserve_second_factor(&app.store, &key, now, limit).await?
    else {
        let guard = crate::security::guards::load(&app.store, &key).await?;
        return Err(
            match guard.second_factor_locked_until.filter(|t| *t > now) {
                Some(until) => AccountError::SecondFactorLocked(until - now),
                // Every allowed answer is being checked right now.
                None => AccountError::RateLimited(1000),
            },
        );
    };
    // Outer error: the answer could not be checked; inner: it was wrong,
    // with the refusal that says how.
    let checked: Result<Result<(), AccountError>, AccountError> = async {
        Ok(match method {
            "totp" => check(app, account_id, answer, true).await?.accepted(),
            "recovery_code" => match use_recovery_code(app, account_id, answer).await? {
                true => Ok(()),
                false => Err(AccountError::CodeInvalid),
            },
            _ => {
                let code = codes::normalize_code(answer)?;
                codes::consume(app, account_id, code_purpose, bound_to, &code)
                    .await
                    .map(|_| ())
                    .map_err(|_| AccountError::CodeInvalid)
            }
        })
    }
    .await;
    let lock_ms = app.config.second_factor_lock_minutes * 60_000;
    // A right answer, or one that could not be checked (a malformed code),
    // gives its count back; a wrong one keeps it, and the one that reached
    // the limit locks.
    let failed = matches!(checked, Ok(Err(_)));
    crate::security::guards::settle_second_factor(
        &app.store,
        &key,
        position,
        failed,
        now_ms(),
        limit,
        lock_ms,
    )
    .await?;
    checked?
}

/// Refuses while the account's second-factor sign-in is locked.
pub async fn second_factor_open(app: &App, account_id: i64) -> Result<(), AccountError> {
    let key = crate::security::guards::account_key(account_id);
    let now = now_ms();
    let guard = crate::security::guards::load(&app.store, &key).await?;
    match guard.second_factor_locked_until.filter(|t| *t > now) {
        Some(until) => Err(AccountError::SecondFactorLocked(until - now)),
        None => Ok(()),
    }
}

/// Counts a wrong second factor of any kind; enough of them lock it.
pub async fn count_second_factor_failure(app: &App, account_id: i64) -> Result<(), AccountError> {
    let key = crate::security::guards::account_key(account_id);
    let lock_ms = app.config.second_factor_lock_minutes * 60_000;
    let limit = app.config.second_factor_lock_after_failures;
    crate::security::guards::count_second_factor_failure(
        &app.store,
        &key,
        now_ms(),
        limit,
        lock_ms,
    )
    .await?;
    Ok(())
}

/// Passes step-up with `method` (`totp`, `recovery_code` or `code`). Wrong
/// answers count on the second-factor counter.
pub async fn step_up(
    app: &App,
    current: &Current,
    method: &str,
    answer: &str,
) -> Result<(), AccountError> {
    // With 2FA on, only the second factor itself will do; without it, a code to a verified contact.
    if !factors(app, current.account.id)
        .await?
        .step_up_accepts(method)
    {
        return Err(AccountError::field("method", "invalid_value"));
    }
    let binding = codes::session_binding(current.session_id);
    prove(
        app,
        current.account.id,
        method,
        answer,
        Purpose::StepUp,
        Some(&binding),
    )
    .await?;
    mark_stepped_up(app, current.session_id).await
}
