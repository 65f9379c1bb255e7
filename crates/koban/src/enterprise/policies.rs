//! An organization's security policy: read with `policies.read`, changed
//! with `policies.manage`, and lent to the security center, whose sign-in
//! asks [`source`] which policies govern an account (see
//! `security/policies.rs`). The rules themselves are pure, in
//! `koban_policy::org::policy`.

use super::access;
use super::store::{self, policies::PolicyRow};
use super::EnterpriseError;
use crate::http::problem::FieldError;
use crate::security::policies::{Governs, PolicySource};
use crate::state::App;
use crate::store::now_ms;
use koban_policy::org::policy::{self, Governing, Policy};
use koban_policy::org::roles::Permission;
use koban_policy::risk::{Cidr, ClientVersion};
use serde_json::json;

/// A policy as a request or a form gives it: lists and the client version
/// still as text.
#[derive(Debug, Default)]
pub struct PolicyInput {
    pub two_factor_grace_days: Option<u32>,
    pub max_devices: Option<u32>,
    pub allowed_countries: Vec<String>,
    pub allowed_networks: Vec<String>,
    pub session_lifetime_minutes: Option<u32>,
    pub password_max_age_days: Option<u32>,
    pub min_client_version: Option<String>,
}

/// The policy `input` asks for, as it would be stored, or every field that
/// cannot be (all of them, so a form can show each beside its field; the
/// API names the first). Networks and the version are read first, then the
/// ranges in [`Policy::checked`] order.
pub fn read_input(input: PolicyInput) -> Result<Policy, Vec<FieldError>> {
    let mut errors: Vec<FieldError> = Vec::new();
    let bad = |errors: &mut Vec<FieldError>, field: &str, code| {
        errors.push(FieldError {
            field: field.to_string(),
            code,
        })
    };
    let mut networks = Vec::new();
    if input.allowed_networks.len() > policy::MAX_LIST {
        bad(&mut errors, "allowed_networks", "too_many");
    } else {
        match input
            .allowed_networks
            .iter()
            .map(|n| n.trim().parse::<Cidr>())
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(parsed) => networks = parsed,
            Err(_) => bad(&mut errors, "allowed_networks", "invalid_value"),
        }
    }
    let version = match input.min_client_version.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match text.parse::<ClientVersion>() {
            Ok(v) => Some(v),
            Err(_) => {
                bad(&mut errors, "min_client_version", "invalid_value");
                None
            }
        },
    };
    let mut wanted = Policy {
        two_factor_grace_days: input.two_factor_grace_days,
        max_devices: input.max_devices,
        allowed_countries: input.allowed_countries,
        allowed_networks: networks,
        session_lifetime_minutes: input.session_lifetime_minutes,
        password_max_age_days: input.password_max_age_days,
        min_client_version: version,
    };
    // `checked` names one field at a time: set that one aside and ask
    // again, so every field out of range is named.
    loop {
        match wanted.clone().checked() {
            Ok(checked) if errors.is_empty() => return Ok(checked),
            Ok(_) => return Err(errors),
            Err(e) => {
                bad(&mut errors, e.field, e.reason);
                match e.field {
                    "two_factor_grace_days" => wanted.two_factor_grace_days = None,
                    "max_devices" => wanted.max_devices = None,
                    "session_lifetime_minutes" => wanted.session_lifetime_minutes = None,
                    "password_max_age_days" => wanted.password_max_age_days = None,
                    "allowed_countries" => wanted.allowed_countries.clear(),
                    "allowed_networks" => wanted.allowed_networks.clear(),
                    // A field `checked` learns to refuse later: stop
                    // rather than ask forever.
                    _ => return Err(errors),
                }
            }
        }
    }
}

/// The hook the enterprise domain adds for the security center.
pub fn source() -> PolicySource {
    PolicySource(governing_for)
}

fn governing_for(app: &App, account_id: i64) -> Governs<'_> {
    Box::pin(async move {
        let rows = store::policies::governing(app.store.read(), account_id).await?;
        Ok(rows
            .into_iter()
            .map(|(org_id, org_name, policy, since, joined_at)| Governing {
                org_id,
                org_name,
                policy,
                grace_from_ms: since.unwrap_or(joined_at).max(joined_at),
            })
            .collect())
    })
}

/// The organization's policy, for a member with `policies.read`.
pub async fn get(app: &App, actor: i64, org_id: i64) -> Result<PolicyRow, EnterpriseError> {
    let (me, _) = access::acting(app, org_id, actor).await?;
    me.may(Permission::ReadPolicies)?;
    Ok(store::policies::find(app.store.read(), org_id).await?)
}

/// Replaces the organization's policy (`policies.manage`). `expected`, when
/// given, is the version the caller last read: a policy changed since is a
/// conflict rather than overwritten unseen. A shorter session lifetime
/// shortens the members' live sessions at once.
pub async fn set(
    app: &App,
    actor: i64,
    org_id: i64,
    wanted: Policy,
    expected: Option<i64>,
) -> Result<PolicyRow, EnterpriseError> {
    let wanted = wanted
        .checked()
        .map_err(|e| EnterpriseError::field(e.field, e.reason))?;
    let (mut change, me, _) = access::change_in(app, org_id, actor).await?;
    me.may(Permission::ManagePolicies)?;
    let current = store::policies::find(&mut *change.tx, org_id).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(EnterpriseError::Conflict("org-policy-changed"));
    }
    if wanted == current.policy && current.version > 0 {
        return Ok(current);
    }
    let now = now_ms();
    let two_factor_since = match (
        current.policy.two_factor_grace_days,
        wanted.two_factor_grace_days,
    ) {
        (_, None) => None,
        (None, Some(_)) => Some(now),
        (Some(_), Some(_)) => current.two_factor_since.or(Some(now)),
    };
    let saved = PolicyRow {
        policy: wanted,
        two_factor_since,
        version: current.version + 1,
        updated_at: Some(now),
    };
    store::policies::save(&mut change.tx, org_id, &saved, actor, now).await?;
    let mut shortened = 0;
    if let Some(minutes) = saved.policy.session_lifetime_minutes {
        if current
            .policy
            .session_lifetime_minutes
            .is_none_or(|m| minutes < m)
        {
            let cap = minutes as i64 * 60_000;
            for account in store::policies::member_accounts(&mut *change.tx, org_id).await? {
                shortened +=
                    crate::accounts::sessions::cap_lifetime_in(&mut *change.tx, account, cap)
                        .await?;
            }
        }
    }
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "policy.changed",
        &format!("org:{org_id}"),
        json!({
            "version": saved.version,
            "before": current.policy,
            "after": saved.policy,
            "sessions_shortened": shortened,
        }),
    )
    .await?;
    change.commit().await?;
    Ok(saved)
}

/// When a member without two-step verification is refused by the
/// organization whose policy requires it: `Some(deadline)` once the grace
/// period is over, read inside the caller's transaction.
pub async fn two_factor_overdue_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org: &store::orgs::OrgRow,
    member: &store::members::MemberRow,
) -> Result<Option<i64>, EnterpriseError> {
    let row = store::policies::find(&mut **tx, org.id).await?;
    if row.policy.two_factor_grace_days.is_none() {
        return Ok(None);
    }
    let on = crate::security::totp::factors_in(&mut **tx, member.account_id)
        .await?
        .on();
    let governing = Governing {
        org_id: org.id,
        org_name: org.name.clone(),
        grace_from_ms: row
            .two_factor_since
            .unwrap_or(member.joined_at)
            .max(member.joined_at),
        policy: row.policy,
    };
    Ok(policy::two_factor_owed(&governing, on, now_ms())
        .filter(|owed| owed.overdue)
        .map(|owed| owed.deadline_ms))
}
