//! Inviting from a CSV file through the API: legacy encodings, a dry run,
//! the same file twice, and files refused whole with a row-by-row report.

use super::*;
use crate::support::TestApp;
use koban_policy::org::import::Charset;
use reqwest::StatusCode;

async fn post_csv(
    t: &TestApp,
    token: &str,
    org: i64,
    query: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    t.send(
        t.http
            .post(t.url(&format!("/api/v1/orgs/{org}/imports{query}")))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(bytes),
    )
    .await
}

fn encoded(charset: Charset, text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = charset.encoding().encode(text);
    assert!(!unmappable, "{text} fits {charset:?}");
    bytes.into_owned()
}

async fn a_shift_jis_file_invites_everyone_once(t: TestApp) {
    let owner = t.signed_up("csv-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "山田商店").await;
    let file = encoded(
        Charset::ShiftJis,
        "email,phone,name,roles\r\nhanako@example.jp,,山田 花子,auditor\r\n,090-1234-5678,佐藤 一郎,\r\ncsv-owner@example.com,,オーナー,\r\n",
    );
    let invites_before = t.count("org_invites").await;

    let (status, dry) = post_csv(&t, &owner, org, "?region=JP&dry_run=true", file.clone()).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["charset"], "shift_jis");
    assert_eq!(dry["applied"], false);
    assert_eq!(dry["invited"], 2);
    assert_eq!(dry["skipped"], 1, "the owner is a member already: {dry}");
    assert_eq!(
        t.count("org_invites").await,
        invites_before,
        "a dry run changes nothing"
    );

    let (status, done) = post_csv(&t, &owner, org, "?region=JP", file.clone()).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["applied"], true);
    let outcomes: Vec<(&str, &str)> = done["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["contact"].as_str().unwrap_or(""),
                r["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("hanako@example.jp", "invited"),
            ("+819012345678", "invited"),
            ("csv-owner@example.com", "already_member"),
        ]
    );
    let (_, pending) = t
        .get(Some(&owner), &format!("/api/v1/orgs/{org}/invites"))
        .await;
    let names: Vec<&str> = pending["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["display_name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["佐藤 一郎", "山田 花子"]);
    let message = t
        .newest_delivery_of("org_invite", "hanako@example.jp")
        .await;
    assert!(message.contains("山田商店"), "{message}");

    // The same file again: nobody is invited twice.
    let deliveries = t.count("deliveries").await;
    let (status, again) = post_csv(&t, &owner, org, "?region=JP", file).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (again["invited"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(3)),
        "{again}"
    );
    assert_eq!(t.count("deliveries").await, deliveries);
    assert_eq!(
        crate::support::scalar(&t, &format!("SELECT COUNT(*) FROM audit_entries WHERE scope = 'org:{org}' AND action = 'members.imported'")).await,
        2
    );
}
both!(a_shift_jis_file_invites_everyone_once);

async fn a_file_with_a_bad_row_is_refused_whole_with_every_rows_reason(t: TestApp) {
    let owner = t.signed_up("csv-owner2@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Refusals").await;
    let admin = member(&t, &owner, org, "csv-admin@example.com", &["admin"]).await;
    let plain = member(&t, &owner, org, "csv-plain@example.com", &["member"]).await;
    let invites_before = t.count("org_invites").await;

    // GBK, with a BOM-less legacy encoding guessed, and four kinds of bad rows.
    let file = encoded(
        Charset::Gbk,
        "email,name,roles\nok@example.cn,张伟,\nOK@example.cn,重复,\nformula@example.cn,=HYPERLINK(\"x\"),\nrole@example.cn,李娜,emperor\nnot-an-address,王芳,\n",
    );
    let (status, body) = post_csv(&t, &owner, org, "?charset=gbk", file).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(kind(&body), "/problems/org-import-rows-refused");
    let problems: Vec<(u64, &str)> = body["report"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| Some((r["line"].as_u64()?, r["problem"].as_str()?)))
        .collect();
    assert_eq!(
        problems,
        [
            (3, "duplicate"),
            (4, "formula"),
            (5, "unknown_role"),
            (6, "bad_email")
        ]
    );
    assert_eq!(body["report"]["applied"], false);

    // An admin's file cannot make owners.
    let (status, body) = post_csv(
        &t,
        &admin,
        org,
        "",
        b"email,roles\nboss@example.com,owner\n".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["report"]["rows"][0]["problem"], "permission_not_held");
    // A plain member imports nothing; unreadable files are said so.
    let (status, _) = post_csv(&t, &plain, org, "", b"email\nx@example.com\n".to_vec()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (query, bytes, reason) in [
        ("", Vec::new(), "import_empty"),
        (
            "",
            b"mail,tel\nx@example.com,1\n".to_vec(),
            "import_missing_header",
        ),
        (
            "",
            b"email,salary\nx@example.com,1\n".to_vec(),
            "import_unknown_column",
        ),
        ("", b"email\n".to_vec(), "import_no_rows"),
        (
            "?charset=utf-8",
            vec![b'e', b'm', 0xff, 0xfe, b'\n'],
            "import_encoding",
        ),
    ] {
        let (status, body) = post_csv(&t, &owner, org, query, bytes).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["errors"][0]["code"], reason, "{body}");
    }
    let (status, _) = post_csv(&t, &owner, org, "?charset=klingon", b"email\n".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // 100,001 rows: refused before anything else is read.
    let mut big = String::from("email\n");
    for i in 0..100_001 {
        big.push_str(&format!("p{i}@example.com\n"));
    }
    let (status, body) = post_csv(&t, &owner, org, "?dry_run=true", big.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["code"], "import_too_many_rows");
    assert_eq!(
        t.count("org_invites").await,
        invites_before,
        "nothing was invited"
    );
}
both!(a_file_with_a_bad_row_is_refused_whole_with_every_rows_reason);
