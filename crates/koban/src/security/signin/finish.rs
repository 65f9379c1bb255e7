//! The end of a sign-in whose every check passed: the device bound or
//! touched, the session made, the guards cleared, the success recorded;
//! or a stop at the device limit.

use super::*;
use koban_policy::org::policy::Verdict;

/// A bound device the sign-in already found, with what it read of the
/// guards a success clears.
pub struct KnownDevice {
    pub id: i64,
    /// The device's own guard holds nothing to clear.
    pub guard_clear: bool,
    /// The account guard's second-factor counter holds nothing to clear.
    pub account_second_factor_clear: bool,
    /// The password check's reservation, settled with the sign-in's writes.
    pub reservation: Option<guards::CheckReservation>,
}

/// What a sign-in already read before [`finish`]; what is missing is read there.
#[derive(Default)]
pub struct Already {
    /// The bound device the sign-in found.
    pub device: Option<KnownDevice>,
    /// The policies' verdict, judged before the risk engine.
    pub verdict: Option<Verdict>,
}

/// What the organizations' policies decide for this sign-in; a refusal is
/// recorded and returned. Only someone who proved the account's password
/// or passkey meets it, so only the owner learns which organization
/// governs the account.
pub async fn judge_policies(
    app: &App,
    account: &Account,
    ctx: &ClientContext,
    score: i64,
) -> Result<Verdict, AccountError> {
    let verdict = crate::security::policies::judge(app, account, ctx, now_ms()).await?;
    if let Some(source) = verdict.refused {
        crate::security::state(app)
            .attempt_log
            .record(Attempt {
                risk_score: score,
                reasons: vec![format!("policy:{}", source.rule.as_str())],
                ..attempt(ctx, Some(account.id), "policy_refused", "deny")
            })
            .await?;
        return Err(AccountError::PolicyRefused(source));
    }
    Ok(verdict)
}

/// Completes a sign-in whose every check passed: binds or touches the
/// device (or stops at the device limit), makes the session, clears the
/// failure counter and records the success. `known` is the device as the
/// sign-in read it; without it (a second step, later) it is read again and
/// the guards are cleared unread.
pub async fn finish(
    app: &App,
    account: &Account,
    spec: &DeviceSpec,
    ctx: &ClientContext,
    score: i64,
    reasons: &[String],
    already: Already,
) -> Result<Outcome, AccountError> {
    let Already {
        device: known,
        verdict: judged,
    } = already;
    let known = match known {
        Some(device) => Some(device),
        None => devices::find_by_key(&app.store, account.id, &spec.key_hash)
            .await?
            .map(|id| KnownDevice {
                id,
                guard_clear: false,
                account_second_factor_clear: false,
                reservation: None,
            }),
    };
    let verdict = match judged {
        Some(verdict) => verdict,
        None => judge_policies(app, account, ctx, score).await?,
    };
    let lifetime_cap = verdict.session_lifetime_ms.as_ref().map(|l| l.value);
    let success = Attempt {
        risk_score: score,
        reasons: reasons.to_vec(),
        ..attempt(ctx, Some(account.id), "success", "allow")
    };
    // The account's very first device (at sign-up) is announced to nobody:
    // there is nothing yet it could be an intruder beside.
    let mut announce = false;
    let mut known = known;
    let (device_id, new_device, session) = match &mut known {
        Some(device) => {
            let success = Attempt {
                device_id: Some(device.id),
                ..success
            };
            let reservation = device.reservation.take();
            let session = conclude_on_known_device(
                app,
                account.id,
                device.id,
                spec,
                sessions::Draft::new(app, ctx.user_agent.as_deref()).capped(lifetime_cap),
                &success,
                reservation,
            )
            .await?;
            (device.id, false, session)
        }
        None => {
            announce = !devices::first_seen_since(&app.store, account.id, 0)
                .await?
                .is_empty();
            // Only devices holding a place count (signed in, or used within
            // the window): browsers that signed out long ago stay listed but
            // leave room, as LINE and Google count. The pages and the API
            // decide by this one rule (`device_limit_ahead` too).
            let bound = devices::list_counted(&app.store, &app.config, account.id, None).await?;
            let uses: Vec<_> = bound.iter().map(devices::device_use).collect();
            let window = devices::place_window_ms(&app.config);
            let (max, policy) = match verdict.max_devices {
                Some(l) if l.value < app.config.max_devices.max(1) => (l.value, Some(l.source)),
                _ => (app.config.max_devices, None),
            };
            if !koban_policy::device::room_for_new_device(&uses, now_ms(), window, max) {
                let bound: Vec<devices::Device> =
                    bound.into_iter().filter(|d| d.holds_place).collect();
                let (challenge, _) =
                    create_challenge(app, account.id, "device_limit", ctx, score, reasons).await?;
                crate::security::state(app)
                    .attempt_log
                    .record(Attempt {
                        risk_score: score,
                        reasons: reasons.to_vec(),
                        ..attempt(ctx, Some(account.id), "device_limit", "deny")
                    })
                    .await?;
                return Ok(Outcome::DeviceLimit {
                    challenge,
                    devices: bound,
                    limit: max.max(1),
                    policy,
                });
            }
            let id = devices::create(&app.store, account.id, spec).await?;
            let session = sessions::create_capped(
                app,
                account.id,
                Some(id),
                Some(&spec.ip),
                ctx.user_agent.as_deref(),
                lifetime_cap,
            )
            .await?;
            crate::security::state(app)
                .attempt_log
                .record(Attempt {
                    device_id: Some(id),
                    ..success
                })
                .await?;
            (id, true, session)
        }
    };
    // A known device clears only its own counter: the owner signing in on
    // their phone must not reset the back-off of someone guessing elsewhere.
    match &known {
        None => {
            guards::clear(&app.store, &guards::device_key(account.id, &spec.key_hash)).await?;
            guards::clear(&app.store, &guards::account_key(account.id)).await?;
        }
        Some(device) => {
            if !device.guard_clear {
                guards::clear(&app.store, &guards::device_key(account.id, &spec.key_hash)).await?;
            }
            if !device.account_second_factor_clear {
                guards::clear_second_factor(&app.store, account.id).await?;
            }
        }
    }
    if announce {
        let lang = account_lang(account, ctx.lang);
        let args = [("device", spec.name.clone()), ("ip", spec.ip.clone())];
        notify(
            app,
            account,
            "new_device_alert",
            t(lang, "notice-new-device-subject", &[]),
            t(lang, "notice-new-device-body", &args),
        )
        .await?;
    }
    Ok(Outcome::SignedIn {
        account: account.clone(),
        session,
        device_id,
        new_device,
        two_factor_owed: verdict.two_factor_owed,
    })
}

/// The writes of a sign-in from a bound device, in one round trip: the
/// device touched, the success recorded, the session stored. On PostgreSQL
/// one statement (the first two as data-modifying WITH clauses, so the three
/// commit together); on SQLite three statements sent at once to the single
/// writer, each committing as it runs (a touch or a history row without its
/// session is harmless). Three round trips here were a fifth of what a
/// sign-in costs the database besides hashing (docs/benchmarks-history.md, run 5).
///
/// On PostgreSQL the statement commits without waiting for the WAL flush
/// unless `database_sign_in_waits_for_flush` says otherwise: the flush is
/// a disk write per sign-in, a third of what PostgreSQL spent on one
/// (docs/benchmarks-history.md, run 8), for rows a database crash may lose at the cost
/// of a new sign-in. Failure counters and locks are written elsewhere, and
/// wait. The password check's reservation is given back in the same trip.
pub(super) async fn conclude_on_known_device(
    app: &App,
    account_id: i64,
    device_id: i64,
    spec: &DeviceSpec,
    draft: sessions::Draft,
    success: &Attempt,
    reservation: Option<guards::CheckReservation>,
) -> Result<NewSession, AccountError> {
    // Unreserved parts bind NULL, which matches no row.
    let (reserved_guard, reserved_ip) = reservation
        .map(guards::CheckReservation::take_for_statement)
        .unwrap_or_default();
    let session_id = store::conclude_on_known_device(
        &app.store,
        !app.config.database_sign_in_waits_for_flush,
        &store::KnownDeviceSignIn {
            account_id,
            device_id,
            spec,
            draft: &draft,
            success,
            reserved_guard,
            reserved_ip,
        },
    )
    .await?;
    Ok(draft.stored(session_id))
}

/// Whether a sign-in owed a second factor will stop at the device limit
/// once the factor is given (a new device, every place taken): the page
/// says so before it asks for the factor, instead of after. The same rule
/// as [`finish`]; nothing is removed before the factor is proved, so a
/// password alone can never sign the owner's devices out.
pub async fn device_limit_ahead(
    app: &App,
    challenge: &Challenge,
) -> Result<Option<i64>, AccountError> {
    if devices::find_by_key(&app.store, challenge.account.id, &challenge.spec.key_hash)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    limit_reached(app, challenge.account.id).await
}

/// The device limit when every place under it is taken, else None.
pub(super) async fn limit_reached(app: &App, account_id: i64) -> Result<Option<i64>, AccountError> {
    let bound = devices::list_counted(&app.store, &app.config, account_id, None).await?;
    let uses: Vec<_> = bound.iter().map(devices::device_use).collect();
    let window = devices::place_window_ms(&app.config);
    let (max, _) = crate::security::policies::device_limit(app, account_id).await?;
    Ok(
        (!koban_policy::device::room_for_new_device(&uses, now_ms(), window, max))
            .then_some(max.max(1)),
    )
}

/// Finishes a sign-in stopped at the device limit by removing one device.
pub async fn resolve_device_limit(
    app: &App,
    token: &str,
    remove_device_id: i64,
    ctx: &ClientContext,
) -> Result<Outcome, AccountError> {
    let challenge = open_challenge(app, token, "device_limit").await?;
    if !devices::remove(
        &app.store,
        challenge.account.id,
        remove_device_id,
        Some(&challenge.spec.ip),
        "removed at sign-in to make room",
    )
    .await?
    {
        return Err(AccountError::field("remove_device_id", "invalid_value"));
    }
    if !use_challenge(app, challenge.id).await? {
        return Err(AccountError::field("challenge", "invalid_value"));
    }
    finish(
        app,
        &challenge.account,
        &challenge.spec,
        ctx,
        challenge.score,
        &challenge.reasons,
        Already::default(),
    )
    .await
}
