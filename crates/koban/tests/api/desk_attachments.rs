//! Attachments through HTTP: uploads checked by content, images re-encoded
//! without their metadata, files seen only by who may see the ticket, and
//! identity documents seen only by the verifying agent and supervisors,
//! then purged. Archives are refused (see koban_policy::desk::attachment).

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";
const SECRET_EXIF: &[u8] = b"Exif\0\0GPS 35.6812N 139.7671E serial KOBAN-SECRET";

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A 40×30 PNG screenshot carrying an eXIf chunk with a location.
fn png_with_exif() -> Vec<u8> {
    let image = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 90]));
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    // After the IHDR chunk (8 signature + 25 bytes).
    let mut chunk = Vec::new();
    chunk.extend_from_slice(&(SECRET_EXIF.len() as u32).to_be_bytes());
    let mut typed = b"eXIf".to_vec();
    typed.extend_from_slice(SECRET_EXIF);
    chunk.extend_from_slice(&typed);
    chunk.extend_from_slice(&crc32(&typed).to_be_bytes());
    let mut out = png[..33].to_vec();
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[33..]);
    out
}

pub async fn upload(
    t: &TestApp,
    token: Option<&str>,
    name: &str,
    bytes: Vec<u8>,
    kind: &str,
) -> (StatusCode, Value) {
    let mut request = t
        .http
        .post(t.url("/api/v1/desk/uploads"))
        .query(&[("filename", name), ("kind", kind)])
        .header("content-type", "application/octet-stream")
        .body(bytes);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    t.send(request).await
}

fn digits(reference: &Value) -> String {
    reference
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

async fn download(t: &TestApp, token: &str, path: &str) -> reqwest::Response {
    t.http
        .get(t.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn a_screenshot_and_a_log_travel_with_the_ticket(t: TestApp) {
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    let other = t.signed_up("other@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let png = png_with_exif();
    assert!(png.windows(12).any(|w| w == b"KOBAN-SECRET"));
    let (status, shot) = upload(&t, Some(&owner), "screen.png", png, "attachment").await;
    assert_eq!(status, StatusCode::CREATED, "{shot}");
    assert_eq!(shot["file_type"], "png");
    let log = b"2026-12-04 10:00:01 ERROR sign-in refused: account locked\n".to_vec();
    let (status, logged) = upload(
        &t,
        Some(&owner),
        "../../etc/app.log",
        log.clone(),
        "attachment",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{logged}");
    assert_eq!(logged["file_name"], "app.log");
    let (status, opened) = t
        .post_as(
            &owner,
            "/api/v1/desk/tickets",
            json!({ "subject": "Locked out", "body": "Screenshot and log attached.",
                    "attachments": [shot["token"], logged["token"]] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let reference = digits(&opened["reference"]);
    let (_, ticket) = t
        .get(Some(&owner), &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    let files = ticket["attachments"]
        .as_array()
        .expect("attachments")
        .clone();
    assert_eq!(files.len(), 2, "{ticket}");
    assert_eq!(files[0]["file_name"], "screen.png");
    assert!(files[0]["thumbnail_url"].is_string());
    assert!(files[0]["message_id"].is_i64());

    // The screenshot comes back re-encoded: a PNG without the location.
    let url = files[0]["url"].as_str().unwrap().to_string();
    let answer = download(&t, &owner, &url).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "image/png");
    assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
    assert!(answer.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    let bytes = answer.bytes().await.unwrap();
    assert!(
        !bytes.windows(12).any(|w| w == b"KOBAN-SECRET"),
        "EXIF kept"
    );
    assert!(!bytes.windows(4).any(|w| w == b"eXIf"));
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (40, 30));
    // The log as it was, as plain text.
    let answer = download(&t, &agent, files[1]["url"].as_str().unwrap()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(answer.bytes().await.unwrap().as_ref(), &log[..]);
    let thumb = download(&t, &agent, files[0]["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(thumb.status(), StatusCode::OK);
    // Someone else: the same 404 as for a file that does not exist.
    assert_eq!(
        download(&t, &other, &url).await.status(),
        StatusCode::NOT_FOUND
    );
    let missing = format!("/api/v1/desk/tickets/{reference}/attachments/999999");
    assert_eq!(
        download(&t, &owner, &missing).await.status(),
        StatusCode::NOT_FOUND
    );
    let (status, _) = t
        .get(
            Some(&other),
            &format!("/api/v1/desk/tickets/{reference}/attachments"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The ticket page lists the files with their download links.
    let page = t
        .http
        .get(t.url(&format!("/support/tickets/{reference}")))
        .header("cookie", format!("koban_session={owner}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"attachments\""), "{page}");
    // The engine escapes the link's slashes as it escapes all text.
    let escaped = url.replace('/', "&#x2f;");
    assert!(page.contains(&format!("href=\"{escaped}\"")), "{page}");
    assert!(page.contains("app.log"));

    // A token is used once.
    let (status, problem) = t
        .post_as(
            &owner,
            &format!("/api/v1/desk/tickets/{reference}/messages"),
            json!({ "body": "again", "attachments": [shot["token"]] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "attachments[0]");
    // Another account's upload cannot be attached by someone else.
    let (_, theirs) = upload(
        &t,
        Some(&other),
        "mine.txt",
        b"hello".to_vec(),
        "attachment",
    )
    .await;
    let (status, _) = t
        .post_as(
            &owner,
            &format!("/api/v1/desk/tickets/{reference}/messages"),
            json!({ "body": "theirs", "attachments": [theirs["token"]] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A reply carries its own file.
    let (_, more) = upload(
        &t,
        Some(&owner),
        "later.txt",
        b"more details".to_vec(),
        "attachment",
    )
    .await;
    let (status, added) = t
        .post_as(
            &owner,
            &format!("/api/v1/desk/tickets/{reference}/messages"),
            json!({ "body": "one more", "attachments": [more["token"]] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(t.count("desk_attachments").await, 3);
}
both!(a_screenshot_and_a_log_travel_with_the_ticket);

async fn bad_files_are_refused_and_change_nothing(t: TestApp) {
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    // An executable named as a screenshot.
    let mut elf = std::fs::read("/proc/self/exe").unwrap();
    elf.truncate(64 * 1024);
    let (status, problem) = upload(&t, Some(&owner), "screenshot.png", elf, "attachment").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "file");
    assert_eq!(problem["errors"][0]["code"], "attachment_type_refused");
    // Archives are refused, never stored or expanded.
    let zip = b"PK\x03\x04\x14\0\0\0\x08\0logs/app.log".to_vec();
    let (status, problem) = upload(&t, Some(&owner), "logs.zip", zip, "attachment").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "attachment_type_refused");
    // A text file named as a script.
    let (status, problem) = upload(
        &t,
        Some(&owner),
        "run.sh",
        b"echo hi".to_vec(),
        "attachment",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    // Over 10 MiB.
    let big = vec![b'a'; 10 * 1024 * 1024 + 1];
    let (status, problem) = upload(&t, Some(&owner), "big.log", big, "attachment").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    // Empty, and without a name.
    let (status, _) = upload(&t, Some(&owner), "empty.txt", Vec::new(), "attachment").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = t
        .send(
            t.http
                .post(t.url("/api/v1/desk/uploads"))
                .bearer_auth(&owner)
                .body("x"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.count("desk_uploads").await, 0);
    // Eleven files on one message.
    let mut tokens = Vec::new();
    for i in 0..11 {
        let (status, up) = upload(
            &t,
            Some(&owner),
            &format!("n{i}.txt"),
            format!("note {i}").into_bytes(),
            "attachment",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        tokens.push(up["token"].clone());
    }
    let (status, problem) = t
        .post_as(
            &owner,
            "/api/v1/desk/tickets",
            json!({ "subject": "Many", "body": "Many files", "attachments": tokens }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "attachment_too_many");
    // An unknown token refuses the whole ticket.
    let (status, _) = t
        .post_as(
            &owner,
            "/api/v1/desk/tickets",
            json!({ "subject": "x", "body": "y", "attachments": [tokens[0], "not-a-token"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.count("desk_tickets").await, 0);
    assert_eq!(t.count("desk_attachments").await, 0);
    // Signed out: an upload works with its token alone; a document needs a session.
    let (status, up) = upload(&t, None, "anon.txt", b"signed out".to_vec(), "attachment").await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    let (status, _) = upload(&t, None, "id.png", png_with_exif(), "identity_document").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, opened) = t
        .post(
            "/api/v1/desk/tickets",
            json!({ "subject": "x", "body": "y", "email": "anon@example.com", "attachments": [up["token"]] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    // Expired uploads are purged with their blobs.
    t.exec("UPDATE desk_uploads SET expires_at = 0").await;
    koban::desk::attachments::purge::purge(&t.app)
        .await
        .unwrap();
    assert_eq!(t.count("desk_uploads").await, 0);
}
both!(bad_files_are_refused_and_change_nothing);

async fn identity_documents_are_for_the_verifying_agent_and_expire(t: TestApp) {
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    let verifier = t.staff("verifier@example.com", "agent").await;
    let colleague = t.staff("colleague@example.com", "agent").await;
    let supervisor = t.staff("boss@example.com", "supervisor").await;
    let (_, opened) = t
        .post_as(
            &owner,
            "/api/v1/desk/tickets",
            json!({ "subject": "Lost everything", "body": "Phone and email gone." }),
        )
        .await;
    let reference = digits(&opened["reference"]);
    let base = format!("/api/v1/desk/tickets/{reference}");
    // Not asked for: the upload cannot be attached.
    let (_, early) = upload(
        &t,
        Some(&owner),
        "id.png",
        png_with_exif(),
        "identity_document",
    )
    .await;
    let (status, _) = t
        .post_as(
            &owner,
            &format!("{base}/messages"),
            json!({ "body": "my id", "attachments": [early["token"]] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Only agents ask.
    let (status, _) = t
        .post_as(&owner, &format!("{base}/document-requests"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .post_as(&verifier, &format!("{base}/document-requests"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, doc) = upload(
        &t,
        Some(&owner),
        "passport.png",
        png_with_exif(),
        "identity_document",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let (status, added) = t
        .post_as(
            &owner,
            &format!("{base}/messages"),
            json!({ "body": "Here it is", "attachments": [doc["token"]] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let (_, seen) = t.get(Some(&verifier), &base).await;
    let files = seen["attachments"].as_array().unwrap().clone();
    assert_eq!(files.len(), 1, "{seen}");
    assert_eq!(files[0]["kind"], "identity_document");
    assert!(files[0]["delete_after"].is_i64());
    let url = files[0]["url"].as_str().unwrap().to_string();
    let answer = download(&t, &verifier, &url).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(image::load_from_memory(&answer.bytes().await.unwrap()).is_ok());
    assert_eq!(
        download(&t, &supervisor, &url).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        download(&t, &colleague, &url).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        download(&t, &owner, &url).await.status(),
        StatusCode::NOT_FOUND
    );
    let (_, theirs) = t.get(Some(&colleague), &base).await;
    assert_eq!(theirs["attachments"].as_array().map(Vec::len), Some(0));
    // Sealed at rest: no stored blob is the picture.
    let blobs = t.dir.path().join("blobs");
    let stored: Vec<Vec<u8>> = walk(&blobs)
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(
        stored.iter().all(|b| !b.starts_with(b"\x89PNG")),
        "a document stored in the clear"
    );
    // After its days it goes, and the ticket says so.
    koban::desk::attachments::purge::purge(&t.app)
        .await
        .unwrap();
    assert_eq!(t.count("desk_attachments").await, 1, "not yet due");
    t.exec("UPDATE desk_attachments SET delete_after = 1").await;
    koban::desk::attachments::purge::purge(&t.app)
        .await
        .unwrap();
    assert_eq!(t.count("desk_attachments").await, 0);
    assert_eq!(
        download(&t, &verifier, &url).await.status(),
        StatusCode::NOT_FOUND
    );
    let (_, after) = t.get(Some(&verifier), &base).await;
    let kinds: Vec<&str> = after["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"identity_document_requested"), "{kinds:?}");
    assert!(kinds.contains(&"identity_document_received"), "{kinds:?}");
    assert!(kinds.contains(&"identity_document_deleted"), "{kinds:?}");
    assert!(walk(&blobs).is_empty() || stored.len() > walk(&blobs).len());
}
both!(identity_documents_are_for_the_verifying_agent_and_expire);

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The same flow with the blobs in an S3-compatible store (moto).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_live_in_an_s3_store() {
    let Some(binary) = crate::blobs::moto_binary() else {
        return;
    };
    let moto = crate::blobs::Moto::start(&binary).await;
    let url = format!(
        "s3://koban-test:koban%2Fsecret@koban-desk/files?endpoint={}&region=us-east-1",
        moto.endpoint
    );
    // The bucket, made with a request signed by the store's own credentials.
    let store =
        koban::blobs::BlobStore::from_url(&url, std::path::Path::new("/nonexistent")).unwrap();
    let koban::blobs::BlobStore::S3(s3) = &store else {
        panic!("not S3")
    };
    use object_store::signer::Signer;
    let create = s3
        .client()
        .signed_url(
            http::Method::PUT,
            &object_store::path::Path::from(""),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let made = reqwest::Client::new()
        .put(create.as_str())
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "{made:?}");

    let configured = url.clone();
    let t = TestApp::start(
        crate::support::Db::Sqlite,
        move |c: &mut koban::config::Config| {
            c.blob_store = configured;
        },
    )
    .await;
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    let (status, up) = upload(&t, Some(&owner), "shot.png", png_with_exif(), "attachment").await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    let (_, opened) = t
        .post_as(
            &owner,
            "/api/v1/desk/tickets",
            json!({ "subject": "S3", "body": "stored remotely", "attachments": [up["token"]] }),
        )
        .await;
    let reference = digits(&opened["reference"]);
    let (_, ticket) = t
        .get(Some(&owner), &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    let url = ticket["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = download(&t, &owner, &url).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(image::load_from_memory(&answer.bytes().await.unwrap()).is_ok());
    assert!(
        !t.dir.path().join("blobs").exists(),
        "nothing written locally"
    );
}

/// The support page's form carries the tokens its script uploaded.
async fn the_support_form_sends_its_files(t: TestApp) {
    let mut p = crate::security_pages::Pages::new(&t).await;
    let html = p.get("/support").await.text().await.unwrap();
    assert!(html.contains("data-upload"), "{html}");
    let (status, up) = upload(&t, None, "shot.png", png_with_exif(), "attachment").await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    let token = up["token"].as_str().unwrap().to_string();
    let response = p
        .post(
            "/support",
            &[
                ("subject", "Cannot sign in"),
                ("body", "Screenshot attached"),
                ("email", "visitor@example.com"),
                ("attachments", &token),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(t.count("desk_attachments").await, 1);
    // A token that is not one refuses the form and stores nothing more.
    let response = p
        .post(
            "/support",
            &[
                ("subject", "Again"),
                ("body", "Another"),
                ("email", "visitor@example.com"),
                ("attachments", &token),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.count("desk_tickets").await, 1);
}
both!(the_support_form_sends_its_files);
