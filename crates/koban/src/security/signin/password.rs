//! The two ends of a password check: a right password scored by the risk
//! engine (on to a second factor, a lock, or the finish), a wrong one
//! counted and perhaps locked.

use super::*;

/// The rest of a sign-in whose password was right. A reservation still in
/// `held` when it returns is given back by the caller.
#[allow(clippy::too_many_arguments)]
pub(super) async fn correct_password(
    app: &App,
    account: Account,
    normalized: String,
    rehash: bool,
    mut before: facts::Facts,
    guard_key: &str,
    ctx: &ClientContext,
    now: i64,
    held: &mut Option<guards::CheckReservation>,
) -> Result<Outcome, AccountError> {
    let cfg = &crate::security::state(app).settings.risk;
    match account.status.as_str() {
        "pending" => {
            crate::security::state(app)
                .attempt_log
                .record(attempt(ctx, Some(account.id), "unverified", "deny"))
                .await?;
            return Err(AccountError::VerificationRequired);
        }
        "disabled" => {
            crate::security::state(app)
                .attempt_log
                .record(attempt(ctx, Some(account.id), "disabled", "deny"))
                .await?;
            return Err(AccountError::Disabled);
        }
        _ => {}
    }
    // Said only after the right password: a guesser learns nothing of it.
    if let Some(reason) = before.device_frozen.take() {
        crate::security::state(app)
            .attempt_log
            .record(attempt(ctx, Some(account.id), "device_frozen", "deny"))
            .await?;
        return Err(AccountError::DeviceFrozen { reason });
    }
    // Before the risk engine: a sign-in the policy refuses is not worth a
    // code sent for a step-up.
    let verdict = judge_policies(app, &account, ctx, 0).await?;
    if rehash {
        if let Ok(hash) = crate::accounts::hasher(app).hash(normalized).await {
            accounts_store::set_password_hash(app.store.write(), account.id, &hash, false).await?;
        }
    }
    let context = risk_context(&mut before, ctx);
    let assessment = risk::assess(&context, now, cfg);
    let reasons: Vec<String> = assessment
        .reasons
        .iter()
        .map(|r| r.code().to_string())
        .collect();
    let scored = |outcome, decision| Attempt {
        risk_score: assessment.score as i64,
        reasons: reasons.clone(),
        ..attempt(ctx, Some(account.id), outcome, decision)
    };
    let risky: Vec<&str> = reasons
        .iter()
        .map(String::as_str)
        .filter(|code| RISKY_REASONS.contains(code))
        .collect();
    match assessment.decision {
        Decision::TemporaryLock { until_ms } => {
            crate::security::state(app)
                .attempt_log
                .record(scored("locked", "temporary_lock"))
                .await?;
            return Err(AccountError::Locked {
                retry_after_ms: Some(until_ms - now),
                lock: Lock::Temporary,
                reference: None,
            });
        }
        Decision::LockUntilVerifiedSupport => {
            let decision = risk::LockDecision::LockUntilVerifiedSupport;
            let applied = guards::lock(&app.store, guard_key, decision, "risk", now).await?;
            crate::security::state(app)
                .attempt_log
                .record(scored("locked", "support_lock"))
                .await?;
            if applied.newly {
                lock_notice(app, &account, ctx, decision, applied, &reasons.join(",")).await?;
            }
            return Err(AccountError::Locked {
                retry_after_ms: None,
                lock: Lock::Support,
                reference: applied.reference.map(LockReference),
            });
        }
        Decision::StepUp => {
            history::event(
                app.store.write(),
                account.id,
                "sign_in_step_up",
                &reasons.join(","),
                Some(&ctx.ip.to_string()),
            )
            .await?;
        }
        Decision::Allow => {}
    }
    if !risky.is_empty() {
        risky_sign_in_alert(app, &account, ctx, &risky).await?;
    }
    let factors = before.factors;
    let two_factor = factors.on();
    if two_factor || assessment.decision == Decision::StepUp {
        let methods = factors.methods();
        let (challenge, challenge_id) = create_challenge(
            app,
            account.id,
            "second_factor",
            ctx,
            assessment.score as i64,
            &reasons,
        )
        .await?;
        if !two_factor {
            send_sign_in_code(app, &account, challenge_id, ctx.lang).await?;
        }
        crate::security::state(app)
            .attempt_log
            .record(scored(
                "second_factor_required",
                if two_factor { "allow" } else { "step_up" },
            ))
            .await?;
        // Only a new device can meet the limit; a bound one costs no read.
        let device_limit = match before.device_id {
            Some(_) => None,
            None => limit_reached(app, account.id).await?,
        };
        return Ok(Outcome::SecondFactor {
            challenge,
            methods,
            device_limit,
        });
    }
    let known = before.device_id.map(|id| KnownDevice {
        id,
        guard_clear: before.guard.is_clear(),
        account_second_factor_clear: before.account_guard.second_factor_is_clear(),
        reservation: held.take(),
    });
    finish(
        app,
        &account,
        &spec(ctx),
        ctx,
        assessment.score as i64,
        &reasons,
        Already {
            device: known,
            verdict: Some(verdict),
        },
    )
    .await
}

pub(super) async fn password_failed(
    app: &App,
    mut reservation: guards::CheckReservation,
    guard_key: &str,
    account_id: Option<i64>,
    ctx: &ClientContext,
) -> AccountError {
    let result: Result<bool, AccountError> = async {
        let cfg = &crate::security::state(app).settings.risk;
        let now = now_ms();
        // Each count releases what the check had reserved there.
        let (failures, decision, applied) =
            guards::count_password_failure(&app.store, guard_key, now, cfg).await?;
        reservation.guard_settled();
        guards::count_ip_failure(
            &app.store,
            &ctx.ip.to_string(),
            now,
            cfg.ip_failure_window_ms,
        )
        .await?;
        reservation.ip_settled();

        let (outcome, verdict) = match (account_id, decision) {
            (None, _) => ("unknown_account", "deny"),
            (Some(_), risk::LockDecision::NoLock) => ("wrong_password", "deny"),
            (Some(_), risk::LockDecision::TemporaryLock { .. }) => {
                ("wrong_password", "temporary_lock")
            }
            (Some(_), risk::LockDecision::LockUntilVerifiedSupport) => {
                ("wrong_password", "support_lock")
            }
        };
        crate::security::state(app)
            .attempt_log
            .record(attempt(ctx, account_id, outcome, verdict))
            .await?;
        if let (true, Some(id)) = (applied.newly, account_id) {
            if let Some(account) = accounts_store::find_by_id(app.store.read(), id).await? {
                lock_notice(app, &account, ctx, decision, applied, "password_failures").await?;
            }
        }
        Ok(decision == risk::LockDecision::NoLock && risk::next_failure_locks(failures, cfg))
    }
    .await;
    match result {
        Ok(true) => AccountError::BadCredentialsLastTry,
        Ok(false) => AccountError::BadCredentials,
        Err(e) => e,
    }
}

/// What the risk engine weighs for a correct password, from the facts the
/// sign-in read before hashing (its lists are moved out) and the request.
/// Public so that `koban bench risk` times exactly what a sign-in does.
pub fn risk_context(before: &mut facts::Facts, ctx: &ClientContext) -> SignInContext {
    let past = std::mem::take(&mut before.past);
    let guard = &before.guard;
    let mut context = SignInContext::new(ctx.ip);
    context.consecutive_failures = guard.failures.clamp(0, u32::MAX as i64) as u32;
    context.last_failure_ms = guard.last_failure_at;
    context.lock = guard.lock();
    context.device_known = before.device_id.is_some();
    context.new_device_times_ms = std::mem::take(&mut before.new_device_times_ms);
    context.known_ips = past.known_ips;
    context.known_countries = past.known_countries;
    context.last_sign_in = past.last.and_then(|last| {
        Some(LastSignIn {
            at_ms: last.at,
            ip: last.ip.parse().ok()?,
            country: last.country,
            location: match (last.latitude, last.longitude) {
                (Some(a), Some(o)) => GeoPoint::new(a, o),
                _ => None,
            },
        })
    });
    context.ip_failures_in_window = before.ip_failures;
    context.country = ctx.place.country.clone();
    context.location = ctx.place.location;
    context.client_version = ctx.client_version.clone();
    context
}
