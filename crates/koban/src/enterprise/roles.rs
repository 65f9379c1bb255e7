//! An organization's roles: the built-in ones, and custom roles made of
//! named permissions.

use super::access;
use super::orgs::check_name;
use super::store;
use super::EnterpriseError;
use crate::state::App;
use crate::store::now_ms;
use koban_policy::org::roles::{self as rules, BuiltIn, Permission, Permissions};
use serde_json::json;

/// A role as the API shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RoleView {
    /// What members' `roles` name: a built-in key or `custom:<id>`.
    pub key: String,
    /// The built-in key, or the custom role's name.
    pub name: String,
    pub built_in: bool,
    /// Permission names.
    pub permissions: Vec<&'static str>,
}

/// Every role of the organization, built-in first.
pub async fn list(app: &App, actor: i64, org_id: i64) -> Result<Vec<RoleView>, EnterpriseError> {
    let (_, customs) = access::acting(app, org_id, actor).await?;
    let mut roles: Vec<RoleView> = BuiltIn::ALL
        .into_iter()
        .map(|b| RoleView {
            key: b.key().to_string(),
            name: b.key().to_string(),
            built_in: true,
            permissions: b.permissions().to_names(),
        })
        .collect();
    roles.extend(customs.iter().map(|c| RoleView {
        key: format!("custom:{}", c.id),
        name: c.name.clone(),
        built_in: false,
        permissions: access::custom_permissions(c).to_names(),
    }));
    Ok(roles)
}

fn parse_permissions(names: &[String]) -> Result<Permissions, EnterpriseError> {
    if names.is_empty() {
        return Err(EnterpriseError::field("permissions", "required"));
    }
    Permissions::from_names(names.iter().map(String::as_str))
        .map_err(|_| EnterpriseError::field("permissions", "unknown_permission"))
}

fn view(id: i64, name: &str, permissions: Permissions) -> RoleView {
    RoleView {
        key: format!("custom:{id}"),
        name: name.to_string(),
        built_in: false,
        permissions: permissions.to_names(),
    }
}

/// Writes a custom role: a new one when `id` is None.
pub async fn write(
    app: &App,
    actor: i64,
    org_id: i64,
    id: Option<i64>,
    name: &str,
    permissions: &[String],
) -> Result<RoleView, EnterpriseError> {
    let name = check_name(name, "name")?;
    // Built-in keys stay unambiguous in the console.
    if BuiltIn::parse(&name.to_lowercase()).is_some() {
        return Err(EnterpriseError::Conflict("org-role-name-taken"));
    }
    let set = parse_permissions(permissions)?;
    let (mut change, me, customs) = access::change_in(app, org_id, actor).await?;
    me.may(Permission::ReadOrganization)?;
    let old = match id {
        Some(id) => Some(
            customs
                .iter()
                .find(|c| c.id == id)
                .ok_or(EnterpriseError::NotFound)?,
        ),
        None => None,
    };
    rules::may_write_custom_role(me.permissions, old.map(access::custom_permissions), set)?;
    let now = now_ms();
    let stored = set.to_names().join(",");
    let (id, action) = match old {
        Some(old) => {
            if !store::roles::update(&mut change.tx, org_id, old.id, &name, &stored, now).await? {
                return Err(EnterpriseError::Conflict("org-role-name-taken"));
            }
            (old.id, "role.changed")
        }
        None => {
            if customs.len() >= 100 {
                return Err(EnterpriseError::Conflict("org-too-many-roles"));
            }
            let id = store::roles::insert(&mut change.tx, org_id, &name, &stored, now)
                .await?
                .ok_or(EnterpriseError::Conflict("org-role-name-taken"))?;
            (id, "role.created")
        }
    };
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        action,
        &format!("role:{id}"),
        json!({
                "name": name,
                "permissions": set.to_names(),
                "before": old.map(|o| json!({ "name": o.name, "permissions": access::custom_permissions(o).to_names() })),
            }),
    )
    .await?;
    change.commit().await?;
    Ok(view(id, &name, set))
}

/// Deletes a custom role no member holds.
pub async fn delete(app: &App, actor: i64, org_id: i64, id: i64) -> Result<(), EnterpriseError> {
    let (mut change, me, customs) = access::change_in(app, org_id, actor).await?;
    let old = customs
        .iter()
        .find(|c| c.id == id)
        .ok_or(EnterpriseError::NotFound)?;
    rules::may_write_custom_role(
        me.permissions,
        Some(access::custom_permissions(old)),
        Permissions::NONE,
    )?;
    let key = format!("custom:{id}");
    if store::members::holding_role(&mut change.tx, org_id, &key).await? > 0 {
        return Err(EnterpriseError::Conflict("org-role-in-use"));
    }
    store::roles::delete(&mut change.tx, org_id, id).await?;
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "role.deleted",
        &format!("role:{id}"),
        json!({ "name": old.name, "permissions": access::custom_permissions(old).to_names() }),
    )
    .await?;
    change.commit().await?;
    Ok(())
}
