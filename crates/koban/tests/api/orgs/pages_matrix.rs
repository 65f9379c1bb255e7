//! Who may open each page of the organization console: a member of every
//! built-in role, the owner of another organization and a signed-out
//! visitor, against the permission the page reads with. The pages answer
//! as the API does (403 naming the permission, 404 for another
//! organization's), and the tabs show exactly the pages a role may open.

use super::*;
use crate::security_pages::{location, Pages};
use koban_policy::org::roles::{BuiltIn, Permission};

/// Each page under `/orgs/{org}`, its tab, and the permission it needs.
const PAGES: &[(&str, &str, Permission)] = &[
    ("", "overview", Permission::ReadOrganization),
    ("/members", "members", Permission::ReadMembers),
    ("/roles", "roles", Permission::ReadOrganization),
    ("/policy", "policy", Permission::ReadPolicies),
    ("/devices", "devices", Permission::ReadDevices),
    ("/onboarding", "onboarding", Permission::ReadDevices),
    ("/audit", "audit", Permission::ReadAudit),
    ("/access", "access", Permission::ReviewAccess),
    ("/domains", "domains", Permission::ReadOrganization),
    ("/support", "support", Permission::ReadOrganizationTickets),
];

/// Pages every member may read, whose tab only those who change them see.
const TAB_FOR_MANAGERS: &[(&str, Permission)] = &[
    ("roles", Permission::ReadMembers),
    ("domains", Permission::ManageOrganization),
];

async fn every_page_checks_who_opens_it(t: TestApp) {
    let owner = t.signed_up("p-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Page matrix").await;
    let mut members: Vec<(BuiltIn, Pages)> = Vec::new();
    for role in BuiltIn::ALL {
        let email = format!("p-{}@example.com", role.key());
        if role != BuiltIn::Owner {
            member(&t, &owner, org, &email, &[role.key()]).await;
        }
        let email = if role == BuiltIn::Owner {
            "p-owner@example.com".to_string()
        } else {
            email
        };
        members.push((role, pages_of(&t, &email).await));
    }
    let outsider = t.signed_up("p-outsider@example.com", PASSWORD).await;
    new_org(&t, &outsider, "Elsewhere").await;
    let mut outsider = pages_of(&t, "p-outsider@example.com").await;
    let mut visitor = Pages::new(&t).await;

    for (suffix, _, needed) in PAGES {
        let path = format!("/orgs/{org}{suffix}");
        for (role, pages) in members.iter_mut() {
            let response = pages.get(&path).await;
            let allowed = role.permissions().has(*needed);
            let expected = if allowed {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            let status = response.status();
            let html = response.text().await.expect("html");
            assert_eq!(status, expected, "{role:?} opens {path}");
            if !allowed {
                let name = needed.as_str();
                assert!(
                    html.contains(name),
                    "{role:?} at {path}: the refusal names {name}"
                );
            }
        }
        let response = outsider.get(&path).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "outsider at {path}"
        );
        let response = visitor.get(&path).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "visitor at {path}"
        );
        assert!(
            location(&response).starts_with("/signin?next="),
            "visitor at {path}"
        );
    }

    // The tabs: exactly the pages the role may open (and change, for the
    // pages everyone reads).
    for (role, pages) in members.iter_mut() {
        let html = pages
            .get(&format!("/orgs/{org}"))
            .await
            .text()
            .await
            .expect("html");
        for (_, tab, needed) in PAGES {
            let needed = TAB_FOR_MANAGERS
                .iter()
                .find(|(t, _)| t == tab)
                .map_or(*needed, |(_, p)| *p);
            let shown = html.contains(&format!("id=\"org-tab-{tab}\""));
            assert_eq!(shown, role.permissions().has(needed), "{role:?}: tab {tab}");
        }
    }
}
both!(every_page_checks_who_opens_it);
