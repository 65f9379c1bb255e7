//! Creating an organization, its profile, and its plan.

use super::access::{self, account_ref, scope};
use super::store::{self, orgs::OrgRow};
use super::EnterpriseError;
use crate::audit::{self, Record};
use crate::state::App;
use crate::store::now_ms;
use koban_policy::org::roles::{BuiltIn, Permission};
use serde_json::json;

/// The plans, which set the support tier of the organization's tickets.
pub const PLANS: [&str; 2] = ["standard", "enterprise"];

/// Most organizations one account may create (a brake on scripts).
const MAX_CREATED_PER_ACCOUNT: i64 = 20;

/// A checked name: trimmed, 1 to 100 characters, no control characters.
pub fn check_name(name: &str, field: &str) -> Result<String, EnterpriseError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(EnterpriseError::field(field, "required"));
    }
    if name.chars().count() > 100 {
        return Err(EnterpriseError::field(field, "too_long"));
    }
    if name.chars().any(char::is_control) {
        return Err(EnterpriseError::field(field, "invalid_value"));
    }
    Ok(name.to_string())
}

fn check_description(text: &str) -> Result<String, EnterpriseError> {
    let text = text.trim();
    if text.chars().count() > 1000 {
        return Err(EnterpriseError::field("description", "too_long"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err(EnterpriseError::field("description", "invalid_value"));
    }
    Ok(text.to_string())
}

/// Creates an organization with `account_id` as its owner.
pub async fn create(
    app: &App,
    account_id: i64,
    name: &str,
    description: &str,
) -> Result<OrgRow, EnterpriseError> {
    let name = check_name(name, "name")?;
    let description = check_description(description)?;
    let now = now_ms();
    let mut change = app.store.change().await?;
    let created: i64 =
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM orgs WHERE created_by = $1")
            .bind(account_id)
            .fetch_one(&mut *change.tx)
            .await?;
    if created >= MAX_CREATED_PER_ACCOUNT {
        return Err(EnterpriseError::Conflict("org-too-many"));
    }
    let id = store::orgs::insert(&mut change.tx, &name, &description, account_id, now).await?;
    store::members::insert(
        &mut change.tx,
        id,
        account_id,
        "",
        &[BuiltIn::Owner.key().to_string()],
        now,
    )
    .await?;
    access::record(
        app,
        &mut change,
        id,
        account_id,
        "organization.created",
        &format!("org:{id}"),
        json!({ "name": name }),
    )
    .await?;
    let org = store::orgs::find(&mut *change.tx, id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    change.commit().await?;
    Ok(org)
}

/// Changes the name and description.
pub async fn update_profile(
    app: &App,
    account_id: i64,
    org_id: i64,
    name: &str,
    description: &str,
) -> Result<OrgRow, EnterpriseError> {
    let name = check_name(name, "name")?;
    let description = check_description(description)?;
    let now = now_ms();
    let (mut change, me, _) = access::change_in(app, org_id, account_id).await?;
    me.may(Permission::ManageOrganization)?;
    store::orgs::update_profile(&mut change.tx, org_id, &name, &description, now).await?;
    access::record(
        app,
        &mut change,
        org_id,
        account_id,
        "organization.profile_changed",
        &format!("org:{org_id}"),
        json!({
            "name": { "from": me.org.name, "to": name },
            "description_changed": me.org.description != description,
        }),
    )
    .await?;
    let org = store::orgs::find(&mut *change.tx, org_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    change.commit().await?;
    Ok(org)
}

/// Sets the plan: done by the platform's desk admins (`staff_id`), since
/// the plan is the support tier the organization pays for.
pub async fn set_plan(
    app: &App,
    staff_id: i64,
    org_id: i64,
    plan: &str,
) -> Result<OrgRow, EnterpriseError> {
    if !PLANS.contains(&plan) {
        return Err(EnterpriseError::field("plan", "invalid_value"));
    }
    let now = now_ms();
    let mut change = app.store.change().await?;
    if !store::lock_org(&mut change.tx, app.store.backend(), org_id).await? {
        return Err(EnterpriseError::NotFound);
    }
    let before = store::orgs::find(&mut *change.tx, org_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    store::orgs::set_plan(&mut change.tx, org_id, plan, now).await?;
    let record = Record {
        actor: &account_ref(staff_id),
        action: "organization.plan_changed",
        target: &format!("org:{org_id}"),
        details: &json!({ "from": before.plan, "to": plan }),
    };
    // In both chains: the organization sees who changed its plan, and the
    // platform's own log has every staff action.
    audit::append_in(
        &app.store,
        &mut change,
        &scope(org_id),
        now,
        std::slice::from_ref(&record),
    )
    .await?;
    audit::append_in(&app.store, &mut change, audit::PLATFORM, now, &[record]).await?;
    let org = store::orgs::find(&mut *change.tx, org_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    change.commit().await?;
    Ok(org)
}
