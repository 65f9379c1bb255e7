//! An organization's administrators (`support.read_all`) find its tickets
//! and their public replies, and nothing of another organization.

use super::{open, q, refs, reply, search, until};
use crate::orgs::{member, new_org, PASSWORD};
use crate::support::TestApp;

async fn administrators_find_their_organizations_tickets(t: TestApp) {
    let agent = t.staff("org-search-agent@example.com", "agent").await;
    let owner_a = t.signed_up("org-search-a@example.com", PASSWORD).await;
    let owner_b = t.signed_up("org-search-b@example.com", PASSWORD).await;
    let a = new_org(&t, &owner_a, "Sakura Trading").await;
    let b = new_org(&t, &owner_b, "Mekong Foods").await;
    let contact_a = member(
        &t,
        &owner_a,
        a,
        "org-search-ca@example.com",
        &["support_contact"],
    )
    .await;
    let security_a = member(
        &t,
        &owner_a,
        a,
        "org-search-sa@example.com",
        &["security_admin"],
    )
    .await;
    let plain_a = member(&t, &owner_a, a, "org-search-pa@example.com", &["member"]).await;
    let contact_b = member(
        &t,
        &owner_b,
        b,
        "org-search-cb@example.com",
        &["support_contact"],
    )
    .await;

    let ours = open(
        &t,
        &contact_a,
        "社員端末の紛失",
        "営業部の端末を紛失しました。遠隔ロックしたい",
    )
    .await;
    let theirs = open(
        &t,
        &contact_b,
        "端末の紛失 (Mekong)",
        "倉庫の端末を紛失しました",
    )
    .await;
    // A plain member's ticket is their own, not the organization's.
    let private = open(&t, &plain_a, "私物の端末を紛失", "個人の端末を紛失しました").await;
    let note = reply(&t, &agent, &ours, "内部メモ: 端末 serial check", false).await;
    let public = reply(&t, &agent, &ours, "端末をロックしました。", true).await;
    until(&t, Some(&agent), &q("端末"), |body| {
        let r = refs(body);
        [&ours, &theirs, &private].iter().all(|x| r.contains(x))
            && r.contains(&format!("{ours}#{public}"))
            && r.contains(&format!("{ours}#{note}"))
    })
    .await;

    // The owner of A finds A's ticket and the public reply on it; not the
    // note, not B's ticket, not the plain member's own.
    let (status, body) = search(&t, Some(&owner_a), &q("端末")).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let mut found = refs(&body);
    found.sort();
    let mut expected = vec![ours.clone(), format!("{ours}#{public}")];
    expected.sort();
    assert_eq!(found, expected, "{body}");
    // Filtering by the other organization, or asking for B's words, finds nothing.
    let (_, body) = search(
        &t,
        Some(&owner_a),
        &format!("{}&organization={b}", q("端末")),
    )
    .await;
    assert_eq!(body["total"], 0, "{body}");
    let (_, body) = search(&t, Some(&owner_a), &q("倉庫")).await;
    assert_eq!(body["total"], 0, "{body}");
    // B's owner finds B's only.
    let (_, body) = search(&t, Some(&owner_b), &q("端末")).await;
    assert_eq!(refs(&body), vec![theirs.clone()], "{body}");
    // A security administrator of A (no support.read_all) finds nothing of A's.
    let (_, body) = search(&t, Some(&security_a), &q("端末")).await;
    assert_eq!(body["total"], 0, "{body}");
    // Losing the role loses the tickets at once (read at each search).
    let owner_id = crate::orgs::account_id(&t, &owner_a).await;
    t.exec(&format!(
        "UPDATE org_members SET status = 'suspended' WHERE org_id = {a} AND account_id = {owner_id}"
    ))
    .await;
    let (_, body) = search(&t, Some(&owner_a), &q("端末")).await;
    assert_eq!(body["total"], 0, "{body}");
}
both!(administrators_find_their_organizations_tickets);
