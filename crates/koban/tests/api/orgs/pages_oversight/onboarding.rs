//! Onboarding progress and the security notice editor: progress in words,
//! bad notices explained, read-only for those who may not change the
//! policy, closed to others.

use super::*;

async fn onboarding_progress_and_the_security_notice_from_the_page(t: TestApp) {
    let owner = t.signed_up("ob-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Onboarded").await;
    let bob = member(&t, &owner, org, "ob-bob@example.com", &["member"]).await;
    let watcher_role = custom_role(&t, &owner, org, "Device watcher", &["devices.read"]).await;
    member(&t, &owner, org, "ob-watcher@example.com", &[&watcher_role]).await;
    member(&t, &owner, org, "ob-plain@example.com", &["member"]).await;
    let rival = t.signed_up("ob-rival@example.com", PASSWORD).await;
    new_org(&t, &rival, "Rival onboarding").await;
    // Bob reviews his devices through the API.
    let (status, _) = t
        .post_as(
            &bob,
            &format!("/api/v1/orgs/{org}/onboarding/me/devices_reviewed"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let bob_id = account_id(&t, &bob).await;
    let path = format!("/orgs/{org}/onboarding");
    let notices = format!("org_security_notices WHERE org_id = {org}");

    let mut pages = pages_of(&t, "ob-owner@example.com").await;
    let (status, page) = html(&mut pages, &path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for words in [
        "Two-step verification",
        "Recovery codes stored",
        "Devices reviewed",
        "Security notice read",
        "1 of 4 done",
        "Members read Koban&#x27;s built-in notice",
    ] {
        assert!(page.contains(words), "{words}: {page}");
    }
    let bob_row = page
        .split(&format!("data-account=\"{bob_id}\""))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("bob's row");
    assert!(
        bob_row.contains("data-item=\"devices_reviewed\" data-done=\"yes\""),
        "{bob_row}"
    );
    assert!(
        bob_row.contains("data-item=\"two_factor\" data-done=\"no\""),
        "{bob_row}"
    );
    assert!(
        page.contains("id=\"notice-save\""),
        "the owner edits the notice"
    );

    // A bad notice is explained, kept, and saves nothing.
    let long = "x".repeat(5001);
    for (body, reason) in [
        ("   ", "This field is required."),
        (long.as_str(), "This value is not allowed."),
    ] {
        let (status, page) = posted(&mut pages, &format!("{path}/notice"), &[("body", body)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains(reason), "{page}");
        assert_eq!(t.count(&notices).await, 0);
    }
    let (status, page) = posted(
        &mut pages,
        &format!("{path}/notice"),
        &[("body", "Lock your screen when you leave your desk.")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("The security notice was saved."), "{page}");
    assert!(page.contains("Version 1, changed"), "{page}");
    assert!(page.contains("Lock your screen when you leave your desk."));
    assert_eq!(t.count(&format!("{notices} AND version = 1")).await, 1);

    // Someone who follows progress but may not change the policy: the
    // notice is read only, and posting is refused.
    let mut watcher = pages_of(&t, "ob-watcher@example.com").await;
    let (status, page) = html(&mut watcher, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("id=\"notice-save\""), "{page}");
    assert!(page.contains("Lock your screen when you leave your desk."));
    let response = watcher
        .post(&format!("{path}/notice"), &[("body", "Changed")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("policies.manage"));
    assert_eq!(t.count(&format!("{notices} AND version = 1")).await, 1);

    let mut plain = pages_of(&t, "ob-plain@example.com").await;
    let (status, page) = html(&mut plain, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("devices.read"), "{page}");
    let response = plain
        .post(&format!("{path}/notice"), &[("body", "Changed")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let mut rival_pages = pages_of(&t, "ob-rival@example.com").await;
    let (status, _) = html(&mut rival_pages, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = rival_pages
        .post(&format!("{path}/notice"), &[("body", "Changed")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(t.count(&format!("{notices} AND version = 1")).await, 1);

    let mut visitor = Pages::new(&t).await;
    let response = visitor.get(&path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/signin"));
}
both!(onboarding_progress_and_the_security_notice_from_the_page);
