//! The survey's pages: the link's form signed out, the requester's form
//! on their ticket, refusals shown on the form, and the report page.

use super::{open, solve, solved, PASSWORD};
use crate::security_pages::{location, Pages};
use crate::support::TestApp;
use reqwest::StatusCode;

async fn the_link_page_takes_one_answer_signed_out(t: TestApp) {
    let s = solved(&t, "page@example.jp").await;
    let path = format!("/support/surveys/{}", s.token);
    let mut p = Pages::new(&t).await;
    let form = p.get(&path).await;
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.expect("html");
    assert!(html.contains("id=\"survey-form\""), "{html}");
    assert!(html.contains("name=\"csrf_token\""));
    // Refused on the form, nothing recorded.
    for (score, comment) in [("", "no score"), ("0", ""), ("6", ""), ("x", "")] {
        let refused = p
            .post(&path, &[("score", score), ("comment", comment)])
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{score}"
        );
        let html = refused.text().await.expect("html");
        assert!(html.contains("id=\"score-error\""), "{html}");
    }
    // Without the CSRF token: refused.
    let forged = p
        .http
        .post(format!("{}{path}", p.base))
        .header("cookie", p.cookie_header())
        .form(&[("score", "1")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.count("desk_surveys WHERE score IS NOT NULL").await, 0);
    let done = p
        .post(&path, &[("score", "5"), ("comment", "助かりました")])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), path);
    let html = p.get(&path).await.text().await.expect("html");
    assert!(html.contains("id=\"survey-thanks\""), "{html}");
    assert!(html.contains("助かりました"));
    let again = p.post(&path, &[("score", "1")]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    // An unknown link: a page that says so.
    let gone = p.get("/support/surveys/ksv_unknown").await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    // The agent reads the rating on the ticket's timeline.
    let mut console = Pages::new(&t).await;
    console
        .sign_in("agent.page@example.jp", "staff password 1")
        .await;
    let ticket = console
        .get(&format!("/desk/tickets/{}", s.reference))
        .await
        .text()
        .await
        .expect("html");
    assert!(ticket.contains("Requester rated 5"), "{ticket}");
    assert!(ticket.contains("助かりました"));
}
both!(the_link_page_takes_one_answer_signed_out);

async fn the_requester_rates_from_the_ticket_page(t: TestApp) {
    t.signed_up("own@example.jp", PASSWORD).await;
    let requester = t.signed_up("rater@example.jp", PASSWORD).await;
    let agent = t.staff("rater.agent@example.jp", "agent").await;
    let reference = open(&t, &requester, "ログインできない").await;
    let path = format!("/support/tickets/{reference}/satisfaction");
    let mut p = Pages::new(&t).await;
    p.sign_in("rater@example.jp", PASSWORD).await;
    let early = p.get(&path).await.text().await.expect("html");
    assert!(early.contains("id=\"survey-none\""), "{early}");
    solve(&t, &agent, &reference, "rater@example.jp").await;
    let ticket = p
        .get(&format!("/support/tickets/{reference}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(ticket.contains("id=\"ticket-rate\""), "{ticket}");
    let done = p.post(&path, &[("score", "4"), ("comment", "")]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let html = p.get(&path).await.text().await.expect("html");
    assert!(html.contains("id=\"survey-thanks\""), "{html}");
    // Someone else: the ticket does not exist for them.
    let mut other = Pages::new(&t).await;
    other.sign_in("own@example.jp", PASSWORD).await;
    assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND);
    let refused = other.post(&path, &[("score", "1")]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        crate::support::scalar(&t, "SELECT score FROM desk_surveys").await,
        4
    );
}
both!(the_requester_rates_from_the_ticket_page);

async fn supervisors_see_the_report_page(t: TestApp) {
    let s = solved(&t, "chart@example.jp").await;
    let (status, _) = t
        .post(
            &format!("/api/v1/desk/surveys/{}", s.token),
            serde_json::json!({ "score": 5 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    t.staff("chart.supervisor@example.jp", "supervisor").await;
    let mut p = Pages::new(&t).await;
    p.sign_in("chart.supervisor@example.jp", "staff password 1")
        .await;
    let html = p
        .get("/desk/reports/satisfaction?by=agent")
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("id=\"survey-table\""), "{html}");
    assert!(html.contains("id=\"survey-distribution\""), "{html}");
    assert!(html.contains("agent.chart@example.jp"), "{html}");
    assert!(html.contains("CSAT 100"), "{html}");
    let bad = p
        .get("/desk/reports/satisfaction?from=2026-03-01&to=2026-01-01")
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // An agent below supervisor: the page is not there.
    let mut agent = Pages::new(&t).await;
    agent
        .sign_in("agent.chart@example.jp", "staff password 1")
        .await;
    let hidden = agent.get("/desk/reports/satisfaction").await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
}
both!(supervisors_see_the_report_page);
