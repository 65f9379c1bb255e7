//! Who may do what in an organization: the named permissions, the built-in
//! roles made of them, and the rules for changing a member's roles.
//!
//! A member holds one or more roles; what they may do is the union of their
//! roles' permissions. The rules are strict in one direction: nobody grants,
//! through a role they assign or a custom role they write, a permission they
//! do not hold themselves, and nobody changes or removes a member who holds
//! a permission they do not (an admin cannot demote an owner). The last
//! active owner can never be removed, suspended or demoted, so an
//! organization always has someone who can manage it.

use std::fmt;

/// One thing a member may do. The stored and wire name is [`Permission::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// See the organization's profile and plan (every member).
    ReadOrganization,
    /// Change the profile and the plan, and claim email domains.
    ManageOrganization,
    /// Hold and hand over ownership: only owners, never a custom role.
    Own,
    /// Read the member directory.
    ReadMembers,
    /// Invite people and import them from CSV.
    InviteMembers,
    /// Suspend, reinstate and remove members.
    ManageMembers,
    /// Assign roles and write custom roles.
    ManageRoles,
    ReadPolicies,
    ManagePolicies,
    /// See members' devices, 2FA and sign-in places.
    ReadDevices,
    FreezeDevices,
    ReadAudit,
    ExportAudit,
    /// Perform and sign off access reviews.
    ReviewAccess,
    SendBroadcasts,
    /// Open tickets on the enterprise support line.
    OpenSupportTickets,
    /// See and follow every ticket of the organization.
    ReadOrganizationTickets,
}

impl Permission {
    pub const ALL: [Permission; 17] = [
        Permission::ReadOrganization,
        Permission::ManageOrganization,
        Permission::Own,
        Permission::ReadMembers,
        Permission::InviteMembers,
        Permission::ManageMembers,
        Permission::ManageRoles,
        Permission::ReadPolicies,
        Permission::ManagePolicies,
        Permission::ReadDevices,
        Permission::FreezeDevices,
        Permission::ReadAudit,
        Permission::ExportAudit,
        Permission::ReviewAccess,
        Permission::SendBroadcasts,
        Permission::OpenSupportTickets,
        Permission::ReadOrganizationTickets,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::ReadOrganization => "organization.read",
            Permission::ManageOrganization => "organization.manage",
            Permission::Own => "organization.own",
            Permission::ReadMembers => "members.read",
            Permission::InviteMembers => "members.invite",
            Permission::ManageMembers => "members.manage",
            Permission::ManageRoles => "roles.manage",
            Permission::ReadPolicies => "policies.read",
            Permission::ManagePolicies => "policies.manage",
            Permission::ReadDevices => "devices.read",
            Permission::FreezeDevices => "devices.freeze",
            Permission::ReadAudit => "audit.read",
            Permission::ExportAudit => "audit.export",
            Permission::ReviewAccess => "access.review",
            Permission::SendBroadcasts => "broadcasts.send",
            Permission::OpenSupportTickets => "support.open",
            Permission::ReadOrganizationTickets => "support.read_all",
        }
    }

    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == name)
    }

    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Permissions(u32);

impl Permissions {
    pub const NONE: Permissions = Permissions(0);

    pub const fn of(list: &[Permission]) -> Permissions {
        let mut bits = 0;
        let mut i = 0;
        while i < list.len() {
            bits |= list[i].bit();
            i += 1;
        }
        Permissions(bits)
    }

    pub const fn has(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    pub const fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    /// Whether every permission of `self` is also in `other`.
    /// Whether the two sets share any permission.
    pub const fn intersects(self, other: Permissions) -> bool {
        self.0 & other.0 != 0
    }

    pub const fn within(self, other: Permissions) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn without(self, p: Permission) -> Permissions {
        Permissions(self.0 & !p.bit())
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.has(*p))
    }

    /// The stored form: names, sorted as [`Permission::ALL`], comma-separated.
    pub fn to_names(self) -> Vec<&'static str> {
        self.iter().map(Permission::as_str).collect()
    }

    /// Reads names; the first unknown one is returned as the error.
    pub fn from_names<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Permissions, &'a str> {
        names.into_iter().try_fold(Permissions::NONE, |set, name| {
            Permission::parse(name.trim())
                .map(|p| set.union(Permissions::of(&[p])))
                .ok_or(name)
        })
    }
}

/// The roles every organization has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltIn {
    Owner,
    Admin,
    SecurityAdmin,
    Broadcaster,
    SupportContact,
    Auditor,
    Member,
}

use Permission as P;

impl BuiltIn {
    pub const ALL: [BuiltIn; 7] = [
        BuiltIn::Owner,
        BuiltIn::Admin,
        BuiltIn::SecurityAdmin,
        BuiltIn::Broadcaster,
        BuiltIn::SupportContact,
        BuiltIn::Auditor,
        BuiltIn::Member,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            BuiltIn::Owner => "owner",
            BuiltIn::Admin => "admin",
            BuiltIn::SecurityAdmin => "security_admin",
            BuiltIn::Broadcaster => "broadcaster",
            BuiltIn::SupportContact => "support_contact",
            BuiltIn::Auditor => "auditor",
            BuiltIn::Member => "member",
        }
    }

    pub fn parse(key: &str) -> Option<BuiltIn> {
        BuiltIn::ALL.into_iter().find(|r| r.key() == key)
    }

    pub const fn permissions(self) -> Permissions {
        const MEMBER: &[Permission] = &[P::ReadOrganization, P::ReadMembers];
        match self {
            BuiltIn::Owner => Permissions::of(&Permission::ALL),
            // Everything but ownership itself.
            BuiltIn::Admin => Permissions::of(&[
                P::ReadOrganization,
                P::ManageOrganization,
                P::ReadMembers,
                P::InviteMembers,
                P::ManageMembers,
                P::ManageRoles,
                P::ReadPolicies,
                P::ManagePolicies,
                P::ReadDevices,
                P::FreezeDevices,
                P::ReadAudit,
                P::ExportAudit,
                P::ReviewAccess,
                P::SendBroadcasts,
                P::OpenSupportTickets,
                P::ReadOrganizationTickets,
            ]),
            BuiltIn::SecurityAdmin => Permissions::of(&[
                P::ReadOrganization,
                P::ReadMembers,
                P::ReadPolicies,
                P::ManagePolicies,
                P::ReadDevices,
                P::FreezeDevices,
                P::ReadAudit,
                P::ExportAudit,
                P::ReviewAccess,
                P::OpenSupportTickets,
            ]),
            BuiltIn::Broadcaster => {
                Permissions::of(&[P::ReadOrganization, P::ReadMembers, P::SendBroadcasts])
            }
            BuiltIn::SupportContact => Permissions::of(&[
                P::ReadOrganization,
                P::ReadMembers,
                P::OpenSupportTickets,
                P::ReadOrganizationTickets,
            ]),
            BuiltIn::Auditor => Permissions::of(&[
                P::ReadOrganization,
                P::ReadMembers,
                P::ReadPolicies,
                P::ReadDevices,
                P::ReadAudit,
                P::ExportAudit,
            ]),
            BuiltIn::Member => Permissions::of(MEMBER),
        }
    }
}

/// A role as a member holds it: built in, or custom with its permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// A built-in key, or `custom:<id>`.
    pub key: String,
    pub permissions: Permissions,
}

impl Role {
    pub fn built_in(role: BuiltIn) -> Role {
        Role {
            key: role.key().to_string(),
            permissions: role.permissions(),
        }
    }

    pub fn is_owner(&self) -> bool {
        self.key == BuiltIn::Owner.key()
    }
}

/// What a member may do with `roles`.
pub fn permissions_of(roles: &[Role]) -> Permissions {
    roles
        .iter()
        .fold(Permissions::NONE, |set, r| set.union(r.permissions))
}

/// Why a change of members or roles is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The actor lacks the permission the operation needs.
    Missing(Permission),
    /// The change would give someone a permission the actor does not hold.
    Escalation(Permission),
    /// The target holds a permission the actor does not (an admin and an owner).
    Outranked,
    /// It would leave the organization without an active owner.
    LastOwner,
    /// A member must hold at least one role.
    NoRoles,
    /// Ownership is not for custom roles.
    OwnInCustomRole,
}

impl Refusal {
    /// A stable code, used in problem documents and messages.
    pub const fn code(self) -> &'static str {
        match self {
            Refusal::Missing(_) => "permission_missing",
            Refusal::Escalation(_) => "permission_not_held",
            Refusal::Outranked => "member_outranks_you",
            Refusal::LastOwner => "last_owner",
            Refusal::NoRoles => "no_roles",
            Refusal::OwnInCustomRole => "own_in_custom_role",
        }
    }
}

/// Requires `needed` of `held`.
pub fn require(held: Permissions, needed: Permission) -> Result<(), Refusal> {
    if held.has(needed) {
        Ok(())
    } else {
        Err(Refusal::Missing(needed))
    }
}

/// The first permission of `given` the actor does not hold.
fn escalation(actor: Permissions, given: Permissions) -> Result<(), Refusal> {
    match given.iter().find(|p| !actor.has(*p)) {
        Some(p) => Err(Refusal::Escalation(p)),
        None => Ok(()),
    }
}

/// The organization's owners as a change sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owners {
    /// Active (not suspended) members holding the owner role, now.
    pub active: u32,
    /// Whether the target is one of them.
    pub target_is_active_owner: bool,
}

/// Whether `actor` may change a member's roles from `old` to `new`.
pub fn may_assign(
    actor: Permissions,
    old: &[Role],
    new: &[Role],
    owners: Owners,
) -> Result<(), Refusal> {
    require(actor, Permission::ManageRoles)?;
    if new.is_empty() {
        return Err(Refusal::NoRoles);
    }
    if !permissions_of(old).within(actor) {
        return Err(Refusal::Outranked);
    }
    escalation(actor, permissions_of(new))?;
    let stays_owner = new.iter().any(Role::is_owner);
    if owners.target_is_active_owner && !stays_owner && owners.active <= 1 {
        return Err(Refusal::LastOwner);
    }
    Ok(())
}

/// What an actor does to a member as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Suspend,
    Reinstate,
    Remove,
}

/// Whether `actor` may suspend, reinstate or remove a member holding
/// `target`; `is_self` when they act on themselves (leaving needs no
/// permission, but the last owner may not leave either).
pub fn may_change_member(
    actor: Permissions,
    target: &[Role],
    change: MemberChange,
    is_self: bool,
    owners: Owners,
) -> Result<(), Refusal> {
    let takes_away = matches!(change, MemberChange::Suspend | MemberChange::Remove);
    if takes_away && owners.target_is_active_owner && owners.active <= 1 {
        return Err(Refusal::LastOwner);
    }
    if is_self && change == MemberChange::Remove {
        return Ok(());
    }
    require(actor, Permission::ManageMembers)?;
    if !permissions_of(target).within(actor) {
        return Err(Refusal::Outranked);
    }
    Ok(())
}

/// Whether `actor` may write a custom role of `permissions` (new, or in
/// place of `old` when editing one).
pub fn may_write_custom_role(
    actor: Permissions,
    old: Option<Permissions>,
    permissions: Permissions,
) -> Result<(), Refusal> {
    require(actor, Permission::ManageRoles)?;
    if permissions.has(Permission::Own) {
        return Err(Refusal::OwnInCustomRole);
    }
    if let Some(old) = old {
        if !old.within(actor) {
            return Err(Refusal::Outranked);
        }
    }
    escalation(actor, permissions)
}

/// Whether `actor` may invite someone into `roles` (an invitation is a
/// promise of roles: the same no-escalation rule).
pub fn may_invite(actor: Permissions, roles: &[Role]) -> Result<(), Refusal> {
    require(actor, Permission::InviteMembers)?;
    if roles.is_empty() {
        return Err(Refusal::NoRoles);
    }
    escalation(actor, permissions_of(roles))
}

/// Whether `actor` may freeze or unfreeze the devices of a member holding
/// `target`: a security admin may freeze an admin's phone, not an owner's.
pub fn may_manage_devices(actor: Permissions, target: &[Role]) -> Result<(), Refusal> {
    require(actor, Permission::FreezeDevices)?;
    if !permissions_of(target).within(actor) {
        return Err(Refusal::Outranked);
    }
    Ok(())
}
