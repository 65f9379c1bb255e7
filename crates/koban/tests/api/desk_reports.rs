//! The desk's reports through HTTP on both databases: tickets seeded
//! through the API, their instants moved by SQL to known ones, and every
//! figure checked exactly (medians, p90, attainment, backlog, triage
//! corrections), a day boundary that differs between UTC and Tokyo, bad
//! input refused with named fields, who may read, the page in Japanese
//! and formula-safe CSV.

use crate::security_pages::Pages;
use crate::support::TestApp;
use reqwest::header::{ACCEPT_LANGUAGE, COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// 2026-03-01 00:00 UTC (09:00 in Tokyo).
const MARCH_1: i64 = 1_772_323_200_000;
const FAR: i64 = 9_999_999_999_999;

/// Opens a ticket as `requester`; its id, reference and the category it got.
async fn open(
    t: &TestApp,
    requester: &str,
    subject: &str,
    category: Option<&str>,
) -> (i64, String, String) {
    let mut body = json!({ "subject": subject, "body": format!("{subject}: please help") });
    if let Some(c) = category {
        // Chosen by the requester, the form's required fields are owed.
        body["category"] = json!(c);
        body["fields"] = json!({ "contact_used": "asker@example.com" });
    }
    let (status, opened) = t.post_as(requester, "/api/v1/desk/tickets", body).await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let reference = opened["reference"]
        .as_str()
        .expect("reference")
        .replace('-', "");
    let id = crate::support::scalar(
        t,
        &format!("SELECT id FROM desk_tickets WHERE reference = '{reference}'"),
    )
    .await;
    let category = opened["category"].as_str().expect("category").to_string();
    (id, reference, category)
}

/// An agent's public reply, then moved to `at`.
async fn reply(t: &TestApp, agent: &str, reference: &str, id: i64, at: i64) {
    let (status, body) = t
        .post_as(
            agent,
            &format!("/api/v1/desk/tickets/{reference}/messages"),
            json!({ "body": "Looking into it." }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    t.exec(&format!("UPDATE desk_messages SET created_at = {at} WHERE ticket_id = {id} AND author_kind = 'agent'"))
        .await;
}

async fn patch(t: &TestApp, agent: &str, reference: &str, change: Value) {
    let (status, body) = t
        .send(
            t.http
                .patch(t.url(&format!("/api/v1/desk/tickets/{reference}")))
                .bearer_auth(agent)
                .json(&change),
        )
        .await;
    assert!(status.is_success(), "{change}: {body}");
}

/// A ticket's two clocks, replaced by known ones.
async fn clocks(t: &TestApp, id: i64, first: (&str, i64), resolution: (&str, i64)) {
    t.exec(&format!(
        "DELETE FROM desk_sla_clocks WHERE ticket_id = {id}"
    ))
    .await;
    for (metric, (state, due)) in [("first_response", first), ("resolution", resolution)] {
        t.exec(&format!(
            "INSERT INTO desk_sla_clocks (ticket_id, metric, state, target_minutes, elapsed_minutes, due_at, updated_at)
             VALUES ({id}, '{metric}', '{state}', 60, 0, {due}, 0)"
        ))
        .await;
    }
}

/// The seeded desk: five tickets around 1 March, and one long before
/// whose requester chose its category. Returns the requester, agent and
/// supervisor tokens and the category triage gave ticket A.
///
/// | ticket | created (UTC)   | channel | team    | first reply | solved         |
/// |--------|-----------------|---------|---------|-------------|----------------|
/// | E      | 28 Feb 16:00    | line    | general | —           | —              |
/// | A      | 1 Mar 01:00     | web     | general | +10 min     | 1 Mar 03:00    |
/// | B      | 1 Mar 02:00     | web     | general | +20 min     | 3 Mar 02:00    |
/// | C      | 1 Mar 03:00     | email   | general | +60 min     | —              |
/// | D      | 1 Mar 20:00     | email   | (none)  | —           | —              |
/// | F      | 20 Feb 00:00    | phone   | general | —           | —              |
///
/// 28 Feb 16:00 UTC is 1 March in Tokyo, and 1 Mar 20:00 UTC is 2 March.
async fn seed(t: &TestApp) -> (String, String, String, String) {
    let requester = t
        .signed_up("asker@example.com", "correct horse battery")
        .await;
    let agent = t.staff("agent@example.com", "agent").await;
    let supervisor = t.staff("lead@example.com", "supervisor").await;
    let a = open(t, &requester, "cannot sign in after changing phone", None).await;
    let b = open(t, &requester, "verification code never arrives", None).await;
    let c = open(t, &requester, "someone else logged into my account", None).await;
    let d = open(t, &requester, "broadcast to my followers failed", None).await;
    let e = open(t, &requester, "forgot my password", None).await;
    let f = open(t, &requester, "delete my data please", Some("privacy")).await;
    reply(t, &agent, &a.1, a.0, MARCH_1 + HOUR + 10 * MIN).await;
    reply(t, &agent, &b.1, b.0, MARCH_1 + 2 * HOUR + 20 * MIN).await;
    reply(t, &agent, &c.1, c.0, MARCH_1 + 4 * HOUR).await;
    patch(t, &agent, &a.1, json!({ "status": "solved" })).await;
    patch(t, &agent, &b.1, json!({ "status": "solved" })).await;
    // An agent moves A out of the category triage chose.
    let moved_to = if a.2 == "privacy" { "other" } else { "privacy" };
    patch(t, &agent, &a.1, json!({ "category": moved_to })).await;
    for (ticket, created, channel) in [
        (&a, MARCH_1 + HOUR, "web"),
        (&b, MARCH_1 + 2 * HOUR, "web"),
        (&c, MARCH_1 + 3 * HOUR, "email"),
        (&d, MARCH_1 + 20 * HOUR, "email"),
        (&e, MARCH_1 - 8 * HOUR, "line"),
        (&f, MARCH_1 - 9 * 24 * HOUR, "phone"),
    ] {
        t.exec(&format!(
            "UPDATE desk_tickets SET created_at = {created}, channel = '{channel}', team = 'general' WHERE id = {}",
            ticket.0
        ))
        .await;
    }
    t.exec(&format!(
        "UPDATE desk_tickets SET team = NULL WHERE id = {}",
        d.0
    ))
    .await;
    for (ticket, solved) in [(&a, MARCH_1 + 3 * HOUR), (&b, MARCH_1 + 50 * HOUR)] {
        t.exec(&format!(
            "UPDATE desk_tickets SET solved_at = {solved} WHERE id = {}",
            ticket.0
        ))
        .await;
        t.exec(&format!(
            "UPDATE desk_events SET at = {solved} WHERE ticket_id = {} AND kind = 'status'",
            ticket.0
        ))
        .await;
    }
    // First response: A, B met; C missed; D still running (pending); E
    // running past due (missed, though the SLA job has not marked it yet).
    // Resolution: A met; B missed; C, D, E running.
    clocks(t, a.0, ("met", MARCH_1), ("met", MARCH_1)).await;
    clocks(t, b.0, ("met", MARCH_1), ("breached", MARCH_1)).await;
    clocks(t, c.0, ("breached", MARCH_1), ("running", FAR)).await;
    clocks(t, d.0, ("running", FAR), ("paused", FAR)).await;
    clocks(t, e.0, ("running", MARCH_1), ("running", FAR)).await;
    (requester, agent, supervisor, a.2)
}

fn keyed(groups: &Value, field: &str) -> Vec<(String, i64)> {
    groups
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap_or("?").to_string(),
                g[field].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

async fn volume_counts_tickets_by_day_in_the_zone_asked(t: TestApp) {
    let (_, _, lead, _) = seed(&t).await;
    let utc = "/api/v1/desk/reports/volume?from=2026-03-01&to=2026-03-02";
    let (status, report) = t.get(Some(&lead), utc).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["range"]["tz"], "UTC");
    assert_eq!(report["range"]["start"], MARCH_1);
    assert_eq!(report["total"], 4);
    assert_eq!(
        keyed(&report["groups"], "tickets"),
        pairs(&[("2026-03-01", 4), ("2026-03-02", 0)])
    );
    assert_eq!(report["truncated"], false);

    // In Tokyo, E (28 Feb 16:00 UTC) falls on 1 March and D on 2 March.
    let (status, report) = t.get(Some(&lead), &format!("{utc}&tz=Asia/Tokyo")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["range"]["start"], MARCH_1 - 9 * HOUR);
    assert_eq!(
        keyed(&report["groups"], "tickets"),
        pairs(&[("2026-03-01", 4), ("2026-03-02", 1)])
    );

    let (_, report) = t
        .get(Some(&lead), &format!("{utc}&tz=Asia/Tokyo&by=channel"))
        .await;
    assert_eq!(report["by"], "channel");
    assert_eq!(
        keyed(&report["groups"], "tickets"),
        pairs(&[("email", 2), ("web", 2), ("line", 1)])
    );
}
both!(volume_counts_tickets_by_day_in_the_zone_asked);

async fn times_give_median_and_p90_per_group(t: TestApp) {
    let (_, _, lead, _) = seed(&t).await;
    let (status, report) = t
        .get(
            Some(&lead),
            "/api/v1/desk/reports/times?from=2026-03-01&to=2026-03-02&by=channel",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    // First replies after 10, 20 and 60 minutes: median 20, p90 20 + 0.8 × 40.
    let all = &report["overall"];
    assert_eq!(all["tickets"], 4);
    assert_eq!(
        all["first_response"],
        json!({ "count": 3, "median_ms": 20 * MIN, "p90_ms": 52 * MIN })
    );
    // Solved after 2 h and 48 h: median 25 h, p90 2 h + 0.9 × 46 h.
    assert_eq!(
        all["resolution"],
        json!({ "count": 2, "median_ms": 25 * HOUR, "p90_ms": 156_240_000 })
    );
    let groups = report["groups"].as_array().expect("groups");
    let web = groups.iter().find(|g| g["key"] == "web").expect("web");
    assert_eq!(
        web["first_response"],
        json!({ "count": 2, "median_ms": 15 * MIN, "p90_ms": 19 * MIN })
    );
    let email = groups.iter().find(|g| g["key"] == "email").expect("email");
    assert_eq!(
        email["first_response"],
        json!({ "count": 1, "median_ms": 60 * MIN, "p90_ms": 60 * MIN })
    );
    assert_eq!(
        email["resolution"],
        json!({ "count": 0, "median_ms": null, "p90_ms": null })
    );

    // By team (the default): D has none, the empty key.
    let (_, report) = t
        .get(
            Some(&lead),
            "/api/v1/desk/reports/times?from=2026-03-01&to=2026-03-02",
        )
        .await;
    assert_eq!(report["by"], "team");
    assert_eq!(
        keyed(&report["groups"], "tickets"),
        pairs(&[("general", 3), ("", 1)])
    );
}
both!(times_give_median_and_p90_per_group);

async fn sla_backlog_and_triage_read_the_stored_history(t: TestApp) {
    let (_, _, lead, triaged_a) = seed(&t).await;
    let range = "from=2026-03-01&to=2026-03-03&tz=Asia/Tokyo";
    let (status, report) = t
        .get(
            Some(&lead),
            &format!("/api/v1/desk/reports/sla?{range}&by=channel"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let all = &report["overall"];
    assert_eq!(
        all["first_response"],
        json!({ "met": 2, "breached": 2, "pending": 1, "attainment": 0.5 })
    );
    assert_eq!(
        all["resolution"],
        json!({ "met": 1, "breached": 1, "pending": 3, "attainment": 0.5 })
    );
    let web = report["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["key"] == "web")
        .cloned();
    let web = web.expect("web");
    assert_eq!(web["first_response"]["attainment"], 1.0);
    assert_eq!(
        web["resolution"],
        json!({ "met": 1, "breached": 1, "pending": 0, "attainment": 0.5 })
    );

    // Unsolved at the end of each Tokyo day: F, E, B, C, then D too (A
    // was solved 1 Mar 03:00 UTC, B 3 Mar 02:00 UTC = 11:00 in Tokyo).
    let (status, report) = t
        .get(
            Some(&lead),
            &format!("/api/v1/desk/reports/backlog?{range}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let open: Vec<(String, i64)> = report["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| {
            (
                p["day"].as_str().unwrap_or("?").to_string(),
                p["open"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        open,
        pairs(&[("2026-03-01", 4), ("2026-03-02", 5), ("2026-03-03", 4)])
    );

    // Triage chose for A to E; an agent corrected A; F's requester chose.
    let (status, report) = t
        .get(Some(&lead), &format!("/api/v1/desk/reports/triage?{range}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["overall"]["triaged"], 5);
    assert_eq!(report["overall"]["corrected"], 1);
    assert_eq!(report["overall"]["share"], 0.2);
    let group = report["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["key"] == triaged_a.as_str())
        .cloned();
    assert_eq!(group.expect("A's category")["corrected"], 1);
}
both!(sla_backlog_and_triage_read_the_stored_history);

async fn bad_ranges_and_strangers_are_refused(t: TestApp) {
    let (requester, agent, lead, _) = seed(&t).await;
    let path = "/api/v1/desk/reports/volume?from=2026-03-01&to=2026-03-02";
    let (status, body) = t.get(None, path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    for who in [&requester, &agent] {
        let (status, body) = t.get(Some(who), path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["type"], "/problems/forbidden");
    }
    let refused = |query: &str| format!("/api/v1/desk/reports/{query}");
    for (query, field, code) in [
        (
            "volume?from=2026-03-05&to=2026-03-01",
            "to",
            "report_range_reversed",
        ),
        (
            "times?from=2025-01-01&to=2026-01-02",
            "to",
            "report_range_too_long",
        ),
        ("sla?from=2026-02-30", "from", "not_a_date"),
        ("volume?from=yesterday", "from", "not_a_date"),
        ("backlog?tz=Mars/Olympus", "tz", "unknown_time_zone"),
        ("backlog?tz=../../etc/passwd", "tz", "unknown_time_zone"),
        ("times?by=day", "by", "not_an_option"),
        ("triage?by=team", "by", "not_an_option"),
        ("volume?colour=red", "colour", "unknown_field"),
    ] {
        let (status, body) = t.get(Some(&lead), &refused(query)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
        assert_eq!(body["errors"][0]["code"], code, "{query}: {body}");
    }
    // Several mistakes at once are named together.
    let (_, body) = t
        .get(
            Some(&lead),
            &refused("volume?from=x&to=y&tz=Nowhere&by=team"),
        )
        .await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(4), "{body}");
    // A year, leap day included, is fine.
    let (status, body) = t
        .get(
            Some(&lead),
            &refused("backlog?from=2024-01-01&to=2024-12-31"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["points"].as_array().map(Vec::len), Some(366));
}
both!(bad_ranges_and_strangers_are_refused);

/// A page as the supervisor in Tokyo reading Japanese sees it.
async fn in_tokyo(pages: &Pages, path: &str) -> reqwest::Response {
    pages
        .http
        .get(format!("{}{path}", pages.base))
        .header(
            COOKIE,
            format!("{}; koban_tz=Asia/Tokyo", pages.cookie_header()),
        )
        .header(ACCEPT_LANGUAGE, "ja")
        .send()
        .await
        .expect("page")
}

async fn the_page_draws_charts_in_japanese_and_exports_safe_csv(t: TestApp) {
    seed(&t).await;
    // A team slug written to run as a formula in a spreadsheet.
    t.exec("UPDATE desk_tickets SET team = '=HYPERLINK(\"http://evil.example\",\"x\")' WHERE channel = 'line'")
        .await;
    let mut lead = Pages::new(&t).await;
    let response = lead.sign_in("lead@example.com", "staff password 1").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = in_tokyo(
        &lead,
        "/desk/reports?from=2026-03-01&to=2026-03-02&by=channel",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(html.contains("チケット件数"), "in Japanese: {html}");
    assert!(html.contains("Asia&#x2f;Tokyo"), "the zone named: {html}");
    assert!(
        html.contains("<svg class=\"chart\" id=\"chart-volume-day\""),
        "{html}"
    );
    assert!(
        html.contains("<title>2026-03-02: 1</title>"),
        "D on 2 March in Tokyo: {html}"
    );
    assert!(
        html.contains("<polyline class=\"line\""),
        "backlog line: {html}"
    );
    assert!(
        html.contains("href=\"&#x2f;desk&#x2f;reports&#x2f;satisfaction\""),
        "links to CSAT: {html}"
    );
    assert!(!html.contains("<script src=\"http"), "nothing from a CDN");
    // Times by channel: the web tickets' median first reply is 15 minutes.
    assert!(html.contains("<td>15分</td>"), "{html}");

    let response = in_tokyo(&lead, "/desk/reports?from=2026-03-05&to=2026-03-01").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    assert!(
        html.contains("id=\"to-error\">終了日が開始日より前になっています。"),
        "{html}"
    );

    let response = in_tokyo(
        &lead,
        "/desk/reports/times.csv?from=2026-03-01&to=2026-03-02&by=team",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        disposition.contains("koban-times-team-2026-03-01-2026-03-02.csv"),
        "{disposition}"
    );
    let csv = response.text().await.expect("csv");
    let csv = csv
        .strip_prefix('\u{feff}')
        .expect("a UTF-8 byte-order mark");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("team,tickets,first_responses,first_response_median_minutes"),
        "{csv}"
    );
    assert!(
        lines.contains(&"general,3,3,20.0,52.0,2,1500.0,2604.0"),
        "{csv}"
    );
    assert!(
        lines.contains(&"\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",1,0,,,0,,"),
        "{csv}"
    );
    assert!(
        !csv.lines().any(|l| l.starts_with('=') || l.contains(",=")),
        "{csv}"
    );

    let response = in_tokyo(
        &lead,
        "/desk/reports/backlog.csv?from=2026-03-01&to=2026-03-03",
    )
    .await;
    let csv = response.text().await.expect("csv");
    assert!(
        csv.ends_with("day,open\r\n2026-03-01,4\r\n2026-03-02,5\r\n2026-03-03,4\r\n"),
        "{csv:?}"
    );
    let response = in_tokyo(&lead, "/desk/reports/nothing.csv").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Agents are refused the page and its files.
    let mut agent = Pages::new(&t).await;
    agent.sign_in("agent@example.com", "staff password 1").await;
    assert_eq!(
        agent.get("/desk/reports").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        agent.get("/desk/reports/volume.csv").await.status(),
        StatusCode::FORBIDDEN
    );
}
both!(the_page_draws_charts_in_japanese_and_exports_safe_csv);
