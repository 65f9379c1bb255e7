//! The supervisors' report through the API: counts per score, CSAT and
//! median by agent, team, channel and category; bad ranges refused; the
//! CSV export safe in a spreadsheet; who may read it.

use super::{open, solve, PASSWORD};
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn today(zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).expect("zone");
    jiff::Timestamp::now().to_zoned(tz).date().to_string()
}

/// Three solved tickets of one agent, answered 5 and 2 and not at all.
async fn rated(t: &TestApp) -> (String, String) {
    let requester = t.signed_up("report@example.jp", PASSWORD).await;
    let agent = t.staff("report.agent@example.jp", "agent").await;
    let supervisor = t.staff("report.supervisor@example.jp", "supervisor").await;
    let answers = [
        Some((5, "=HYPERLINK(\"http://evil\")")),
        Some((2, "遅い")),
        None,
    ];
    for (i, answer) in answers.into_iter().enumerate() {
        let reference = open(t, &requester, &format!("件名 {i}")).await;
        solve(t, &agent, &reference, "report@example.jp").await;
        if let Some((score, comment)) = answer {
            let (status, body) = t
                .post_as(
                    &requester,
                    &format!("/api/v1/desk/tickets/{reference}/satisfaction"),
                    json!({ "score": score, "comment": comment }),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    (supervisor, agent)
}

async fn report(t: &TestApp, token: &str, query: &str) -> (StatusCode, Value) {
    t.get(
        Some(token),
        &format!("/api/v1/desk/reports/satisfaction?{query}"),
    )
    .await
}

async fn supervisors_read_satisfaction_by_group(t: TestApp) {
    let (supervisor, agent) = rated(&t).await;
    let day = today("Asia/Tokyo");
    let range = format!("from={day}&to={day}&tz=Asia/Tokyo");
    let (status, by_agent) = report(&t, &supervisor, &format!("{range}&by=agent")).await;
    assert_eq!(status, StatusCode::OK, "{by_agent}");
    let total = &by_agent["total"];
    assert_eq!(total["counts"], json!([0, 1, 0, 0, 1]), "{by_agent}");
    assert_eq!(total["answered"], 2);
    assert_eq!(total["sent"], 3);
    assert_eq!(total["csat_percent"], 50.0);
    assert_eq!(total["median"], 3.5);
    assert_eq!(total["response_percent"], 66.7);
    let rows = by_agent["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{by_agent}");
    assert_eq!(rows[0]["name"], "report.agent@example.jp");
    assert_eq!(by_agent["time_zone"], "Asia/Tokyo");
    for by in ["team", "channel", "category"] {
        let (status, grouped) = report(&t, &supervisor, &format!("{range}&by={by}")).await;
        assert_eq!(status, StatusCode::OK, "{grouped}");
        assert_eq!(grouped["total"]["sent"], 3, "{by}: {grouped}");
    }
    // Yesterday had none.
    let (_, empty) = report(&t, &supervisor, "from=2020-01-01&to=2020-01-31").await;
    assert_eq!(empty["total"]["sent"], 0);
    assert!(empty["total"]["csat_percent"].is_null());
    // Agents and users may not read it.
    let (status, _) = report(&t, &agent, &range).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let user = t.signed_up("nosy@example.jp", PASSWORD).await;
    let (status, _) = report(&t, &user, &range).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .get(None, &format!("/api/v1/desk/reports/satisfaction?{range}"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
both!(supervisors_read_satisfaction_by_group);

async fn bad_report_ranges_are_refused(t: TestApp) {
    let supervisor = t.staff("range.supervisor@example.jp", "supervisor").await;
    for (query, field, code) in [
        ("from=2026-13-01&to=2026-12-31", "from", "not_a_date"),
        ("from=yesterday&to=2026-12-31", "from", "not_a_date"),
        ("from=2026-01-01&to=2026-02-30", "to", "not_a_date"),
        ("from=2026-03-01&to=2026-02-01", "to", "out_of_range"),
        ("from=2024-01-01&to=2026-01-01", "to", "out_of_range"),
        (
            "from=2026-01-01&to=2026-01-31&by=day",
            "by",
            "invalid_value",
        ),
        (
            "from=2026-01-01&to=2026-01-31&tz=Mars/Olympus",
            "tz",
            "unknown_time_zone",
        ),
        ("to=2026-01-31", "from", "required"),
    ] {
        for path in ["", "/export"] {
            let (status, problem) = t
                .get(
                    Some(&supervisor),
                    &format!("/api/v1/desk/reports/satisfaction{path}?{query}"),
                )
                .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{query} {problem}"
            );
            assert_eq!(problem["errors"][0]["field"], field, "{query} {problem}");
            assert_eq!(problem["errors"][0]["code"], code, "{query} {problem}");
        }
    }
}
both!(bad_report_ranges_are_refused);

async fn the_export_is_safe_in_a_spreadsheet(t: TestApp) {
    let (supervisor, agent) = rated(&t).await;
    let day = today("UTC");
    let url = format!("/api/v1/desk/reports/satisfaction/export?from={day}&to={day}");
    let response = t
        .http
        .get(t.url(&url))
        .bearer_auth(&supervisor)
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/csv"));
    let csv = response.text().await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("reference,sent_at,answered_at,score,comment"));
    // The formula is text: quoted by `'` and by CSV's quotes.
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{csv}"
    );
    assert!(csv.contains(",2,遅い,"), "{csv}");
    let (status, _) = t.get(Some(&agent), &url).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
both!(the_export_is_safe_in_a_spreadsheet);
