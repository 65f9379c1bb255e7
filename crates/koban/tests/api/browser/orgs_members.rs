//! An owner works the members page in a real headless Chromium: invites
//! someone and changes a member's roles in English, then, in Chinese,
//! suspends and reinstates that member and imports a small CSV, reading
//! the report of every row (a refused file first, then the corrected one).

use super::*;
use crate::orgs::{account_id, member, new_org};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_an_owner_manages_members() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("orgs-members", "en", &t.base).await else {
        return;
    };
    let owner = t.signed_up("journey-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Harbor Logistics").await;
    let pat = account_id(
        &t,
        &member(&t, &owner, org, "journey-pat@example.com", &["member"]).await,
    )
    .await;
    let members = format!("/orgs/{org}/members");

    b.goto(&members).await;
    b.on_page("signin").await;
    b.sign_in("journey-owner@example.com", PASSWORD).await;
    b.on_page("org-members").await;
    assert!(b.has(&format!("#member-{pat}")).await);
    b.shot("directory").await;

    // Invite someone as an auditor.
    b.fill("#contact", "newbie@example.com").await;
    b.fill("#display_name", "Newbie").await;
    b.click("#invite-roles input[value=\"auditor\"]").await;
    b.click("#send-invite").await;
    b.on_page("org-members").await;
    assert!(b
        .text_with("#notice", "invitation was sent")
        .await
        .contains("invitation was sent"));
    let invited = b.text("#invitations").await;
    assert!(
        invited.contains("newbie@example.com") && invited.contains("Auditor"),
        "{invited}"
    );
    assert_eq!(
        t.count("org_invites WHERE contact = 'newbie@example.com' AND roles = 'auditor,member'")
            .await,
        1,
        "Member stays ticked by default"
    );
    b.shot("invited").await;

    // Give the member the auditor role too.
    b.click(&format!("#actions-{pat} > summary")).await;
    b.click(&format!("#roles-form-{pat} input[value=\"auditor\"]"))
        .await;
    b.shot("roles-form").await;
    b.click(&format!("#save-roles-{pat}")).await;
    b.on_page("org-members").await;
    assert!(b
        .text_with("#notice", "roles were saved")
        .await
        .contains("roles were saved"));
    assert!(b
        .text(&format!("#member-{pat} .member-roles"))
        .await
        .contains("Auditor"));
    b.shot("roles-saved").await;

    // In Chinese: suspend with a reason, then reinstate.
    b.switch_language("zh-CN").await;
    b.on_page("org-members").await;
    assert!(b.body_text().await.contains("成员名录"));
    b.click(&format!("#actions-{pat} > summary")).await;
    b.fill(&format!("#reason-{pat}"), "休假中").await;
    b.click(&format!("#suspend-{pat}")).await;
    b.on_page("org-members").await;
    assert_eq!(
        b.text_with("#notice", "该成员已被停用。").await,
        "该成员已被停用。"
    );
    assert_eq!(
        b.attr(&format!("#member-{pat}"), "data-status")
            .await
            .as_deref(),
        Some("suspended")
    );
    let row = b.text(&format!("#member-{pat}")).await;
    assert!(row.contains("已停用") && row.contains("休假中"), "{row}");
    b.shot("suspended").await;
    b.click(&format!("#actions-{pat} > summary")).await;
    b.click(&format!("#reinstate-{pat}")).await;
    b.on_page("org-members").await;
    assert_eq!(
        b.text_with("#notice", "该成员已恢复。").await,
        "该成员已恢复。"
    );
    assert!(b.text(&format!("#member-{pat}")).await.contains("正常"));

    // A CSV with a bad row is refused whole, each row said in Chinese.
    b.fill(
        "#csv",
        "email,name,roles\nli@example.com,李雷,auditor\nbroken-address,韩梅梅,\n",
    )
    .await;
    b.click("#run-import").await;
    b.on_page("org-members").await;
    let report = b.text("#import-report").await;
    assert!(report.contains("邮箱地址无效"), "{report}");
    assert!(
        report.contains("将被邀请") && report.contains("因此没有邀请任何人"),
        "{report}"
    );
    assert_eq!(
        t.count("org_invites WHERE contact = 'li@example.com'")
            .await,
        0
    );
    b.shot("import-refused").await;

    // Corrected, it invites both.
    b.fill(
        "#csv",
        "email,name,roles\nli@example.com,李雷,auditor\nhan@example.com,韩梅梅,\n",
    )
    .await;
    b.click("#run-import").await;
    b.on_page("org-members").await;
    assert_eq!(
        b.text("#import-summary").await,
        "已完成：邀请 2 人，跳过 0 人。"
    );
    let report = b.text("#import-rows").await;
    assert_eq!(report.matches("已邀请").count(), 2, "{report}");
    assert_eq!(
        t.count("org_invites WHERE contact IN ('li@example.com', 'han@example.com')")
            .await,
        2
    );
    b.shot("import-report").await;
    b.close().await;
}
