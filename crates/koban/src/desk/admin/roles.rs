//! Desk roles: making an account an agent, supervisor or desk admin, by the
//! rules of `koban_policy::desk::permissions`, each change recorded with who
//! made it.

use crate::accounts::sessions::Current;
use crate::desk::error::DeskError;
use crate::desk::store::roles as store;
use crate::state::App;
use crate::store::now_ms;
use koban_policy::desk::permissions::{
    decide_role_change, Access, Action, Role, RoleChangeRefused,
};

/// Whether `current` holds at least the role `action` needs: 403 if not.
pub fn require(current: &Current, action: Action) -> Result<(), DeskError> {
    match action.access() {
        Access::Staff(role) | Access::StaffOnTicket(role)
            if !current.account.has_role(role.as_str()) =>
        {
            Err(DeskError::Forbidden)
        }
        _ => Ok(()),
    }
}

/// The caller's own role.
fn role_of(current: &Current) -> Role {
    Role::parse(&current.account.role).unwrap_or(Role::User)
}

/// Changes account `account_id`'s desk role to `to`. In one transaction
/// that holds the admins' rows: the rules see the count of admins no racing
/// change can alter, and the change and its record commit together.
pub async fn change(
    app: &App,
    actor: &Current,
    account_id: i64,
    to: &str,
) -> Result<(), DeskError> {
    let to = Role::parse(to).ok_or_else(|| DeskError::field("role", "invalid_value"))?;
    let mut tx = app.store.write().begin().await?;
    let admins = store::lock_admins(&mut tx).await?;
    let from = store::role_of(&mut tx, account_id)
        .await?
        .ok_or(DeskError::NotFound)?;
    let from = Role::parse(&from).unwrap_or(Role::User);
    decide_role_change(role_of(actor), from, to, admins).map_err(|refused| match refused {
        RoleChangeRefused::AboveOwnRank => DeskError::RoleAboveOwn,
        RoleChangeRefused::LastAdmin => DeskError::LastAdmin,
    })?;
    if from == to {
        return Ok(());
    }
    if !store::set_role(
        &mut tx,
        account_id,
        from.as_str(),
        to.as_str(),
        actor.account.id,
        now_ms(),
    )
    .await?
    {
        return Err(DeskError::Taken);
    }
    tx.commit().await?;
    Ok(())
}
