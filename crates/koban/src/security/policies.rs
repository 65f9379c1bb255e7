//! The policies set over an account by those it belongs to (its
//! organizations), as a sign-in meets them: a refusal naming the rule, a
//! lower device limit, a shorter session, two-step verification owed.
//!
//! The organizations are a domain above this one, so they lend their
//! policies through a hook: the enterprise domain adds a [`PolicySource`]
//! to the application's parts when it is composed, and a sign-in asks it.
//! Without one (a build without organizations) nothing governs anyone.
//! The source reads the database on every sign-in, never a cache, so a
//! policy changed through one node holds on the next sign-in on every node.

use crate::accounts::AccountError;
use crate::state::App;
use koban_policy::org::policy::{self, Governing, Limit, SignIn, Verdict};
use std::future::Future;
use std::pin::Pin;

/// What a [`PolicySource`] returns.
pub type Governs<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Governing>, sqlx::Error>> + Send + 'a>>;

/// Reads the policies that govern an account, in a stable order.
pub struct PolicySource(pub for<'a> fn(&'a App, i64) -> Governs<'a>);

/// The policies governing `account_id`.
pub async fn governing(app: &App, account_id: i64) -> Result<Vec<Governing>, AccountError> {
    match app.try_part::<PolicySource>() {
        Some(source) => Ok((source.0)(app, account_id).await?),
        None => Ok(Vec::new()),
    }
}

/// What the policies decide for a sign-in of `account` from `ctx`. The
/// second factors are read only when a policy requires them.
pub async fn judge(
    app: &App,
    account: &crate::accounts::store::Account,
    ctx: &super::client::ClientContext,
    now: i64,
) -> Result<Verdict, AccountError> {
    let governing = governing(app, account.id).await?;
    if governing.is_empty() {
        return Ok(Verdict::default());
    }
    let two_factor_on = if governing
        .iter()
        .any(|g| g.policy.two_factor_grace_days.is_some())
    {
        super::totp::factors(app, account.id).await?.on()
    } else {
        false
    };
    Ok(policy::judge_sign_in(
        &governing,
        &SignIn {
            ip: ctx.ip,
            country: ctx.place.country.as_deref(),
            client_version: ctx.client_version.as_deref(),
            password_changed_at_ms: account.password_changed_at,
            two_factor_on,
            now_ms: now,
        },
    ))
}

/// The device limit that holds for `account_id`: the configured one, or a
/// policy's lower one with its source.
pub async fn device_limit(
    app: &App,
    account_id: i64,
) -> Result<(i64, Option<Limit>), AccountError> {
    let governing = governing(app, account_id).await?;
    Ok(lower_limit(app.config.max_devices, &governing))
}

/// `configured`, or the lowest policy limit below it.
pub fn lower_limit(configured: i64, governing: &[Governing]) -> (i64, Option<Limit>) {
    let lowest = governing
        .iter()
        .filter_map(|g| g.policy.max_devices.map(|n| (n as i64, g)))
        .min_by_key(|(n, _)| *n);
    match lowest {
        Some((n, g)) if n < configured.max(1) => (
            n,
            Some(Limit {
                value: n,
                source: policy::Source {
                    organization_id: g.org_id,
                    organization: g.org_name.clone(),
                    rule: policy::Rule::MaxDevices,
                },
            }),
        ),
        _ => (configured, None),
    }
}
