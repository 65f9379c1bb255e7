use super::roles::*;
use proptest::prelude::*;

fn role(b: BuiltIn) -> Role {
    Role::built_in(b)
}

fn custom(id: u32, set: Permissions) -> Role {
    Role {
        key: format!("custom:{id}"),
        permissions: set,
    }
}

const ONE_OWNER_TARGET: Owners = Owners {
    active: 1,
    target_is_active_owner: true,
};
const NOT_OWNER: Owners = Owners {
    active: 1,
    target_is_active_owner: false,
};

#[test]
fn names_round_trip_and_are_unique() {
    for p in Permission::ALL {
        assert_eq!(Permission::parse(p.as_str()), Some(p));
    }
    for b in BuiltIn::ALL {
        assert_eq!(BuiltIn::parse(b.key()), Some(b));
    }
    let all = Permissions::of(&Permission::ALL);
    assert_eq!(
        Permissions::from_names(all.to_names()),
        Ok(all),
        "stored names read back"
    );
    assert_eq!(
        Permissions::from_names(["members.read", "members.rule"]),
        Err("members.rule")
    );
}

#[test]
fn built_in_roles_hold_what_their_names_say() {
    let owner = BuiltIn::Owner.permissions();
    for b in BuiltIn::ALL {
        assert!(b.permissions().within(owner), "{b:?} within owner");
        assert!(b.permissions().has(Permission::ReadOrganization), "{b:?}");
        assert_eq!(b.permissions().has(Permission::Own), b == BuiltIn::Owner);
    }
    assert!(BuiltIn::Auditor.permissions().has(Permission::ExportAudit));
    assert!(!BuiltIn::Auditor
        .permissions()
        .has(Permission::FreezeDevices));
    assert!(BuiltIn::SecurityAdmin
        .permissions()
        .has(Permission::FreezeDevices));
    assert!(!BuiltIn::SecurityAdmin
        .permissions()
        .has(Permission::ManageRoles));
    assert!(BuiltIn::Broadcaster
        .permissions()
        .has(Permission::SendBroadcasts));
    assert!(BuiltIn::SupportContact
        .permissions()
        .has(Permission::ReadOrganizationTickets));
    assert_eq!(
        BuiltIn::Member.permissions().to_names(),
        ["organization.read", "members.read"]
    );
}

/// (what, actor, old roles, new roles, owners, answer)
type RoleCase = (
    &'static str,
    Permissions,
    Vec<Role>,
    Vec<Role>,
    Owners,
    Result<(), Refusal>,
);

#[test]
fn role_changes_table() {
    let owner = BuiltIn::Owner.permissions();
    let admin = BuiltIn::Admin.permissions();
    let auditor = BuiltIn::Auditor.permissions();
    let member = [role(BuiltIn::Member)];
    let cases: Vec<RoleCase> = vec![
        (
            "admin makes a member an auditor",
            admin,
            member.to_vec(),
            vec![role(BuiltIn::Auditor)],
            NOT_OWNER,
            Ok(()),
        ),
        (
            "auditor cannot assign",
            auditor,
            member.to_vec(),
            vec![role(BuiltIn::Auditor)],
            NOT_OWNER,
            Err(Refusal::Missing(Permission::ManageRoles)),
        ),
        (
            "admin cannot make an owner",
            admin,
            member.to_vec(),
            vec![role(BuiltIn::Owner)],
            NOT_OWNER,
            Err(Refusal::Escalation(Permission::Own)),
        ),
        (
            "admin cannot demote an owner",
            admin,
            vec![role(BuiltIn::Owner)],
            member.to_vec(),
            Owners {
                active: 2,
                target_is_active_owner: true,
            },
            Err(Refusal::Outranked),
        ),
        (
            "owner makes an owner",
            owner,
            member.to_vec(),
            vec![role(BuiltIn::Owner)],
            NOT_OWNER,
            Ok(()),
        ),
        (
            "the last owner stays",
            owner,
            vec![role(BuiltIn::Owner)],
            vec![role(BuiltIn::Admin)],
            ONE_OWNER_TARGET,
            Err(Refusal::LastOwner),
        ),
        (
            "one of two owners steps down",
            owner,
            vec![role(BuiltIn::Owner)],
            vec![role(BuiltIn::Admin)],
            Owners {
                active: 2,
                target_is_active_owner: true,
            },
            Ok(()),
        ),
        (
            "the last owner may add roles",
            owner,
            vec![role(BuiltIn::Owner)],
            vec![role(BuiltIn::Owner), role(BuiltIn::Auditor)],
            ONE_OWNER_TARGET,
            Ok(()),
        ),
        (
            "nobody holds no role",
            owner,
            member.to_vec(),
            vec![],
            NOT_OWNER,
            Err(Refusal::NoRoles),
        ),
        (
            "a custom role beyond the actor",
            admin.without(Permission::FreezeDevices),
            member.to_vec(),
            vec![custom(1, Permissions::of(&[Permission::FreezeDevices]))],
            NOT_OWNER,
            Err(Refusal::Escalation(Permission::FreezeDevices)),
        ),
    ];
    for (name, actor, old, new, owners, expected) in cases {
        assert_eq!(may_assign(actor, &old, &new, owners), expected, "{name}");
    }
}

#[test]
fn member_changes_table() {
    let owner = BuiltIn::Owner.permissions();
    let admin = BuiltIn::Admin.permissions();
    let member = BuiltIn::Member.permissions();
    let owners_two = Owners {
        active: 2,
        target_is_active_owner: true,
    };
    let r_owner = [role(BuiltIn::Owner)];
    let r_member = [role(BuiltIn::Member)];
    use MemberChange::*;
    let cases = [
        (
            "admin removes a member",
            admin,
            &r_member[..],
            Remove,
            false,
            NOT_OWNER,
            Ok(()),
        ),
        (
            "member removes a member",
            member,
            &r_member[..],
            Remove,
            false,
            NOT_OWNER,
            Err(Refusal::Missing(Permission::ManageMembers)),
        ),
        (
            "a member leaves",
            member,
            &r_member[..],
            Remove,
            true,
            NOT_OWNER,
            Ok(()),
        ),
        (
            "the last owner cannot leave",
            owner,
            &r_owner[..],
            Remove,
            true,
            ONE_OWNER_TARGET,
            Err(Refusal::LastOwner),
        ),
        (
            "one of two owners leaves",
            owner,
            &r_owner[..],
            Remove,
            true,
            owners_two,
            Ok(()),
        ),
        (
            "admin cannot suspend an owner",
            admin,
            &r_owner[..],
            Suspend,
            false,
            owners_two,
            Err(Refusal::Outranked),
        ),
        (
            "owner suspends another owner",
            owner,
            &r_owner[..],
            Suspend,
            false,
            owners_two,
            Ok(()),
        ),
        (
            "the last owner is not suspended",
            owner,
            &r_owner[..],
            Suspend,
            false,
            ONE_OWNER_TARGET,
            Err(Refusal::LastOwner),
        ),
        (
            "reinstating needs the permission",
            member,
            &r_member[..],
            Reinstate,
            false,
            NOT_OWNER,
            Err(Refusal::Missing(Permission::ManageMembers)),
        ),
        (
            "a suspended member does not reinstate themself",
            member,
            &r_member[..],
            Reinstate,
            true,
            NOT_OWNER,
            Err(Refusal::Missing(Permission::ManageMembers)),
        ),
    ];
    for (name, actor, target, change, is_self, owners, expected) in cases {
        assert_eq!(
            may_change_member(actor, target, change, is_self, owners),
            expected,
            "{name}"
        );
    }
}

#[test]
fn custom_roles_never_carry_ownership() {
    let owner = BuiltIn::Owner.permissions();
    assert_eq!(
        may_write_custom_role(owner, None, Permissions::of(&[Permission::Own])),
        Err(Refusal::OwnInCustomRole)
    );
    let sec = BuiltIn::SecurityAdmin.permissions();
    assert_eq!(
        may_write_custom_role(sec, None, Permissions::of(&[Permission::ReadAudit])),
        Err(Refusal::Missing(Permission::ManageRoles))
    );
    let admin = BuiltIn::Admin.permissions();
    assert_eq!(may_write_custom_role(admin, None, sec), Ok(()));
    assert_eq!(
        may_invite(admin, &[role(BuiltIn::Owner)]),
        Err(Refusal::Escalation(Permission::Own))
    );
    assert_eq!(may_invite(admin, &[role(BuiltIn::Auditor)]), Ok(()));
}

fn permissions() -> impl Strategy<Value = Permissions> {
    any::<u32>().prop_map(|bits| {
        Permissions::of(
            &Permission::ALL
                .into_iter()
                .filter(|p| bits & (1 << *p as u32) != 0)
                .collect::<Vec<_>>(),
        )
    })
}

fn roles() -> impl Strategy<Value = Vec<Role>> {
    let one = prop_oneof![
        (0..BuiltIn::ALL.len()).prop_map(|i| role(BuiltIn::ALL[i])),
        (1u32..5, permissions()).prop_map(|(id, p)| custom(id, p.without(Permission::Own))),
    ];
    proptest::collection::vec(one, 0..3)
}

proptest! {
    /// Whatever was allowed gave nobody a permission the actor lacks, and
    /// touched nobody who holds one.
    #[test]
    fn allowed_changes_never_escalate(actor in permissions(), old in roles(), new in roles(), active in 0u32..3, target_owner in any::<bool>()) {
        let owners = Owners { active, target_is_active_owner: target_owner };
        if may_assign(actor, &old, &new, owners).is_ok() {
            prop_assert!(permissions_of(&new).within(actor));
            prop_assert!(permissions_of(&old).within(actor));
            prop_assert!(!new.is_empty());
        }
        if may_invite(actor, &new).is_ok() {
            prop_assert!(permissions_of(&new).within(actor));
        }
    }

    /// Any run of allowed changes by any members keeps an active owner.
    #[test]
    fn an_organization_always_keeps_an_active_owner(
        steps in proptest::collection::vec((0usize..4, 0usize..4, 0usize..4, roles()), 1..40)
    ) {
        // Four members; the first is the owner. (roles, active)
        let mut members: Vec<(Vec<Role>, bool)> = vec![
            (vec![role(BuiltIn::Owner)], true),
            (vec![role(BuiltIn::Admin)], true),
            (vec![role(BuiltIn::Member)], true),
            (vec![role(BuiltIn::Auditor)], true),
        ];
        for (actor, target, kind, new) in steps {
            let owners_now = members.iter().filter(|(r, a)| *a && r.iter().any(Role::is_owner)).count() as u32;
            let (target_roles, target_active) = members[target].clone();
            if !members[actor].1 {
                continue;
            }
            let held = permissions_of(&members[actor].0);
            let owners = Owners {
                active: owners_now,
                target_is_active_owner: target_active && target_roles.iter().any(Role::is_owner),
            };
            match kind {
                0 => if may_assign(held, &target_roles, &new, owners).is_ok() {
                    members[target].0 = new;
                },
                1 => if may_change_member(held, &target_roles, MemberChange::Suspend, actor == target, owners).is_ok() {
                    members[target].1 = false;
                },
                2 => if may_change_member(held, &target_roles, MemberChange::Reinstate, actor == target, owners).is_ok() {
                    members[target].1 = true;
                },
                _ => if may_change_member(held, &target_roles, MemberChange::Remove, actor == target, owners).is_ok() {
                    // Removed: no roles, never active again.
                    members[target] = (vec![role(BuiltIn::Member)], false);
                },
            }
            let owners_after = members.iter().filter(|(r, a)| *a && r.iter().any(Role::is_owner)).count();
            prop_assert!(owners_after >= 1, "no active owner left: {members:?}");
        }
    }
}

#[test]
fn who_freezes_whose_devices() {
    let sec = BuiltIn::SecurityAdmin.permissions();
    let admin = BuiltIn::Admin.permissions();
    assert_eq!(may_manage_devices(sec, &[role(BuiltIn::Member)]), Ok(()));
    assert_eq!(
        may_manage_devices(sec, &[role(BuiltIn::SecurityAdmin)]),
        Ok(())
    );
    assert_eq!(
        may_manage_devices(sec, &[role(BuiltIn::Admin)]),
        Err(Refusal::Outranked)
    );
    assert_eq!(may_manage_devices(admin, &[role(BuiltIn::Admin)]), Ok(()));
    assert_eq!(
        may_manage_devices(admin, &[role(BuiltIn::Owner)]),
        Err(Refusal::Outranked)
    );
    assert_eq!(
        may_manage_devices(BuiltIn::Auditor.permissions(), &[role(BuiltIn::Member)]),
        Err(Refusal::Missing(Permission::FreezeDevices))
    );
}
