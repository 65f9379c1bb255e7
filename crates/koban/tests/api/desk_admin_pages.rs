//! The desk administration pages for teams, calendars and SLA policies:
//! a desk admin changes each through its forms (CSRF token included) and
//! every change is logged with who made it; bad input is explained on the
//! page and changes nothing; supervisors only read; everyone else is
//! refused; and open tickets' clocks follow a changed policy.

use crate::desk_routing::open;
use crate::security_pages::{location, Pages};
use crate::support::{eventually, scalar, TestApp};
use reqwest::StatusCode;

const PASSWORD: &str = "staff password 1";

async fn text(response: reqwest::Response) -> String {
    response.text().await.expect("html")
}

async fn account_id(t: &TestApp, identifier: &str) -> i64 {
    scalar(
        t,
        &format!("SELECT id FROM accounts WHERE email = '{identifier}'"),
    )
    .await
}

async fn admin_pages(t: &TestApp) -> (Pages, i64) {
    t.staff("routing-admin@example.com", "admin").await;
    let mut p = Pages::new(t).await;
    p.sign_in("routing-admin@example.com", PASSWORD).await;
    (p, account_id(t, "routing-admin@example.com").await)
}

/// Changes recorded as made by `actor`, of `entity`.
async fn changes_by(t: &TestApp, actor: i64, entity: &str) -> i64 {
    t.count(&format!(
        "desk_admin_changes WHERE actor_account_id = {actor} AND entity = '{entity}'"
    ))
    .await
}

async fn posted(p: &mut Pages, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = p.post(path, form).await;
    let status = response.status();
    let next = if status == StatusCode::SEE_OTHER {
        location(&response)
    } else {
        String::new()
    };
    let html = text(response).await;
    if status == StatusCode::SEE_OTHER {
        return (status, text(p.get(&next).await).await);
    }
    (status, html)
}

async fn a_desk_admin_manages_teams_and_members_from_the_page(t: TestApp) {
    let (mut p, admin) = admin_pages(&t).await;
    t.staff("ann@example.com", "agent").await;
    let ann = account_id(&t, "ann@example.com").await;
    let html = text(p.get("/desk/admin/teams").await).await;
    assert!(html.contains("General support") && html.contains("id=\"team-form\""));
    let team = [
        ("mode", "create"),
        ("slug", "tokyo"),
        ("name", "Tokyo desk"),
        ("languages", "ja"),
        ("regions", "jp"),
        ("categories", "cannot_sign_in, other"),
        ("calendar_id", "1"),
    ];
    let (status, html) = posted(&mut p, "/desk/admin/teams", &team).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(html.contains("Tokyo desk") && html.contains("id=\"notice\""));
    assert!(html.contains("JP"), "regions are stored upper-case");
    // Edit: the form comes filled, and the change is saved.
    let html = text(p.get("/desk/admin/teams?edit=tokyo").await).await;
    assert!(html.contains("value=\"update\"") && html.contains("value=\"Tokyo desk\""));
    let edit = [
        ("mode", "update"),
        ("slug", "tokyo"),
        ("name", "Tokyo line"),
        ("languages", "ja"),
        ("calendar_id", "1"),
        ("enterprise_queue", "on"),
    ];
    let (status, _) = posted(&mut p, "/desk/admin/teams", &edit).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.count("desk_teams WHERE slug = 'tokyo' AND name = 'Tokyo line' AND enterprise_queue = 1")
            .await,
        1
    );
    // Members: added by email, changed by number, removed.
    let members = "/desk/admin/teams/tokyo/members";
    let form = [
        ("agent", "ann@example.com"),
        ("cap", "5"),
        ("available", "on"),
    ];
    let (status, html) = posted(&mut p, members, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("ann@example.com"));
    let ann_text = ann.to_string();
    let (status, _) = posted(&mut p, members, &[("agent", &ann_text), ("cap", "7")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let row = format!("desk_team_members WHERE account_id = {ann} AND cap = 7 AND available = 0");
    assert_eq!(t.count(&row).await, 1);
    let remove = format!("{members}/{ann}/remove");
    assert_eq!(posted(&mut p, &remove, &[]).await.0, StatusCode::SEE_OTHER);
    assert_eq!(t.count("desk_team_members").await, 0);
    // The default team stays: the service's refusal, shown on the page.
    let (status, html) = posted(&mut p, "/desk/admin/teams/general/delete", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("id=\"alert\"") && html.contains("General support"));
    let (status, html) = posted(&mut p, "/desk/admin/teams/tokyo/delete", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!html.contains("Tokyo line"));
    assert_eq!(t.count("desk_teams").await, 1);
    // Every change, with who made it.
    assert_eq!(changes_by(&t, admin, "team").await, 3);
    assert_eq!(changes_by(&t, admin, "team_member").await, 3);
}
both!(a_desk_admin_manages_teams_and_members_from_the_page);

async fn bad_team_input_is_explained_and_changes_nothing(t: TestApp) {
    let (mut p, _) = admin_pages(&t).await;
    t.staff("ann@example.com", "agent").await;
    let base = |slug: &'static str, name: &'static str, calendar: &'static str| {
        [
            ("mode", "create"),
            ("slug", slug),
            ("name", name),
            ("calendar_id", calendar),
        ]
    };
    for (form, status, marker) in [
        (
            base("osaka", "  ", "1"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name-error",
        ),
        (
            base("Osaka!", "Osaka", "1"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "slug-error",
        ),
        (
            base("osaka", "Osaka", "x"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "calendar_id-error",
        ),
        (
            base("osaka", "Osaka", "999"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "calendar_id-error",
        ),
        (
            base("general", "Again", "1"),
            StatusCode::CONFLICT,
            "id=\"alert\"",
        ),
    ] {
        let (got, html) = posted(&mut p, "/desk/admin/teams", &form).await;
        assert_eq!(got, status, "{form:?}");
        assert!(html.contains(marker), "{form:?}: {html}");
    }
    let mut regions = base("osaka", "Osaka", "1").to_vec();
    regions.push(("regions", "JPN"));
    let (got, html) = posted(&mut p, "/desk/admin/teams", &regions).await;
    assert_eq!(got, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("regions-error") && html.contains("value=\"JPN\""));
    let members = "/desk/admin/teams/general/members";
    for (form, marker) in [
        (
            [("agent", "nobody@example.com"), ("cap", "5")],
            "agent-error",
        ),
        ([("agent", "ann@example.com"), ("cap", "-1")], "cap-error"),
        ([("agent", "ann@example.com"), ("cap", "many")], "cap-error"),
    ] {
        let (got, html) = posted(&mut p, members, &form).await;
        assert_eq!(got, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        assert!(html.contains(marker), "{form:?}");
    }
    // Without the form's CSRF token: refused.
    let response = p
        .http
        .post(format!("{}/desk/admin/teams", p.base))
        .header(reqwest::header::COOKIE, p.cookie_header())
        .form(&base("osaka", "Osaka", "1"))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.count("desk_teams").await, 1);
    assert_eq!(t.count("desk_team_members").await, 0);
    assert_eq!(t.count("desk_admin_changes").await, 0);
    // A name is text, never markup.
    let payload = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let (got, html) = posted(&mut p, "/desk/admin/teams", &base("xss", payload, "1")).await;
    assert_eq!(got, StatusCode::SEE_OTHER);
    assert!(!html.contains("<script>alert(1)") && !html.contains("<img src=x"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{html}");
}
both!(bad_team_input_is_explained_and_changes_nothing);

async fn a_desk_admin_edits_calendars_and_bad_hours_are_explained(t: TestApp) {
    let (mut p, admin) = admin_pages(&t).await;
    let mut form = vec![
        ("name", "Tokyo office"),
        ("zone", "Asia/Tokyo"),
        ("mon", "09:00-18:00"),
        ("tue", "09:00-12:00, 13:00-18:00"),
        ("wed", "24h"),
        ("thu", "22:00-06:00"),
        ("fri", "closed"),
        ("holidays", "2026-01-01\r\n2026-01-12\r\n"),
    ];
    let (status, html) = posted(&mut p, "/desk/admin/calendars", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(html.contains("Tokyo office") && html.contains("22:00-06:00"));
    let id = scalar(
        &t,
        "SELECT id FROM desk_calendars WHERE name = 'Tokyo office'",
    )
    .await;
    let spec: String = {
        use sqlx::Row;
        let row = sqlx::query(&format!("SELECT spec FROM desk_calendars WHERE id = {id}"))
            .fetch_one(t.app.store.read())
            .await
            .expect("spec");
        row.try_get("spec").expect("spec")
    };
    assert!(
        spec.contains("\"2026-01-12\"") && spec.contains("\"24h\""),
        "{spec}"
    );
    // Edit: the form comes filled; new hours replace the old.
    let html = text(p.get(&format!("/desk/admin/calendars?edit={id}")).await).await;
    assert!(html.contains("2026-01-12") && html.contains("value=\"09:00-12:00, 13:00-18:00\""));
    let id_text = id.to_string();
    form[0] = ("id", &id_text);
    form[2] = ("mon", "08:00-17:00");
    let (status, html) = posted(&mut p, "/desk/admin/calendars", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("08:00-17:00"));
    let saved = changes_by(&t, admin, "calendar").await;
    assert_eq!(saved, 2);
    // Bad input: each reason under its own field, nothing written.
    for (name, value, marker) in [
        ("zone", "Mars/Olympus", "zone-error"),
        ("zone", "", "zone-error"),
        ("mon", "9 to 5", "mon-error"),
        ("tue", "25:00-26:00", "tue-error"),
        ("holidays", "2026-13-45", "holidays-error"),
        ("holidays", "next friday", "holidays-error"),
    ] {
        let mut bad = form.clone();
        bad.retain(|(k, _)| *k != name);
        bad.push((name, value));
        let (status, html) = posted(&mut p, "/desk/admin/calendars", &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}={value}");
        assert!(html.contains(marker), "{name}={value}: {html}");
    }
    let mut overlap = form.clone();
    overlap.push(("fri", "01:00-05:00"));
    overlap.retain(|(k, v)| *k != "fri" || *v != "closed");
    let (status, html) = posted(&mut p, "/desk/admin/calendars", &overlap).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("week-error"),
        "Thursday night runs into Friday"
    );
    let (status, html) = posted(
        &mut p,
        "/desk/admin/calendars",
        &[("name", ""), ("zone", "UTC")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("name-error"));
    assert_eq!(changes_by(&t, admin, "calendar").await, saved);
    assert_eq!(t.count("desk_calendars").await, 2);
    // The API says the same: a bad holiday is about the holidays.
    let token = t.staff("api-admin@example.com", "admin").await;
    let (status, body) = crate::desk_routing::put(
        &t,
        &token,
        &format!("/api/v1/desk/admin/calendars/{id}"),
        serde_json::json!({ "name": "Tokyo office", "spec": { "zone": "Asia/Tokyo", "holidays": ["2026-13-45"] } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "spec.holidays", "{body}");
    assert_eq!(body["errors"][0]["code"], "not_a_date", "{body}");
}
both!(a_desk_admin_edits_calendars_and_bad_hours_are_explained);

fn due(ticket: &serde_json::Value, metric: &str) -> Option<i64> {
    ticket["sla"]
        .as_array()?
        .iter()
        .find(|c| c["metric"] == metric)?["due_at"]
        .as_i64()
}

async fn sla_policies_change_from_the_page_and_open_clocks_follow(t: TestApp) {
    let (mut p, admin) = admin_pages(&t).await;
    let token = t.staff("reader@example.com", "admin").await;
    let reference = open(&t, "kenji@example.jp", "en", "Cannot sign in", "Locked out").await;
    let path = format!("/api/v1/desk/tickets/{}", reference.replace('-', ""));
    let (_, ticket) = t.get(Some(&token), &path).await;
    let before = due(&ticket, "first_response").expect("first response clock");
    let html = text(p.get("/desk/admin/sla").await).await;
    assert!(html.contains("name=\"policies[3].first_response\" type=\"text\" value=\"1440\""));
    let priority = ticket["priority"].as_str().expect("priority").to_string();
    let policy = |first: &'static str| {
        vec![
            ("rows", "2".to_string()),
            ("policies[0].priority", priority.clone()),
            ("policies[0].first_response", first.to_string()),
            ("policies[0].resolution", "48h".to_string()),
            ("policies[0].warn_percent", "80".to_string()),
            ("policies[0].on_breach.notify_supervisor", "on".to_string()),
        ]
    };
    // Bad targets are explained under the field and change nothing.
    for (first, marker) in [
        ("-5", "p0-first_response-error"),
        ("999999999", "p0-first_response-error"),
        ("soon", "p0-first_response-error"),
    ] {
        let form = policy(first);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, html) = posted(&mut p, "/desk/admin/sla", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{first}");
        assert!(html.contains(marker), "{first}: {html}");
    }
    assert_eq!(t.count("desk_sla_policies").await, 4);
    assert_eq!(changes_by(&t, admin, "sla_policies").await, 0);
    let form = policy("1h");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html) = posted(&mut p, "/desk/admin/sla", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(html.contains("value=\"60\"") && html.contains("value=\"2880\""));
    assert_eq!(t.count("desk_sla_policies").await, 1);
    assert_eq!(changes_by(&t, admin, "sla_policies").await, 1);
    // The open ticket's clock follows without a change of its own.
    let created = scalar(
        &t,
        &format!("SELECT created_at FROM desk_tickets WHERE reference = '{reference}'"),
    )
    .await;
    let moved = eventually("the clock to follow the new policy", || async {
        let (_, ticket) = t.get(Some(&token), &path).await;
        due(&ticket, "first_response").filter(|d| *d != before)
    })
    .await;
    assert_eq!(moved, created + 60 * 60_000);
}
both!(sla_policies_change_from_the_page_and_open_clocks_follow);

async fn only_desk_admins_change_and_supervisors_only_read(t: TestApp) {
    t.staff("sup@example.com", "supervisor").await;
    t.staff("agent@example.com", "agent").await;
    t.signed_up("user@example.com", "plum blossom 2026").await;
    let pages = [
        "/desk/admin/teams",
        "/desk/admin/calendars",
        "/desk/admin/sla",
    ];
    let posts: [(&str, &[(&str, &str)]); 5] = [
        (
            "/desk/admin/teams",
            &[
                ("mode", "create"),
                ("slug", "x"),
                ("name", "X"),
                ("calendar_id", "1"),
            ],
        ),
        ("/desk/admin/teams/general/delete", &[]),
        (
            "/desk/admin/teams/general/members",
            &[("agent", "agent@example.com"), ("cap", "3")],
        ),
        ("/desk/admin/calendars", &[("name", "n"), ("zone", "UTC")]),
        ("/desk/admin/sla", &[("rows", "0")]),
    ];
    let mut visitor = Pages::new(&t).await;
    for page in pages {
        let response = visitor.get(page).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{page}");
        assert!(location(&response).starts_with("/signin"), "{page}");
    }
    for (who, password, reads) in [
        ("sup@example.com", PASSWORD, true),
        ("agent@example.com", PASSWORD, false),
        ("user@example.com", "plum blossom 2026", false),
    ] {
        let mut p = Pages::new(&t).await;
        p.sign_in(who, password).await;
        for page in pages {
            let response = p.get(page).await;
            let expected = if reads {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(response.status(), expected, "{who} {page}");
            if reads {
                let html = text(response).await;
                assert!(!html.contains("id=\"team-form\"") && !html.contains("id=\"sla-submit\""));
            }
        }
        if reads {
            let html = text(p.get("/desk").await).await;
            assert!(
                html.contains("id=\"nav-admin-teams\""),
                "linked from the console: {html}"
            );
        }
        for (path, form) in posts {
            assert_eq!(
                p.post(path, form).await.status(),
                StatusCode::FORBIDDEN,
                "{who} {path}"
            );
        }
    }
    assert_eq!(t.count("desk_teams").await, 1);
    assert_eq!(t.count("desk_admin_changes").await, 0);
    assert_eq!(t.count("desk_sla_policies").await, 4);
}
both!(only_desk_admins_change_and_supervisors_only_read);
