//! Who the caller is in an organization: their membership, roles and
//! permissions, read where a change is about to be judged.

use super::store::{self, members::MemberRow, orgs::OrgRow, roles::CustomRoleRow};
use super::EnterpriseError;
use koban_policy::org::roles::{permissions_of, BuiltIn, Permission, Permissions, Role};
use sqlx::{Any, Transaction};

/// The caller as a member of one organization.
#[derive(Debug, Clone)]
pub struct Acting {
    pub org: OrgRow,
    pub member: MemberRow,
    pub roles: Vec<Role>,
    pub permissions: Permissions,
}

impl Acting {
    pub fn may(&self, needed: Permission) -> Result<(), EnterpriseError> {
        Ok(koban_policy::org::roles::require(self.permissions, needed)?)
    }

    pub fn account_id(&self) -> i64 {
        self.member.account_id
    }
}

/// The roles behind stored keys. A key that names no role (a custom role
/// deleted under a race) gives nothing.
pub fn resolve(keys: &[String], customs: &[CustomRoleRow]) -> Vec<Role> {
    keys.iter()
        .filter_map(|key| {
            if let Some(built_in) = BuiltIn::parse(key) {
                return Some(Role::built_in(built_in));
            }
            let id: i64 = key.strip_prefix("custom:")?.parse().ok()?;
            let custom = customs.iter().find(|c| c.id == id)?;
            Some(Role {
                key: key.clone(),
                permissions: custom_permissions(custom),
            })
        })
        .collect()
}

/// A custom role's permissions; names this build does not know are skipped.
pub fn custom_permissions(custom: &CustomRoleRow) -> Permissions {
    custom
        .permissions
        .split(',')
        .filter_map(|name| Permission::parse(name.trim()))
        .fold(Permissions::NONE, |set, p| set.union(Permissions::of(&[p])))
}

/// The caller in `org_id`, read inside `tx` (after [`store::lock_org`] for
/// a change). Someone who is not a member, or any organization that does
/// not exist, is NotFound; a suspended member may do nothing.
pub async fn acting_in(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    account_id: i64,
) -> Result<(Acting, Vec<CustomRoleRow>), EnterpriseError> {
    let member = store::members::find(&mut **tx, org_id, account_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    let org = store::orgs::find(&mut **tx, org_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    if member.status != "active" {
        return Err(EnterpriseError::Conflict("org-member-suspended"));
    }
    // A policy's grace period over, the organization refuses a member
    // without two-step verification until they turn it on (their own
    // security settings stay open to them: they are not the organization's).
    if let Some(deadline) = super::policies::two_factor_overdue_in(tx, &org, &member).await? {
        return Err(EnterpriseError::TwoFactorRequired {
            organization: org.name,
            deadline,
        });
    }
    let customs = store::roles::all(&mut **tx, org_id).await?;
    let roles = resolve(&member.roles, &customs);
    // Belonging is reading: a custom role cannot take that away.
    let permissions =
        permissions_of(&roles).union(Permissions::of(&[Permission::ReadOrganization]));
    Ok((
        Acting {
            org,
            member,
            roles,
            permissions,
        },
        customs,
    ))
}

/// Opens the change of an action by `account_id` in `org_id`: the
/// organization's row locked first, then the caller read as they are now.
pub async fn change_in(
    app: &crate::state::App,
    org_id: i64,
    account_id: i64,
) -> Result<(crate::store::Change, Acting, Vec<CustomRoleRow>), EnterpriseError> {
    let mut change = app.store.change().await?;
    if !store::lock_org(&mut change.tx, app.store.backend(), org_id).await? {
        return Err(EnterpriseError::NotFound);
    }
    let (me, customs) = acting_in(&mut change.tx, org_id, account_id).await?;
    Ok((change, me, customs))
}

/// Reads the caller for a read-only request.
pub async fn acting(
    app: &crate::state::App,
    org_id: i64,
    account_id: i64,
) -> Result<(Acting, Vec<CustomRoleRow>), EnterpriseError> {
    let mut tx = app.store.read().begin().await?;
    let found = acting_in(&mut tx, org_id, account_id).await;
    tx.rollback().await?;
    found
}

/// Parses role keys a client sent against the organization's roles.
pub fn parse_keys(
    keys: &[String],
    customs: &[CustomRoleRow],
    field: &str,
) -> Result<Vec<Role>, EnterpriseError> {
    if keys.len() > 20 {
        return Err(EnterpriseError::field(field, "too_many"));
    }
    let mut unique: Vec<String> = Vec::new();
    for key in keys {
        let key = key.trim().to_string();
        if !unique.contains(&key) {
            unique.push(key);
        }
    }
    let roles = resolve(&unique, customs);
    if roles.len() != unique.len() {
        return Err(EnterpriseError::field(field, "unknown_role"));
    }
    Ok(roles)
}

/// The audit scope of an organization.
pub fn scope(org_id: i64) -> String {
    format!("org:{org_id}")
}

pub fn account_ref(account_id: i64) -> String {
    format!("account:{account_id}")
}

/// Appends the entry of an action to the organization's audit chain, in
/// the action's own change: both commit, or neither.
pub async fn record(
    app: &crate::state::App,
    change: &mut crate::store::Change,
    org_id: i64,
    actor: i64,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> Result<(), EnterpriseError> {
    crate::audit::append_in(
        &app.store,
        change,
        &scope(org_id),
        crate::store::now_ms(),
        &[crate::audit::Record {
            actor: &account_ref(actor),
            action,
            target,
            details: &details,
        }],
    )
    .await?;
    Ok(())
}
