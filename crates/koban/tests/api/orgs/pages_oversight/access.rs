//! The access review pages: an owner schedules, starts, decides and signs
//! off a review, every refusal explained and changing nothing; members
//! without `access.review`, other organizations and visitors are kept out.

use super::*;

async fn an_owner_runs_an_access_review_from_the_pages(t: TestApp) {
    let owner = t.signed_up("ar-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Reviewed").await;
    let sec = member(&t, &owner, org, "ar-sec@example.com", &["security_admin"]).await;
    let bob = member(&t, &owner, org, "ar-bob@example.com", &["member"]).await;
    let [owner_id, sec_id, bob_id] = [
        account_id(&t, &owner).await,
        account_id(&t, &sec).await,
        account_id(&t, &bob).await,
    ];
    let mut pages = pages_of(&t, "ar-owner@example.com").await;
    let access = format!("/orgs/{org}/access");

    // The report: everyone, the marks in words.
    let (status, page) = html(&mut pages, &access).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("ar-bob@example.com"), "{page}");
    assert!(
        page.contains("Administrator without two-step verification"),
        "the owner has no second factor: {page}"
    );
    assert!(!page.contains(">administrator_without_two_factor<"));
    let (_, marked) = html(&mut pages, &format!("{access}?marked=1")).await;
    assert!(!marked.contains("ar-bob@example.com"), "bob needs no look");

    // The schedule: bad numbers are explained and change nothing.
    let days = format!(
        "SELECT COALESCE(MAX(every_days), 0) FROM org_review_schedules WHERE org_id = {org}"
    );
    let before = scalar(&t, &days).await;
    for (typed, reason, status) in [
        (
            "3",
            "This number is outside the allowed range.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "366",
            "This number is outside the allowed range.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "soon",
            "This value is not allowed.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (got, page) = posted(
            &mut pages,
            &format!("{access}/schedule"),
            &[("every_days", typed)],
        )
        .await;
        assert_eq!(got, status, "{typed}");
        assert!(page.contains(reason), "{typed}: {page}");
        assert!(
            page.contains(&format!("value=\"{typed}\"")),
            "what was typed is kept"
        );
        assert_eq!(scalar(&t, &days).await, before, "{typed} changed nothing");
    }
    let (status, page) = posted(
        &mut pages,
        &format!("{access}/schedule"),
        &[("every_days", "45")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("The review schedule was saved."), "{page}");
    assert!(page.contains("Reviews are due every 45 days"), "{page}");
    assert_eq!(scalar(&t, &days).await, 45);

    // Start a review: to its page; a second one is refused while it runs.
    let (status, page) = posted(&mut pages, &format!("{access}/reviews"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("The access review has started."), "{page}");
    assert!(page.contains("0 of 3 members decided"), "{page}");
    let review = scalar(
        &t,
        &format!("SELECT MAX(id) FROM org_access_reviews WHERE org_id = {org}"),
    )
    .await;
    let (status, page) = posted(&mut pages, &format!("{access}/reviews"), &[]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        page.contains("An access review is already in progress."),
        "{page}"
    );
    assert_eq!(
        t.count(&format!("org_access_reviews WHERE org_id = {org}"))
            .await,
        1
    );
    let (_, page) = html(&mut pages, &access).await;
    assert!(page.contains("id=\"review-continue\""), "{page}");

    let here = format!("{access}/reviews/{review}");
    let decide = format!("{here}/decide");
    let decided = format!(
        "SELECT COUNT(*) FROM org_access_review_items WHERE review_id = {review} AND decision IS NOT NULL"
    );
    let bob_text = bob_id.to_string();
    let owner_text = owner_id.to_string();
    let long_note = "n".repeat(1001);
    // Bad decisions: explained, nothing recorded.
    for (form, status, reason) in [
        (
            vec![("account_id", bob_text.as_str()), ("decision", "maybe")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "This value is not allowed.",
        ),
        (
            vec![("account_id", "999999"), ("decision", "keep")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "This value is not allowed.",
        ),
        (
            vec![
                ("account_id", bob_text.as_str()),
                ("decision", "keep"),
                ("note", long_note.as_str()),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "This value is not allowed.",
        ),
        (
            vec![("account_id", owner_text.as_str()), ("decision", "keep")],
            StatusCode::FORBIDDEN,
            "You cannot decide on your own access.",
        ),
    ] {
        let (got, page) = posted(&mut pages, &decide, &form).await;
        assert_eq!(got, status, "{form:?}: {page}");
        assert!(page.contains(reason), "{form:?}: {page}");
        assert_eq!(scalar(&t, &decided).await, 0, "{form:?}");
    }
    // Signing off while members are undecided is refused, and says why.
    let (status, page) = posted(&mut pages, &format!("{here}/sign-off"), &[("note", "")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("3 members are still undecided."), "{page}");
    assert_eq!(
        t.count(&format!(
            "org_access_reviews WHERE id = {review} AND signed_off_at IS NOT NULL"
        ))
        .await,
        0
    );

    // Keep bob (with a note), revoke the security admin; the security
    // admin decides on the owner.
    let sec_text = sec_id.to_string();
    let (status, page) = posted(
        &mut pages,
        &decide,
        &[
            ("account_id", &bob_text),
            ("decision", "keep"),
            ("note", "Still on the team"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("Decision recorded."), "{page}");
    assert!(page.contains("Still on the team"), "{page}");
    let (status, _) = posted(
        &mut pages,
        &decide,
        &[("account_id", &sec_text), ("decision", "revoke")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let mut sec_pages = pages_of(&t, "ar-sec@example.com").await;
    let (status, page) = posted(
        &mut sec_pages,
        &decide,
        &[("account_id", &owner_text), ("decision", "keep")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(scalar(&t, &decided).await, 3);
    let revoked = format!(
        "SELECT CASE WHEN decision = 'revoke' THEN 1 ELSE 0 END FROM org_access_review_items WHERE review_id = {review} AND account_id = {sec_id}"
    );
    assert_eq!(scalar(&t, &revoked).await, 1);

    // A bad note on the sign-off is kept and explained; then it is signed off.
    let (status, page) = posted(
        &mut pages,
        &format!("{here}/sign-off"),
        &[("note", &long_note)],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"signoff-note-error\""), "{page}");
    let (status, page) = posted(
        &mut pages,
        &format!("{here}/sign-off"),
        &[("note", "Quarterly review")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("The access review was signed off"), "{page}");
    assert!(
        page.contains("The review decided to revoke the access of:"),
        "{page}"
    );
    assert!(page.contains("id=\"to-revoke\""));
    assert!(
        !page.contains("id=\"sign-off-submit\""),
        "nothing more to sign"
    );
    assert_eq!(
        t.count(&format!(
            "org_access_reviews WHERE id = {review} AND signed_off_at IS NOT NULL"
        ))
        .await,
        1
    );
    assert_eq!(
        t.count(&format!(
            "audit_entries WHERE scope = 'org:{org}' AND action = 'access_review.signed_off'"
        ))
        .await,
        1
    );
    // Decisions are final once signed off.
    let (status, page) = posted(
        &mut pages,
        &decide,
        &[("account_id", &sec_text), ("decision", "keep")],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("This access review was signed off"), "{page}");
    assert_eq!(scalar(&t, &revoked).await, 1);
    let (_, page) = html(&mut pages, &access).await;
    assert!(page.contains("Signed off by"), "{page}");
    assert!(page.contains("id=\"review-start\""), "a new one can start");
}
both!(an_owner_runs_an_access_review_from_the_pages);

async fn the_access_pages_are_closed_to_others(t: TestApp) {
    let owner = t.signed_up("ax-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Closed access").await;
    member(&t, &owner, org, "ax-auditor@example.com", &["auditor"]).await;
    let (status, review) = t
        .post_as(
            &owner,
            &format!("/api/v1/orgs/{org}/access-reviews"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{review}");
    let review = review["id"].as_i64().expect("id");
    let owner_id = account_id(&t, &owner).await.to_string();
    let rival = t.signed_up("ax-rival@example.com", PASSWORD).await;
    new_org(&t, &rival, "Rival access").await;
    let paths = [
        format!("/orgs/{org}/access"),
        format!("/orgs/{org}/access/reviews/{review}"),
    ];
    let posts = [
        (
            format!("/orgs/{org}/access/schedule"),
            vec![("every_days", "30")],
        ),
        (format!("/orgs/{org}/access/reviews"), vec![]),
        (
            format!("/orgs/{org}/access/reviews/{review}/decide"),
            vec![("account_id", owner_id.as_str()), ("decision", "revoke")],
        ),
        (
            format!("/orgs/{org}/access/reviews/{review}/sign-off"),
            vec![],
        ),
    ];
    let changes = format!("SELECT COUNT(*) FROM audit_entries WHERE scope = 'org:{org}'");
    let before = scalar(&t, &changes).await;

    // The auditor reads the log but does not review access.
    let mut auditor = pages_of(&t, "ax-auditor@example.com").await;
    for path in &paths {
        let (status, page) = html(&mut auditor, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains("access.review"), "{path}: {page}");
    }
    for (path, form) in &posts {
        let response = auditor.post(path, form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let (_, page) = html(&mut auditor, &format!("/orgs/{org}/audit")).await;
    assert!(!page.contains("id=\"org-tab-access\""), "no tab for it");

    let mut rival_pages = pages_of(&t, "ax-rival@example.com").await;
    for path in &paths {
        let (status, _) = html(&mut rival_pages, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    for (path, form) in &posts {
        let response = rival_pages.post(path, form).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // A review of another organization, or none, is not found either.
    let mut owner_pages = pages_of(&t, "ax-owner@example.com").await;
    for path in [
        format!("/orgs/{org}/access/reviews/999999"),
        format!("/orgs/{org}/access/reviews/x"),
    ] {
        let (status, _) = html(&mut owner_pages, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(scalar(&t, &changes).await, before, "nothing was changed");

    let mut visitor = Pages::new(&t).await;
    for path in &paths {
        let response = visitor.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(location(&response).starts_with("/signin"), "{path}");
    }
}
both!(the_access_pages_are_closed_to_others);
