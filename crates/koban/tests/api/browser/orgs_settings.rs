//! An owner works the settings pages in a real headless Chromium: sets the
//! security policy and freezes a member's phone in English, then, in
//! Chinese, meets a refused policy value, unfreezes the phone and creates
//! a custom role.

use super::*;
use crate::orgs::{account_id, member, new_org, PASSWORD};

const PHONE: &str = "journey-kai-phone-00001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_an_owner_sets_policy_devices_and_roles() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("orgs-settings", "en", &t.base).await else {
        return;
    };
    let owner = t.signed_up("journey-boss@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Lotus Freight").await;
    let kai = member(&t, &owner, org, "journey-kai@example.com", &["member"]).await;
    let kai_id = account_id(&t, &kai).await;
    // Kai signs in from the app on his phone, binding it.
    let (status, body) = t
        .send(
            t.http
                .post(t.url("/api/v1/sessions"))
                .header("x-koban-device", PHONE)
                .header("x-koban-device-name", "Kai's phone")
                .header("x-koban-client-version", "3.1.0")
                .json(&serde_json::json!({
                    "identifier": "journey-kai@example.com", "password": PASSWORD,
                })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let phone = crate::support::scalar(
        &t,
        &format!(
            "SELECT id AS n FROM devices WHERE account_id = {kai_id} AND name = 'Kai''s phone'"
        ),
    )
    .await;

    // The policy: a device limit, one country, a shorter session.
    b.goto(&format!("/orgs/{org}/policy")).await;
    b.on_page("signin").await;
    b.sign_in("journey-boss@example.com", PASSWORD).await;
    b.on_page("org-policy").await;
    assert!(b
        .text("#policy-version")
        .await
        .contains("No rule has been set yet"));
    b.shot("policy-empty").await;
    b.fill("#max_devices", "3").await;
    b.fill("#allowed_countries", "jp").await;
    b.fill("#session_lifetime_minutes", "120").await;
    b.click("#save-policy").await;
    b.on_page("org-policy").await;
    assert!(b
        .text_with("#notice", "The policy is saved")
        .await
        .contains("The policy is saved"));
    assert_eq!(
        b.text("#rule-max_devices").await,
        "At most 3 signed in at once"
    );
    assert!(b
        .text("#rule-session_lifetime")
        .await
        .contains("120 minutes"));
    assert_eq!(
        b.attr("#policy-rules", "data-version").await.as_deref(),
        Some("1")
    );
    b.shot("policy-saved").await;

    // Freeze Kai's phone with a reason.
    b.click("#org-tab-devices").await;
    b.on_page("org-devices").await;
    let row = format!("#device-{phone}");
    assert!(b.text(&row).await.contains("Kai"), "Kai's phone is listed");
    b.click(&format!("#freeze-open-{phone}")).await;
    b.fill(&format!("#reason-{phone}"), "Reported lost").await;
    b.shot("freeze-form").await;
    b.click(&format!("#freeze-{phone}")).await;
    b.on_page("org-devices").await;
    assert!(b.text_with("#notice", "Frozen.").await.contains("Frozen."));
    assert_eq!(b.attr(&row, "data-frozen").await.as_deref(), Some("true"));
    assert!(b.text(&row).await.contains("Reported lost"));
    assert_eq!(
        t.count(&format!(
            "devices WHERE id = {phone} AND frozen_at IS NOT NULL"
        ))
        .await,
        1
    );
    b.shot("frozen").await;

    // In Chinese: a device limit out of range is refused beside its field.
    b.switch_language("zh-CN").await;
    b.on_page("org-devices").await;
    b.goto(&format!("/orgs/{org}/policy")).await;
    b.on_page("org-policy").await;
    b.fill("#max_devices", "0").await;
    b.click("#save-policy").await;
    b.on_page("org-policy").await;
    assert_eq!(b.text("#max_devices-error").await, "该数值超出允许范围。");
    assert_eq!(
        b.attr("#policy-rules", "data-version").await.as_deref(),
        Some("1")
    );
    assert_eq!(b.text("#rule-max_devices").await, "同时最多登录 3 台设备");
    b.script("document.getElementById('max_devices').scrollIntoView({block: 'center'})")
        .await;
    b.shot("policy-refused-zh").await;
    b.script("window.scrollTo(0, 0)").await;

    // Unfreeze the phone.
    b.click("#org-tab-devices").await;
    b.on_page("org-devices").await;
    b.click(&format!("#unfreeze-{phone}")).await;
    b.on_page("org-devices").await;
    assert_eq!(
        b.text_with("#notice", "已解冻。该成员可以再次在此设备上登录。")
            .await,
        "已解冻。该成员可以再次在此设备上登录。"
    );
    assert_eq!(b.attr(&row, "data-frozen").await.as_deref(), Some("false"));
    assert_eq!(
        t.count(&format!("devices WHERE id = {phone} AND frozen_at IS NULL"))
            .await,
        1
    );
    b.shot("unfrozen-zh").await;

    // A custom role with two permissions.
    b.click("#org-tab-roles").await;
    b.on_page("org-roles").await;
    b.fill("#new-role-name", "值班员").await;
    b.click("#new-role-audit-read").await;
    b.click("#new-role-devices-read").await;
    b.shot("role-form-zh").await;
    b.click("#create-role").await;
    b.on_page("org-roles").await;
    assert_eq!(
        b.text_with("#notice", "角色已创建，现在可以将其授予成员。")
            .await,
        "角色已创建，现在可以将其授予成员。"
    );
    let custom = b.text("#custom-roles").await;
    assert!(
        custom.contains("值班员")
            && custom.contains("查看审计日志")
            && custom.contains("查看成员设备和入门进度"),
        "{custom}"
    );
    assert_eq!(
        t.count(&format!(
            "org_roles WHERE org_id = {org} AND name = '值班员' AND permissions = 'devices.read,audit.read'"
        ))
        .await,
        1
    );
    b.shot("role-created-zh").await;
    b.close().await;
}
