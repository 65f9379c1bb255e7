//! The organization list, a new organization, the overview with the
//! member's own checklist, and invitations answered from their link or
//! with the code of their message, through the pages on both databases.

use super::{account_id, invitation, invite, member, new_org, page_after, pages_of, PASSWORD};
use crate::security_pages::{location, Pages};
use crate::support::TestApp;
use reqwest::StatusCode;

async fn html(pages: &mut Pages, path: &str) -> (StatusCode, String) {
    let response = pages.get(path).await;
    page_after(pages, response).await
}

async fn posted(pages: &mut Pages, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = pages.post(path, form).await;
    page_after(pages, response).await
}

async fn someone_creates_an_organization_and_edits_its_profile(t: TestApp) {
    // Signed out, the list sends to sign-in and comes back.
    let mut visitor = Pages::new(&t).await;
    let response = visitor.get("/orgs").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signin?next=%2Forgs");

    t.signed_up("aiko@example.jp", PASSWORD).await;
    let mut p = pages_of(&t, "aiko@example.jp").await;
    let (status, page) = html(&mut p, "/orgs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"no-orgs\"") && page.contains("id=\"create-form\""));
    let account_page = html(&mut p, "/account").await.1;
    assert!(
        account_page.contains("href=\"/orgs\""),
        "the account page leads here"
    );

    // Bad names are explained beside the field and create nothing.
    for bad in ["", "   ", &"長".repeat(101), "tab\there"] {
        let (status, page) = posted(&mut p, "/orgs", &[("name", bad)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert!(page.contains("id=\"name-error\""), "{bad:?}: {page}");
        assert!(page.contains("id=\"create-form\""));
    }
    let long = "x".repeat(1001);
    let (status, page) = posted(
        &mut p,
        "/orgs",
        &[("name", "Sakura"), ("description", &long)],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"description-error\"") && page.contains("value=\"Sakura\""));
    assert_eq!(t.count("orgs").await, 0);

    let response = p
        .post(
            "/orgs",
            &[("name", "Sakura Trading"), ("description", "Tokyo & Osaka")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let overview = location(&response);
    let org: i64 = overview
        .trim_start_matches("/orgs/")
        .split('?')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("the new organization's page");
    let page = p.get(&overview).await.text().await.expect("html");
    assert!(page.contains("id=\"notice\""), "{page}");
    assert!(page.contains("Sakura Trading") && page.contains("Tokyo &amp; Osaka"));
    assert!(page.contains("Owner"), "the creator's role, in words");
    assert!(page.contains("id=\"org-tab-members\"") && page.contains("id=\"org-tab-audit\""));
    assert!(page.contains("id=\"profile-form\""));
    // The checklist: nothing done yet on a new account.
    assert!(
        page.contains("id=\"item-two_factor\" data-done=\"false\""),
        "{page}"
    );
    assert!(page.contains("id=\"ack-devices_reviewed\""));

    // The profile: a bad name changes nothing; a good one is saved.
    let profile = format!("/orgs/{org}/profile");
    let (status, page) = posted(&mut p, &profile, &[("name", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"name-error\""));
    assert_eq!(t.count("orgs WHERE name = 'Sakura Trading'").await, 1);
    let (status, page) = posted(
        &mut p,
        &profile,
        &[("name", "Sakura Holdings"), ("description", "")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("Sakura Holdings") && page.contains("id=\"notice\""));
    let (_, list) = html(&mut p, "/orgs").await;
    assert!(list.contains(&format!("href=\"/orgs/{org}\"")) && list.contains("Sakura Holdings"));

    // Without the CSRF token nothing is created.
    let cookie = p.cookie_header();
    let response = reqwest::Client::new()
        .post(t.url("/orgs"))
        .header("cookie", cookie)
        .form(&[("name", "Forged")])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.count("orgs WHERE name = 'Forged'").await, 0);
}
both!(someone_creates_an_organization_and_edits_its_profile);

async fn an_invitation_is_answered_from_its_link_by_its_invitee_only(t: TestApp) {
    let owner = t.signed_up("owner@example.jp", PASSWORD).await;
    let org = new_org(&t, &owner, "Minato Logistics").await;
    let (status, body) = invite(&t, &owner, org, "ken@example.jp", &["security_admin"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (token, _) = invitation(&t, "ken@example.jp").await;
    let link = format!("/invites/{token}");

    // Signed out: sign in first, then back to the link.
    let mut visitor = Pages::new(&t).await;
    let response = visitor.get(&link).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/signin?next=%2Finvites%2F"));

    // Someone else reads "nothing here for you", never whose it is.
    t.signed_up("mallory@example.jp", PASSWORD).await;
    let mut mallory = pages_of(&t, "mallory@example.jp").await;
    let (status, page) = html(&mut mallory, &link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("id=\"invite-not-yours\"") && !page.contains("Minato"));
    let (status, _) = posted(&mut mallory, &link, &[("answer", "accept")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.count(&format!("org_members WHERE org_id = {org}")).await,
        1
    );
    let (status, _) = html(&mut mallory, "/invites/not-a-real-token").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The invitee sees the organization and the role in words, and joins.
    let ken_token = t.signed_up("ken@example.jp", PASSWORD).await;
    let mut ken = pages_of(&t, "ken@example.jp").await;
    let (status, page) = html(&mut ken, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Minato Logistics") && page.contains("Security admin"));
    // An answer that is neither leaves the invitation open.
    let response = ken.post(&link, &[("answer", "maybe")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), link);
    assert_eq!(t.count("org_invites WHERE status = 'pending'").await, 1);
    let (status, page) = posted(&mut ken, &link, &[("answer", "accept")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("id=\"notice\"") && page.contains("Minato Logistics"));
    let ken_id = account_id(&t, &ken_token).await;
    assert_eq!(
        t.count(&format!(
            "org_members WHERE org_id = {org} AND account_id = {ken_id} AND roles = 'security_admin'"
        ))
        .await,
        1
    );
    // The link works once.
    let (status, page) = html(&mut ken, &link).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("already been used"), "{page}");
}
both!(an_invitation_is_answered_from_its_link_by_its_invitee_only);

async fn an_invitation_is_answered_with_its_code_from_the_list(t: TestApp) {
    let owner = t.signed_up("owner@example.jp", PASSWORD).await;
    let org = new_org(&t, &owner, "Kansai Foods").await;
    let other = new_org(&t, &owner, "Kyushu Foods").await;
    invite(&t, &owner, org, "yui@example.jp", &["member"]).await;
    invite(&t, &owner, other, "yui@example.jp", &["auditor"]).await;
    let (_, code) = invitation(&t, "yui@example.jp").await;
    t.signed_up("yui@example.jp", PASSWORD).await;
    let mut yui = pages_of(&t, "yui@example.jp").await;
    let (_, page) = html(&mut yui, "/orgs").await;
    assert!(page.contains(&format!("id=\"invitation-{org}\"")) && page.contains("Kansai Foods"));
    assert!(page.contains(&format!("id=\"invitation-{other}\"")));

    // A wrong or missing code is explained beside that invitation's field.
    let other_text = other.to_string();
    for bad in ["", "12345678"] {
        let form = [
            ("organization_id", other_text.as_str()),
            ("code", bad),
            ("answer", "accept"),
        ];
        let (status, page) = posted(&mut yui, "/orgs/invitations/answer", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert!(page.contains("id=\"code-error\""), "{bad:?}");
    }
    assert_eq!(t.count("org_members").await, 2, "only the owner in each");
    // A number that is not an organization reads as nothing.
    let form = [
        ("organization_id", "x"),
        ("code", "1"),
        ("answer", "accept"),
    ];
    assert_eq!(
        posted(&mut yui, "/orgs/invitations/answer", &form).await.0,
        StatusCode::NOT_FOUND
    );

    // The right code (the newest message: the second organization's).
    let form = [
        ("organization_id", other_text.as_str()),
        ("code", code.as_str()),
        ("answer", "decline"),
    ];
    let (status, page) = posted(&mut yui, "/orgs/invitations/answer", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        page.contains("id=\"notice\"") && !page.contains(&format!("id=\"invitation-{other}\""))
    );
    assert_eq!(t.count("org_invites WHERE status = 'declined'").await, 1);
    assert!(
        page.contains(&format!("id=\"invitation-{org}\"")),
        "the other stays open"
    );
}
both!(an_invitation_is_answered_with_its_code_from_the_list);

async fn a_member_works_through_the_checklist_and_outsiders_see_nothing(t: TestApp) {
    let owner = t.signed_up("owner@example.jp", PASSWORD).await;
    let org = new_org(&t, &owner, "Nagoya Works").await;
    let elsewhere = new_org(&t, &owner, "Sapporo Works").await;
    let sora_token = member(&t, &owner, org, "sora@example.jp", &["member"]).await;
    let mut sora = pages_of(&t, "sora@example.jp").await;
    let overview = format!("/orgs/{org}");
    let (status, page) = html(&mut sora, &overview).await;
    assert_eq!(status, StatusCode::OK);
    // A plain member: the overview only, no administrator tabs or forms.
    assert!(!page.contains("id=\"org-tab-audit\"") && !page.contains("id=\"profile-form\""));
    assert!(
        page.contains("id=\"org-tab-members\""),
        "members read the directory"
    );
    assert!(page.contains(">Member</span>"), "the role, in words");
    let (status, _) = posted(
        &mut sora,
        &format!("{overview}/profile"),
        &[("name", "Mine now")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(t.count("orgs WHERE name = 'Mine now'").await, 0);

    // Steps done by acknowledging them.
    let (status, page) = posted(
        &mut sora,
        &format!("{overview}/onboarding/devices_reviewed"),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("id=\"item-devices_reviewed\" data-done=\"true\""));
    let (status, page) = posted(
        &mut sora,
        &format!("{overview}/onboarding/security_notice"),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("id=\"item-security_notice\" data-done=\"true\""));
    // Two-step verification is done by doing it; an unknown step is nothing.
    let (status, page) = posted(&mut sora, &format!("{overview}/onboarding/two_factor"), &[]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("done by doing it"), "{page}");
    let (status, _) = posted(&mut sora, &format!("{overview}/onboarding/lunch"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(t.count("org_onboarding_acks").await, 2);

    // Another organization, or none at all, reads as nothing.
    for path in [
        format!("/orgs/{elsewhere}"),
        "/orgs/999999".into(),
        "/orgs/abc".into(),
    ] {
        let (status, page) = html(&mut sora, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.contains("Sapporo"));
    }
    // Suspended: told why, in words.
    let sora_id = account_id(&t, &sora_token).await;
    let (status, body) = t
        .post_as(
            &owner,
            &format!("/api/v1/orgs/{org}/members/{sora_id}/suspension"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, page) = html(&mut sora, &overview).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("suspended"), "{page}");
    let (_, list) = html(&mut sora, "/orgs").await;
    assert!(list.contains("Suspended"));
}
both!(a_member_works_through_the_checklist_and_outsiders_see_nothing);

async fn a_verified_domain_lets_its_people_join_from_the_list(t: TestApp) {
    let owner = t.signed_up("owner@hokkaido.example", PASSWORD).await;
    let org = new_org(&t, &owner, "Hokkaido Dairy").await;
    let owner_id = account_id(&t, &owner).await;
    t.exec(&format!(
        "INSERT INTO org_domains (org_id, domain, method, token, status, auto_join, created_by, created_at, verified_at)
         VALUES ({org}, 'hokkaido.example', 'dns', 't', 'verified', 1, {owner_id}, 0, 0)"
    ))
    .await;
    t.signed_up("mio@hokkaido.example", PASSWORD).await;
    let mut mio = pages_of(&t, "mio@hokkaido.example").await;
    let (_, page) = html(&mut mio, "/orgs").await;
    assert!(page.contains(&format!("id=\"join-{org}\"")) && page.contains("hokkaido.example"));
    // Someone at another domain is offered nothing, and cannot join.
    t.signed_up("rin@elsewhere.example", PASSWORD).await;
    let mut rin = pages_of(&t, "rin@elsewhere.example").await;
    let (_, page) = html(&mut rin, "/orgs").await;
    assert!(!page.contains("Hokkaido"));
    let (status, _) = posted(&mut rin, &format!("/orgs/{org}/join"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, page) = posted(&mut mio, &format!("/orgs/{org}/join"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("Hokkaido Dairy") && page.contains("id=\"notice\""));
    assert_eq!(
        t.count(&format!("org_members WHERE org_id = {org}")).await,
        2
    );
    let (_, page) = html(&mut mio, "/orgs").await;
    assert!(
        !page.contains(&format!("id=\"join-{org}\"")),
        "offered once"
    );
}
both!(a_verified_domain_lets_its_people_join_from_the_list);
