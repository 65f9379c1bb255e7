//! Who may see and do what on the members page, on both databases: a
//! plain member reads the directory and can change nothing; a role without
//! `members.read` sees no directory; another organization's people are
//! "not found" both ways.

use super::super::{account_id, invite, member, new_org, pages_of, PASSWORD};
use super::{html, members_where, posted, version_of};
use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::json;

async fn who_may_see_and_do_what(t: TestApp) {
    let owner = t.signed_up("perm-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Perm Co").await;
    member(&t, &owner, org, "plain@example.com", &["member"]).await;
    let sam = account_id(
        &t,
        &member(&t, &owner, org, "sam@example.com", &["member"]).await,
    )
    .await;
    let (status, _) = invite(&t, &owner, org, "open@example.com", &["member"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let invite_id = scalar(
        &t,
        "SELECT id FROM org_invites WHERE contact = 'open@example.com'",
    )
    .await;
    let path = format!("/orgs/{org}/members");

    // A plain member reads the directory and sees no button to change it.
    let mut plain = pages_of(&t, "plain@example.com").await;
    let (status, page) = html(&mut plain, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("id=\"member-{sam}\"")));
    for absent in [
        "id=\"actions-",
        "roles-form-",
        "suspend-form-",
        "id=\"invite-form\"",
        "id=\"import-form\"",
        "id=\"invitations\"",
        "revoke-",
    ] {
        assert!(!page.contains(absent), "{absent}");
    }
    let version = version_of(&t, org, sam).await.to_string();
    let invites_before = t.count("org_invites").await;
    for (to, form) in [
        (
            format!("{path}/{sam}/roles"),
            vec![("roles", "admin"), ("version", version.as_str())],
        ),
        (format!("{path}/{sam}/suspend"), vec![("reason", "x")]),
        (format!("{path}/{sam}/reinstate"), vec![]),
        (format!("{path}/{sam}/remove"), vec![]),
        (
            format!("{path}/invites"),
            vec![("contact", "x@example.com")],
        ),
        (format!("{path}/invites/{invite_id}/revoke"), vec![]),
        (
            format!("{path}/import"),
            vec![("csv", "email\ny@example.com\n")],
        ),
    ] {
        let (status, page) = posted(&mut plain, &to, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{to}: {page}");
        assert!(
            page.contains("Your role in this organization does not allow this."),
            "{to}"
        );
    }
    assert_eq!(
        members_where(
            &t,
            org,
            &format!("account_id = {sam} AND status = 'active' AND roles = 'member'")
        )
        .await,
        1
    );
    assert_eq!(t.count("org_invites").await, invites_before);
    assert_eq!(
        t.count(&format!(
            "org_invites WHERE id = {invite_id} AND status = 'pending'"
        ))
        .await,
        1
    );

    // A role without members.read: no directory.
    let (status, watcher) = t
        .post_as(
            &owner,
            &format!("/api/v1/orgs/{org}/roles"),
            json!({ "name": "Watcher", "permissions": ["audit.read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{watcher}");
    let key = watcher["key"].as_str().expect("key").to_string();
    member(&t, &owner, org, "watch@example.com", &[key.as_str()]).await;
    let mut w = pages_of(&t, "watch@example.com").await;
    let (status, page) = html(&mut w, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        page.contains("Your role in this organization does not allow this."),
        "{page}"
    );

    // Another organization's people: 404 both ways, nothing changed.
    let rival = t.signed_up("rival@example.com", PASSWORD).await;
    let rival_org = new_org(&t, &rival, "Rival Co").await;
    let rival_id = account_id(&t, &rival).await;
    let (status, _) = invite(&t, &rival, rival_org, "theirs@example.com", &["member"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let theirs = scalar(
        &t,
        "SELECT id FROM org_invites WHERE contact = 'theirs@example.com'",
    )
    .await;
    let mut r = pages_of(&t, "rival@example.com").await;
    let (status, _) = html(&mut r, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = posted(&mut r, &format!("{path}/{sam}/suspend"), &[("reason", "")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut o = pages_of(&t, "perm-owner@example.com").await;
    // A custom role is named as its organization named it.
    let (_, page) = html(&mut o, &path).await;
    assert!(page.contains(">Watcher</span>"), "{page}");
    assert!(!page.contains(">custom:"), "never the key");
    for to in [
        format!("{path}/{rival_id}/suspend"),
        format!("{path}/{rival_id}/remove"),
        format!("{path}/invites/{theirs}/revoke"),
        format!("{path}/abc/remove"),
    ] {
        let (status, _) = posted(&mut o, &to, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{to}");
    }
    let rival_version = version_of(&t, rival_org, rival_id).await.to_string();
    let (status, _) = posted(
        &mut o,
        &format!("{path}/{rival_id}/roles"),
        &[("roles", "member"), ("version", &rival_version)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        members_where(
            &t,
            rival_org,
            &format!("account_id = {rival_id} AND status = 'active' AND roles = 'owner'")
        )
        .await,
        1
    );
    assert_eq!(
        t.count(&format!(
            "org_invites WHERE id = {theirs} AND status = 'pending'"
        ))
        .await,
        1
    );
    let (status, _) = html(&mut o, "/orgs/999999/members").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

both!(who_may_see_and_do_what);
