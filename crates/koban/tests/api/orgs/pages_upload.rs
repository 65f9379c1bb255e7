//! A CSV file chosen on the members page (a multipart form): a Shift_JIS
//! file from Excel is read as it is, the CSRF token travels inside the
//! multipart body and a form without it changes nothing.

use super::*;
use crate::security_pages::Pages;
use crate::support::TestApp;
use koban_policy::org::import::Charset;

const BOUNDARY: &str = "koban-test-boundary-7f3a";

/// A multipart body: text fields, then one file.
fn multipart(fields: &[(&str, &str)], file: (&str, &[u8])) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    let (name, bytes) = file;
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"members.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(t: &TestApp, pages: &Pages, org: i64, body: Vec<u8>) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(t.url(&format!("/orgs/{org}/members/import")))
        .header("cookie", pages.cookie_header())
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("post");
    let status = response.status();
    (status, response.text().await.expect("html"))
}

async fn a_shift_jis_file_is_imported_from_the_members_page(t: TestApp) {
    let owner = t.signed_up("up-owner@example.jp", PASSWORD).await;
    let org = new_org(&t, &owner, "Upload KK").await;
    let pages = pages_of(&t, "up-owner@example.jp").await;
    let csv =
        "email,name,roles\r\nhanako@example.jp,山田 花子,auditor\r\ntaro@example.jp,鈴木 太郎,\r\n";
    let (bytes, _, unmappable) = Charset::ShiftJis.encoding().encode(csv);
    assert!(!unmappable);
    let csrf = pages.csrf();

    // Without the token in the body: refused, nothing invited.
    let body = multipart(&[("dry_run", "on")], ("csv_file", &bytes));
    let (status, _) = upload(&t, &pages, org, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body = multipart(
        &[("csrf_token", "not-the-token-0000000000")],
        ("csv_file", &bytes),
    );
    assert_eq!(upload(&t, &pages, org, body).await.0, StatusCode::FORBIDDEN);
    assert_eq!(t.count("org_invites").await, 0);

    // A check first: the names read right, nothing sent.
    let body = multipart(
        &[("csrf_token", &csrf), ("dry_run", "on")],
        ("csv_file", &bytes),
    );
    let (status, html) = upload(&t, &pages, org, body).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("id=\"import-rows\"") && html.contains("hanako@example.jp"),
        "{html}"
    );
    assert_eq!(t.count("org_invites").await, 0);

    // Then for real.
    let body = multipart(&[("csrf_token", &csrf)], ("csv_file", &bytes));
    let (status, html) = upload(&t, &pages, org, body).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        t.count(&format!("org_invites WHERE org_id = {org}")).await,
        2
    );
    assert_eq!(
        t.count("org_invites WHERE display_name = '山田 花子' AND roles = 'auditor'")
            .await,
        1,
        "the Shift_JIS name read as written"
    );

    // A file that is no CSV at all is explained and changes nothing.
    let body = multipart(
        &[("csrf_token", &csrf)],
        ("csv_file", b"\x00\x01\x02\xff\xfe"),
    );
    let (status, html) = upload(&t, &pages, org, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"csv-error\""), "{html}");
    assert_eq!(t.count("org_invites").await, 2);
}
both!(a_shift_jis_file_is_imported_from_the_members_page);
