//! Changing members: their roles, suspension and removal. Each change
//! locks the organization's row, judges the caller as they are at that
//! moment with the pure rules of `koban_policy::org::roles`, and commits
//! with its audit entry.

use super::access::{self, account_ref, Acting};
use super::store::{
    self,
    members::{DirectoryFilter, MemberRow},
};
use super::EnterpriseError;
use crate::state::App;
use crate::store::{now_ms, Change};
use koban_policy::org::roles::{self as rules, MemberChange, Owners, Permission, Role};
use serde_json::json;

/// The directory's filters as a client sent them (text, unchecked).
#[derive(Debug, Clone, Copy, Default)]
pub struct Directory<'a> {
    /// Part of a name, email address or phone number.
    pub search: Option<&'a str>,
    /// `active` or `suspended`.
    pub status: Option<&'a str>,
    /// A role key the member holds.
    pub role: Option<&'a str>,
}

impl Directory<'_> {
    /// The filters checked: an empty search is none; each field's refusal
    /// is named as the API documents it.
    pub fn checked(&self) -> Result<DirectoryFilter, EnterpriseError> {
        let search = self.search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > 100) {
            return Err(EnterpriseError::field("search", "too_long"));
        }
        if self
            .status
            .is_some_and(|s| s != "active" && s != "suspended")
        {
            return Err(EnterpriseError::field("status", "invalid_value"));
        }
        if self
            .role
            .is_some_and(|r| r.is_empty() || r.len() > 40 || r.contains(','))
        {
            return Err(EnterpriseError::field("role", "invalid_value"));
        }
        Ok(DirectoryFilter {
            search: search.map(str::to_string),
            status: self.status.map(str::to_string),
            role: self.role.map(str::to_string),
        })
    }
}

/// Members matching `filter` with an account id below `before`, highest
/// first, at most `limit` (`members.read`). The filters are checked
/// before the caller, as the API always answered.
pub async fn directory(
    app: &App,
    actor: i64,
    org_id: i64,
    filter: Directory<'_>,
    before: i64,
    limit: i64,
) -> Result<Vec<MemberRow>, EnterpriseError> {
    let filter = filter.checked()?;
    let (me, _) = access::acting(app, org_id, actor).await?;
    me.may(Permission::ReadMembers)?;
    Ok(store::members::list(&app.store, org_id, &filter, before, limit).await?)
}

/// The target of a change, with the organization's owners as the rules see them.
struct Target {
    member: MemberRow,
    roles: Vec<Role>,
    owners: Owners,
}

async fn target(
    change: &mut Change,
    org_id: i64,
    account_id: i64,
    customs: &[store::roles::CustomRoleRow],
) -> Result<Target, EnterpriseError> {
    let member = store::members::find(&mut *change.tx, org_id, account_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    let roles = access::resolve(&member.roles, customs);
    let active = store::members::active_owners(&mut change.tx, org_id).await?;
    let owners = Owners {
        active,
        target_is_active_owner: member.status == "active" && roles.iter().any(Role::is_owner),
    };
    Ok(Target {
        member,
        roles,
        owners,
    })
}

/// Opens a change on the organization: locked, with the caller read in it.
async fn begin(
    app: &App,
    org_id: i64,
    account_id: i64,
) -> Result<(Change, Acting, Vec<store::roles::CustomRoleRow>), EnterpriseError> {
    let (change, me, customs) = access::change_in(app, org_id, account_id).await?;
    Ok((change, me, customs))
}

async fn record(
    app: &App,
    change: &mut Change,
    org_id: i64,
    actor: i64,
    action: &str,
    target: i64,
    details: serde_json::Value,
) -> Result<(), EnterpriseError> {
    access::record(
        app,
        change,
        org_id,
        actor,
        action,
        &account_ref(target),
        details,
    )
    .await
}

/// Replaces a member's roles, if the member is still at `version`.
pub async fn set_roles(
    app: &App,
    actor: i64,
    org_id: i64,
    account_id: i64,
    keys: &[String],
    version: i64,
) -> Result<MemberRow, EnterpriseError> {
    let (mut change, me, customs) = begin(app, org_id, actor).await?;
    let target = target(&mut change, org_id, account_id, &customs).await?;
    let new = access::parse_keys(keys, &customs, "roles")?;
    rules::may_assign(me.permissions, &target.roles, &new, target.owners)?;
    if target.member.version != version {
        return Err(EnterpriseError::Conflict("org-member-changed"));
    }
    let new_keys: Vec<String> = new.iter().map(|r| r.key.clone()).collect();
    let now = now_ms();
    if !store::members::set_roles(&mut change.tx, org_id, account_id, &new_keys, version, now)
        .await?
    {
        return Err(EnterpriseError::Conflict("org-member-changed"));
    }
    record(
        app,
        &mut change,
        org_id,
        actor,
        "member.roles_changed",
        account_id,
        json!({ "from": target.member.roles, "to": new_keys }),
    )
    .await?;
    let member = store::members::find(&mut *change.tx, org_id, account_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    change.commit().await?;
    Ok(member)
}

/// Suspends, reinstates or removes a member (removing oneself is leaving).
pub async fn change_member(
    app: &App,
    actor: i64,
    org_id: i64,
    account_id: i64,
    what: MemberChange,
    reason: Option<&str>,
) -> Result<Option<MemberRow>, EnterpriseError> {
    let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if r.chars().count() > 500 => {
            return Err(EnterpriseError::field("reason", "too_long"))
        }
        other => other,
    };
    let (mut change, me, customs) = begin(app, org_id, actor).await?;
    let target = target(&mut change, org_id, account_id, &customs).await?;
    rules::may_change_member(
        me.permissions,
        &target.roles,
        what,
        actor == account_id,
        target.owners,
    )?;
    let now = now_ms();
    let (action, status) = match what {
        MemberChange::Suspend => ("member.suspended", Some("suspended")),
        MemberChange::Reinstate => ("member.reinstated", Some("active")),
        MemberChange::Remove if actor == account_id => ("member.left", None),
        MemberChange::Remove => ("member.removed", None),
    };
    match status {
        Some(status) if status == target.member.status => {
            // Already so: nothing to change, nothing to record.
            change.commit().await?;
            return Ok(Some(target.member));
        }
        Some(status) => {
            let kept = (status == "suspended").then_some(reason).flatten();
            store::members::set_status(&mut change.tx, org_id, account_id, status, kept, now)
                .await?;
        }
        None => store::members::delete(&mut change.tx, org_id, account_id).await?,
    }
    record(
        app,
        &mut change,
        org_id,
        actor,
        action,
        account_id,
        json!({ "reason": reason, "roles": target.member.roles }),
    )
    .await?;
    let member = store::members::find(&mut *change.tx, org_id, account_id).await?;
    change.commit().await?;
    Ok(member)
}
