//! The verification flow and the verified account actions on the ticket page.

use super::*;

/// The account panel and the verified actions on the ticket page: the
/// lock shows, actions are refused until the requester reads back the
/// code, and the unlock is recorded on the ticket and in the audit log.
async fn agents_verify_and_unlock_from_the_ticket_page(t: TestApp) {
    let owner = "locked@example.com";
    t.signed_up(owner, PASSWORD).await;
    for _ in 0..5 {
        t.post(
            "/api/v1/sessions",
            json!({ "identifier": owner, "password": "wrong guess 123" }),
        )
        .await;
    }
    let reference = open(
        &t,
        "en",
        json!({ "subject": "locked out", "body": "my account is locked after a new phone", "email": owner }),
    )
    .await;
    let path = format!("/desk/tickets/{reference}");
    let (mut agent, _) = staff_pages(&t, "verifier@example.com", "agent").await;
    let html = text(agent.get(&path).await).await;
    assert!(html.contains("id=\"account-unproved\""), "{html}");
    assert!(
        html.contains("id=\"lock-state\"><span class=\"badge badge-bad\">"),
        "{html}"
    );
    assert!(html.contains("id=\"actions-need-verification\""));
    let unlock = [
        ("action", "unlock"),
        ("reason", "owner locked out after a new phone"),
    ];
    let response = agent
        .post(&format!("{path}/account-actions"), &unlock)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "nothing proved yet"
    );
    assert_eq!(
        t.count("audit_log WHERE action = 'account.unlock'").await,
        0
    );

    let response = agent.post(&format!("{path}/verifications"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = text(agent.get(&location(&response)).await).await;
    assert!(html.contains("id=\"verify-check-form\""), "{html}");
    let id = scalar(&t, "SELECT MAX(id) FROM desk_verifications").await;
    let check = format!("{path}/verifications/{id}");
    let code = t.latest_code(owner).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let response = agent.post(&check, &[("code", wrong)]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(response).await.contains("id=\"code-error\""));
    let response = agent
        .post(&format!("{path}/account-actions"), &unlock)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "a wrong code proves nothing"
    );
    let response = agent.post(&check, &[("code", &code)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = text(agent.get(&path).await).await;
    assert!(html.contains("id=\"verified\""), "{html}");
    assert!(!html.contains("id=\"actions-need-verification\""));
    let response = agent
        .post(
            &format!("{path}/account-actions"),
            &[("action", "remove_device"), ("reason", "lost phone")],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "which device?"
    );
    let response = agent
        .post(&format!("{path}/account-actions"), &unlock)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        t.count("audit_log WHERE action = 'account.unlock'").await,
        1
    );
    let html = text(agent.get(&path).await).await;
    for event in [
        "verification_started",
        "verification_passed",
        "account_action",
    ] {
        assert!(
            html.contains(&format!("data-event=\"{event}\"")),
            "{event}: {html}"
        );
    }
    assert!(
        html.contains("id=\"lock-state\"><span class=\"badge badge-ok\">"),
        "{html}"
    );
    // The requester signs in again.
    let (status, _) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": owner, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
both!(agents_verify_and_unlock_from_the_ticket_page);
