//! The members page on both databases: the directory with its search,
//! filters and paging; roles, suspension and removal through the forms;
//! invitations sent and revoked; a CSV import with its report; every bad
//! input explained on the page and changing nothing; and who may see and
//! do what. (Invitations and the CSV import: `pages_members_invites.rs`;
//! who may see and do what: `pages_members_access.rs`.)

#[path = "pages_members_access.rs"]
mod access;
#[path = "pages_members_invites.rs"]
mod invites;

use super::{account_id, member, new_org, page_after, pages_of, PASSWORD};
use crate::security_pages::{location, Pages};
use crate::support::{scalar, TestApp};
use reqwest::StatusCode;

async fn html(pages: &mut Pages, path: &str) -> (StatusCode, String) {
    let response = pages.get(path).await;
    page_after(pages, response).await
}

async fn posted(pages: &mut Pages, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = pages.post(path, form).await;
    page_after(pages, response).await
}

/// Members of `org` whose row matches `condition`.
async fn members_where(t: &TestApp, org: i64, condition: &str) -> i64 {
    t.count(&format!("org_members WHERE org_id = {org} AND {condition}"))
        .await
}

async fn version_of(t: &TestApp, org: i64, account: i64) -> i64 {
    scalar(
        t,
        &format!("SELECT version FROM org_members WHERE org_id = {org} AND account_id = {account}"),
    )
    .await
}

async fn audited(t: &TestApp, org: i64, action: &str) -> i64 {
    scalar(
        t,
        &format!(
            "SELECT COUNT(*) FROM audit_entries WHERE scope = 'org:{org}' AND action = '{action}'"
        ),
    )
    .await
}

/// The `href` of the element with `id`, unescaped.
fn href_of(page: &str, id: &str) -> String {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id} on {page}"));
    let before = &page[..at];
    let start = before.rfind("href=\"").expect("href") + 6;
    let end = start + page[start..].find('"').expect("end of href");
    page[start..end]
        .replace("&amp;", "&")
        .replace("&#x2f;", "/")
}

async fn the_directory_searches_filters_and_pages(t: TestApp) {
    let owner = t.signed_up("dir-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Directory Co").await;
    let mei = account_id(
        &t,
        &member(&t, &owner, org, "mei@example.com", &["auditor"]).await,
    )
    .await;
    let ken = account_id(
        &t,
        &member(&t, &owner, org, "ken@example.com", &["member"]).await,
    )
    .await;
    let path = format!("/orgs/{org}/members");

    // Signed out: to sign-in, and back here after.
    let mut visitor = Pages::new(&t).await;
    let response = visitor.get(&path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/signin?next=%2Forgs%2F{org}%2Fmembers")
    );

    let mut p = pages_of(&t, "dir-owner@example.com").await;
    let (status, page) = html(&mut p, &path).await;
    assert_eq!(status, StatusCode::OK);
    for id in [mei, ken] {
        assert!(page.contains(&format!("id=\"member-{id}\"")), "{page}");
    }
    assert!(page.contains("mei@example.com") && page.contains("Auditor"));
    assert!(page.contains("Active") && page.contains("Owner"));
    assert!(
        !page.contains(">auditor<") && !page.contains("org-role-"),
        "roles in words"
    );
    assert!(page.contains("id=\"org-tab-members\" class=\"active\""));

    // Search by email, by status, by role.
    let (_, page) = html(&mut p, &format!("{path}?search=mei")).await;
    assert!(page.contains(&format!("id=\"member-{mei}\"")));
    assert!(!page.contains(&format!("id=\"member-{ken}\"")));
    let (_, page) = html(&mut p, &format!("{path}?status=suspended")).await;
    assert!(page.contains("id=\"no-members\""), "nobody is suspended");
    let (_, page) = html(&mut p, &format!("{path}?role=auditor")).await;
    assert!(page.contains(&format!("id=\"member-{mei}\"")));
    assert!(!page.contains(&format!("id=\"member-{ken}\"")));
    assert!(
        page.contains("<option value=\"auditor\" selected>"),
        "the filter stays chosen"
    );

    // One per page: the link to the next page carries the cursor and filters.
    let (_, page) = html(&mut p, &format!("{path}?limit=1")).await;
    assert!(
        page.contains(&format!("id=\"member-{ken}\"")),
        "newest first"
    );
    assert!(!page.contains(&format!("id=\"member-{mei}\"")));
    let next = href_of(&page, "next-page");
    assert!(
        next.contains("cursor=") && next.contains("limit=1"),
        "{next}"
    );
    let (status, page) = html(&mut p, &next).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("id=\"member-{mei}\"")));
    assert!(!page.contains(&format!("id=\"member-{ken}\"")));
    assert!(page.contains("id=\"first-page\""));

    // Filters the API refuses are explained, not ignored.
    let long = "x".repeat(101);
    for (query, words) in [
        (format!("search={long}"), "This is too long."),
        ("status=gone".to_string(), "This value is not allowed."),
        ("cursor=%21%21".to_string(), "This value is not allowed."),
        ("limit=0".to_string(), "This value is not allowed."),
    ] {
        let (status, page) = html(&mut p, &format!("{path}?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(page.contains(words), "{query}: {page}");
        assert!(page.contains("id=\"alert\""));
    }
}

async fn roles_change_through_the_form_with_every_refusal_explained(t: TestApp) {
    let owner = t.signed_up("roles-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Roles Co").await;
    let owner_id = account_id(&t, &owner).await;
    member(&t, &owner, org, "roles-admin@example.com", &["admin"]).await;
    let pat = account_id(
        &t,
        &member(&t, &owner, org, "pat@example.com", &["member"]).await,
    )
    .await;
    let path = format!("/orgs/{org}/members");
    let roles_of_pat = format!("{path}/{pat}/roles");

    let mut p = pages_of(&t, "roles-owner@example.com").await;
    let (_, page) = html(&mut p, &path).await;
    let version = version_of(&t, org, pat).await;
    assert!(page.contains(&format!("id=\"roles-form-{pat}\"")));
    assert!(page.contains(&format!("name=\"version\" value=\"{version}\"")));

    let v = version.to_string();
    let (status, page) = posted(
        &mut p,
        &roles_of_pat,
        &[("roles", "member"), ("roles", "auditor"), ("version", &v)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        page.contains("The member&#x27;s roles were saved.")
            || page.contains("The member's roles were saved."),
        "{page}"
    );
    assert_eq!(
        members_where(
            &t,
            org,
            &format!("account_id = {pat} AND roles = 'member,auditor'")
        )
        .await,
        1
    );
    assert_eq!(version_of(&t, org, pat).await, version + 1);
    assert_eq!(audited(&t, org, "member.roles_changed").await, 1);

    // The same form sent again from the old page: explained, nothing changed.
    let (status, page) = posted(
        &mut p,
        &roles_of_pat,
        &[("roles", "admin"), ("version", &v)],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        page.contains("Someone else changed this member a moment ago"),
        "{page}"
    );
    assert!(
        page.contains(&format!("id=\"actions-{pat}\" open")),
        "the member's form is open again"
    );
    let current = (version + 1).to_string();
    // No role at all.
    let (status, page) = posted(&mut p, &roles_of_pat, &[("version", &current)]).await;
    assert!(status.is_client_error(), "{status}");
    assert!(page.contains("A member needs at least one role."), "{page}");
    // A version that is not a number.
    let (status, page) = posted(
        &mut p,
        &roles_of_pat,
        &[("roles", "member"), ("version", "new")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"alert\""));
    // The last owner cannot demote themselves.
    let owner_version = version_of(&t, org, owner_id).await.to_string();
    let (status, page) = posted(
        &mut p,
        &format!("{path}/{owner_id}/roles"),
        &[("roles", "admin"), ("version", &owner_version)],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        page.contains("An organization must keep at least one active owner."),
        "{page}"
    );
    assert_eq!(
        members_where(
            &t,
            org,
            &format!("account_id = {owner_id} AND roles = 'owner'")
        )
        .await,
        1
    );

    // An admin cannot give what they lack (ownership).
    let mut a = pages_of(&t, "roles-admin@example.com").await;
    let (status, page) = posted(
        &mut a,
        &roles_of_pat,
        &[("roles", "owner"), ("version", &current)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        page.contains("You cannot give a permission you do not hold yourself"),
        "{page}"
    );

    assert_eq!(
        members_where(
            &t,
            org,
            &format!("account_id = {pat} AND roles = 'member,auditor'")
        )
        .await,
        1
    );
    assert_eq!(
        version_of(&t, org, pat).await,
        version + 1,
        "no refusal changed anything"
    );
    assert_eq!(audited(&t, org, "member.roles_changed").await, 1);
}

async fn suspend_reinstate_and_remove(t: TestApp) {
    let owner = t.signed_up("status-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Status Co").await;
    let owner_id = account_id(&t, &owner).await;
    member(&t, &owner, org, "status-admin@example.com", &["admin"]).await;
    let pat = account_id(
        &t,
        &member(&t, &owner, org, "sus@example.com", &["member"]).await,
    )
    .await;
    let path = format!("/orgs/{org}/members");
    let mut p = pages_of(&t, "status-owner@example.com").await;

    let (_, page) = html(&mut p, &path).await;
    assert!(page.contains(&format!("id=\"suspend-{pat}\"")));
    assert!(page.contains(&format!("id=\"remove-{pat}\"")) && page.contains("btn btn-danger"));
    assert!(
        !page.contains(&format!("id=\"suspend-{owner_id}\"")),
        "nobody suspends themselves here"
    );

    // A reason too long: explained, still active.
    let long = "r".repeat(501);
    let (status, page) = posted(
        &mut p,
        &format!("{path}/{pat}/suspend"),
        &[("reason", &long)],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("This is too long."), "{page}");
    assert_eq!(
        members_where(
            &t,
            org,
            &format!("account_id = {pat} AND status = 'active'")
        )
        .await,
        1
    );

    let (status, page) = posted(
        &mut p,
        &format!("{path}/{pat}/suspend"),
        &[("reason", "On leave")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("The member was suspended."));
    assert!(page.contains("Suspended") && page.contains("On leave"));
    assert!(page.contains(&format!("id=\"reinstate-{pat}\"")));
    assert_eq!(
        members_where(
            &t,
            org,
            &format!("account_id = {pat} AND status = 'suspended' AND status_reason = 'On leave'")
        )
        .await,
        1
    );
    let (_, page) = html(&mut p, &format!("{path}?status=suspended")).await;
    assert!(page.contains(&format!("id=\"member-{pat}\"")));

    let (status, page) = posted(&mut p, &format!("{path}/{pat}/reinstate"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("The member was reinstated."));
    assert_eq!(
        members_where(
            &t,
            org,
            &format!("account_id = {pat} AND status = 'active'")
        )
        .await,
        1
    );

    // The only owner cannot be suspended, even by an admin.
    let mut a = pages_of(&t, "status-admin@example.com").await;
    let (status, page) = posted(
        &mut a,
        &format!("{path}/{owner_id}/suspend"),
        &[("reason", "")],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        page.contains("An organization must keep at least one active owner."),
        "{page}"
    );
    assert_eq!(
        members_where(
            &t,
            org,
            &format!("account_id = {owner_id} AND status = 'active'")
        )
        .await,
        1
    );

    let (status, page) = posted(&mut p, &format!("{path}/{pat}/remove"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("The member was removed from the organization."));
    assert!(!page.contains(&format!("id=\"member-{pat}\"")));
    assert_eq!(
        members_where(&t, org, &format!("account_id = {pat}")).await,
        0
    );
    assert_eq!(audited(&t, org, "member.suspended").await, 1);
    assert_eq!(audited(&t, org, "member.reinstated").await, 1);
    assert_eq!(audited(&t, org, "member.removed").await, 1);
    // Gone: acting on them again is "not found".
    let (status, _) = posted(&mut p, &format!("{path}/{pat}/suspend"), &[("reason", "")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

both!(the_directory_searches_filters_and_pages);
both!(roles_change_through_the_form_with_every_refusal_explained);
both!(suspend_reinstate_and_remove);
