//! The members page's invitations and CSV import on both databases: sent,
//! refused for every bad input, revoked; a file checked, imported, imported
//! again, and refused with every row's reason in words.

use super::super::{member, new_org, pages_of, PASSWORD};
use super::{audited, html, posted};
use crate::support::{scalar, TestApp};
use reqwest::StatusCode;

async fn invitations_are_sent_and_revoked_from_the_page(t: TestApp) {
    let owner = t.signed_up("inv-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Invite Co").await;
    member(&t, &owner, org, "inv-admin@example.com", &["admin"]).await;
    let path = format!("/orgs/{org}/members");
    let send = format!("{path}/invites");
    let mut p = pages_of(&t, "inv-owner@example.com").await;
    let (_, page) = html(&mut p, &path).await;
    assert!(page.contains("id=\"invite-form\"") && page.contains("id=\"no-invitations\""));
    let before = t.count("org_invites").await;

    // Every bad input is explained beside its field and sends nothing.
    let long = "名".repeat(101);
    for (form, field, status) in [
        (
            vec![("contact", "not-an-address"), ("roles", "member")],
            "contact-error",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![("contact", "")],
            "contact-error",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![
                ("contact", "long@example.com"),
                ("display_name", long.as_str()),
            ],
            "display_name-error",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![("contact", "role@example.com"), ("roles", "custom:999")],
            "alert",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![("contact", "inv-owner@example.com")],
            "alert",
            StatusCode::CONFLICT,
        ),
    ] {
        let (got, page) = posted(&mut p, &send, &form).await;
        assert_eq!(got, status, "{form:?}: {page}");
        assert!(
            page.contains(&format!("id=\"{field}\"")),
            "{form:?}: {page}"
        );
        assert!(page.contains("id=\"invite-section\""));
    }
    let (_, page) = posted(&mut p, &send, &[("contact", "not-an-address")]).await;
    assert!(
        page.contains("value=\"not-an-address\""),
        "the input is kept"
    );
    let (_, page) = posted(&mut p, &send, &[("contact", "inv-owner@example.com")]).await;
    assert!(page.contains("This person is already a member of the organization."));
    assert_eq!(t.count("org_invites").await, before);

    let (status, page) = posted(
        &mut p,
        &send,
        &[
            ("contact", "new@example.com"),
            ("display_name", "New Person"),
            ("roles", "auditor"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("The invitation was sent."));
    assert!(page.contains("new@example.com") && page.contains("New Person"));
    let id = scalar(&t, "SELECT id FROM org_invites WHERE contact = 'new@example.com' AND status = 'pending' AND roles = 'auditor'").await;
    assert!(page.contains(&format!("id=\"revoke-{id}\"")));
    // Once more: an invitation is pending.
    let (status, page) = posted(&mut p, &send, &[("contact", "new@example.com")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        page.contains("This person already has an open invitation."),
        "{page}"
    );

    // A phone number in the chosen region.
    let (status, _) = posted(
        &mut p,
        &send,
        &[("contact", "090-1234-5678"), ("region", "JP")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.count("org_invites WHERE contact = '+819012345678' AND roles = 'member'")
            .await,
        1
    );

    // An admin cannot invite an owner.
    let mut a = pages_of(&t, "inv-admin@example.com").await;
    let (status, page) = posted(
        &mut a,
        &send,
        &[("contact", "boss@example.com"), ("roles", "owner")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("You cannot give a permission you do not hold yourself"));
    assert_eq!(
        t.count("org_invites WHERE contact = 'boss@example.com'")
            .await,
        0
    );

    let (status, page) = posted(&mut p, &format!("{send}/{id}/revoke"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("The invitation was revoked."));
    assert!(!page.contains(&format!("id=\"revoke-{id}\"")));
    assert_eq!(
        t.count(&format!(
            "org_invites WHERE id = {id} AND status = 'revoked'"
        ))
        .await,
        1
    );
    let (status, page) = posted(&mut p, &format!("{send}/{id}/revoke"), &[]).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("This invitation has already been used, declined or revoked."));
}

async fn a_csv_import_reports_every_row_in_words(t: TestApp) {
    let owner = t.signed_up("csv-page@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Import Co").await;
    let import = format!("/orgs/{org}/members/import");
    let mut p = pages_of(&t, "csv-page@example.com").await;
    let before = t.count("org_invites").await;

    // Refused rows: every row's reason in words, nobody invited.
    let bad = "email,name,roles\nnot-an-email,A,\nok@example.com,B,\nok@example.com,C,\n=HYPERLINK(1),D,\nrole@example.com,E,auditor;bogus\n";
    let (status, page) = posted(&mut p, &import, &[("csv", bad)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"import-report\""), "{page}");
    for words in [
        "the email address is not valid",
        "the same person appears on an earlier line",
        "a role this organization does not have",
        "rows have a problem, so nobody was invited",
    ] {
        assert!(page.contains(words), "{words}: {page}");
    }
    assert!(page.contains("data-line=\"3\" data-outcome=\"would_invite\""));
    assert!(page.contains("Would be invited"));
    assert!(
        !page.contains("bad_email") && !page.contains(">duplicate<"),
        "codes in words"
    );
    assert!(
        page.contains("ok@example.com,B"),
        "the text is kept to correct"
    );
    assert_eq!(t.count("org_invites").await, before);

    // Files that cannot be read at all.
    for (text, words) in [
        ("", "The file is empty."),
        (
            "ok@example.com,Ann\n",
            "The first row must name the columns",
        ),
        ("email\n", "The file has a header but no people."),
    ] {
        let (status, page) = posted(&mut p, &import, &[("csv", text)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text:?}");
        assert!(
            page.contains("id=\"csv-error\"") && page.contains(words),
            "{text:?}: {page}"
        );
    }
    assert_eq!(t.count("org_invites").await, before);

    // A check first, then the real thing, then the same file again.
    let good = "email,phone,name,roles\nhana@example.com,,Hana,auditor\n,090-2222-3333,Ichiro,\ncsv-page@example.com,,Me,\n";
    let (status, page) = posted(
        &mut p,
        &import,
        &[("csv", good), ("import_region", "JP"), ("dry_run", "on")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Checked, nothing changed: 2 would be invited, 1 skipped."),
        "{page}"
    );
    assert!(
        page.contains("hana@example.com,,Hana"),
        "a check keeps the text"
    );
    assert_eq!(t.count("org_invites").await, before);
    let (status, page) = posted(&mut p, &import, &[("csv", good), ("import_region", "JP")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Done: 2 invited, 1 skipped."), "{page}");
    assert!(
        page.contains("placeholder=\"email,phone,name,roles\"></textarea>"),
        "a done import clears the text"
    );
    assert!(page.contains("Skipped: already a member") && page.contains(">Invited"));
    assert_eq!(t.count("org_invites").await, before + 2);
    assert_eq!(
        t.count("org_invites WHERE contact = '+819022223333'").await,
        1
    );
    let (_, page) = posted(&mut p, &import, &[("csv", good), ("import_region", "JP")]).await;
    assert!(page.contains("Done: 0 invited, 3 skipped."), "{page}");
    assert!(page.contains("Skipped: already invited"));
    assert_eq!(t.count("org_invites").await, before + 2);
    assert_eq!(audited(&t, org, "members.imported").await, 2);

    // A region that is not one.
    let (status, _) = posted(&mut p, &import, &[("csv", good), ("import_region", "JPN")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

both!(invitations_are_sent_and_revoked_from_the_page);
both!(a_csv_import_reports_every_row_in_words);
