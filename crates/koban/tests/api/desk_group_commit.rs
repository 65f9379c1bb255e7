//! New tickets committed together (`desk/tickets/committer.rs`): many
//! openings at once each get their own reference and every row of their
//! own, and an opening refused inside a shared transaction leaves the
//! others stored and nothing of itself.

use crate::desk_attachments::upload;
use crate::support::{scalar, Db, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Opens `n` signed-out tickets at once; the answers in order.
async fn open_at_once(t: &TestApp, bodies: Vec<Value>) -> Vec<(StatusCode, Value)> {
    let requests = bodies
        .into_iter()
        .map(|body| async move { t.post("/api/v1/desk/tickets", body).await });
    futures_util::future::join_all(requests).await
}

fn ticket(i: usize) -> Value {
    json!({
        "subject": format!("Code never came {i}"),
        "body": format!("The verification code for sign-in {i} did not arrive."),
        "email": format!("group{i}@example.com"),
        "time_zone": "Asia/Tokyo",
    })
}

async fn many_openings_at_once_each_get_their_own_ticket(t: TestApp) {
    let answers = open_at_once(&t, (0..64).map(ticket).collect()).await;
    let mut references = BTreeSet::new();
    for (status, opened) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{opened}");
        references.insert(opened["reference"].as_str().unwrap().to_string());
    }
    assert_eq!(references.len(), 64, "references repeat: {references:?}");
    assert_eq!(t.count("desk_tickets").await, 64);
    assert_eq!(t.count("desk_contacts").await, 64);
    // Each with its message, its created and routed events, its clocks and
    // its acknowledgement, under its own requester.
    // groupN@example.com wrote "Code never came N".
    let mixed = scalar(
        &t,
        "SELECT COUNT(*) FROM desk_tickets t JOIN desk_contacts c ON c.id = t.requester_contact_id
         WHERE t.subject <> 'Code never came ' || SUBSTR(c.email, 6, LENGTH(c.email) - 17)",
    )
    .await;
    assert_eq!(mixed, 0, "a ticket stored under another's requester");
    for (table, least) in [("desk_messages", 1), ("desk_events", 2)] {
        let lacking = scalar(
            &t,
            &format!(
                "SELECT COUNT(*) FROM desk_tickets t
                 WHERE (SELECT COUNT(*) FROM {table} x WHERE x.ticket_id = t.id) < {least}"
            ),
        )
        .await;
        assert_eq!(lacking, 0, "tickets lacking rows in {table}");
    }
    let clocks = scalar(&t, "SELECT COUNT(*) FROM desk_sla_clocks").await;
    let first = scalar(
        &t,
        "SELECT COUNT(*) FROM desk_sla_clocks WHERE ticket_id = (SELECT MIN(id) FROM desk_tickets)",
    )
    .await;
    assert!(first > 0, "no SLA clocks");
    assert_eq!(clocks, 64 * first);
    let acknowledged = scalar(
        &t,
        "SELECT COUNT(DISTINCT destination) FROM deliveries WHERE purpose = 'desk_received'",
    )
    .await;
    assert_eq!(acknowledged, 64);
    // The group's acknowledgements go in one trip, each job and Message-ID
    // made from its own delivery's id as it runs: each delivery has one job
    // that names it, and its Message-ID finds the ticket of the requester
    // it goes to.
    let unnamed = scalar(
        &t,
        "SELECT COUNT(*) FROM deliveries d WHERE d.purpose = 'desk_received' AND 1 <>
           (SELECT COUNT(*) FROM jobs j WHERE j.kind = 'deliver'
              AND j.idempotency_key = 'delivery:' || CAST(d.id AS TEXT)
              AND j.payload LIKE '{\"delivery_id\":' || CAST(d.id AS TEXT) || ',\"provider\":\"outbox\"}')",
    )
    .await;
    assert_eq!(unnamed, 0, "an acknowledgement without its own job");
    let threaded = scalar(
        &t,
        "SELECT COUNT(*) FROM deliveries d
         JOIN desk_channel_messages m ON m.channel = 'email' AND m.direction = 'out'
           AND m.external_id = 'koban-delivery-' || CAST(d.id AS TEXT) || '@koban.localhost'
         JOIN desk_tickets t ON t.id = m.ticket_id
         JOIN desk_contacts c ON c.id = t.requester_contact_id AND c.email = d.destination
         WHERE d.purpose = 'desk_received'",
    )
    .await;
    assert_eq!(threaded, 64, "a Message-ID recorded on another ticket");
    for (id, payload) in sqlx::query_as::<_, (i64, String)>(
        "SELECT d.id, j.payload FROM deliveries d
         JOIN jobs j ON j.idempotency_key = 'delivery:' || CAST(d.id AS TEXT)",
    )
    .fetch_all(t.app.store.read())
    .await
    .unwrap()
    {
        let payload: Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(payload, json!({ "delivery_id": id, "provider": "outbox" }));
    }
    // On SQLite they were written together, not one transaction each; on
    // PostgreSQL each on its own connection, side by side.
    let (shared, openings) = koban::desk::tickets::committer::shared(&t.app);
    match t.db {
        Db::Sqlite => assert!(
            shared >= 1 && openings >= 2,
            "no opening shared a transaction ({shared}, {openings})"
        ),
        Db::Postgres => assert_eq!((shared, openings), (0, 0)),
    }
    let metrics = t
        .http
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!("koban_desk_open_shared_tickets_total {openings}")),
        "{metrics}"
    );
}
both!(many_openings_at_once_each_get_their_own_ticket);

async fn a_refused_opening_in_a_batch_undoes_only_itself(t: TestApp) {
    let (status, file) = upload(&t, None, "log.txt", b"timeout".to_vec(), "attachment").await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    let mut bodies: Vec<Value> = (0..24).map(ticket).collect();
    // One whose file is not an upload, one with a real file.
    bodies[7]["attachments"] = json!(["not-a-token"]);
    bodies[7]["email"] = json!("refused@example.com");
    bodies[7]["subject"] = json!("Refused");
    bodies[15]["attachments"] = json!([file["token"]]);
    let mut answers = Vec::new();
    // Several rounds, so the refused one lands among others at least once.
    for round in 0..3 {
        let mut round_bodies = bodies.clone();
        for (i, body) in round_bodies.iter_mut().enumerate() {
            if i != 7 {
                body["email"] = json!(format!("r{round}group{i}@example.com"));
            }
        }
        if round > 0 {
            let (status, again) =
                upload(&t, None, "log.txt", b"timeout".to_vec(), "attachment").await;
            assert_eq!(status, StatusCode::CREATED, "{again}");
            round_bodies[15]["attachments"] = json!([again["token"]]);
        }
        answers.extend(open_at_once(&t, round_bodies).await.into_iter().enumerate());
    }
    for (i, (status, answer)) in &answers {
        if *i == 7 {
            assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
            assert_eq!(answer["errors"][0]["code"], "not_an_attachment", "{answer}");
        } else {
            assert_eq!(*status, StatusCode::CREATED, "{i}: {answer}");
        }
    }
    assert_eq!(t.count("desk_tickets").await, 3 * 23);
    assert_eq!(t.count("desk_attachments").await, 3);
    let refused = scalar(
        &t,
        "SELECT COUNT(*) FROM desk_tickets WHERE subject = 'Refused'",
    )
    .await;
    assert_eq!(refused, 0);
    let contact = scalar(
        &t,
        "SELECT COUNT(*) FROM desk_contacts WHERE email = 'refused@example.com'",
    )
    .await;
    assert_eq!(contact, 0, "the refused opening's contact stayed");
    let orphans = scalar(
        &t,
        "SELECT COUNT(*) FROM desk_messages m WHERE NOT EXISTS
           (SELECT 1 FROM desk_tickets t WHERE t.id = m.ticket_id)",
    )
    .await;
    assert_eq!(orphans, 0);
    assert_eq!(t.count("desk_messages").await, 3 * 23);
    let (shared, _) = koban::desk::tickets::committer::shared(&t.app);
    match t.db {
        Db::Sqlite => assert!(shared >= 1, "no opening shared a transaction"),
        Db::Postgres => assert_eq!(shared, 0),
    }
}
both!(a_refused_opening_in_a_batch_undoes_only_itself);

async fn one_requester_twice_in_a_group_gets_both_tickets_under_one_contact(t: TestApp) {
    let mut bodies: Vec<Value> = (0..24).map(ticket).collect();
    for body in bodies.iter_mut().step_by(3) {
        body["email"] = json!("twice@example.com");
    }
    for (status, opened) in open_at_once(&t, bodies).await {
        assert_eq!(status, StatusCode::CREATED, "{opened}");
    }
    assert_eq!(t.count("desk_tickets").await, 24);
    assert_eq!(t.count("desk_contacts").await, 24 - 8 + 1);
    let theirs = scalar(
        &t,
        "SELECT COUNT(*) FROM desk_tickets t JOIN desk_contacts c ON c.id = t.requester_contact_id
         WHERE c.email = 'twice@example.com'",
    )
    .await;
    assert_eq!(theirs, 8);
    let acknowledged = scalar(
        &t,
        "SELECT COUNT(*) FROM deliveries WHERE purpose = 'desk_received' AND destination = 'twice@example.com'",
    )
    .await;
    assert_eq!(acknowledged, 8);
}
both!(one_requester_twice_in_a_group_gets_both_tickets_under_one_contact);

/// The group's first trip (`desk::store::insert_tickets`) tells a ticket
/// whose number another already holds from those it stored, and never
/// hands out the other ticket's id.
async fn a_taken_number_in_a_group_trip_is_told_apart(t: TestApp) {
    use koban::desk::store::{insert_tickets, NewContact, NewTicket};
    let row = new_ticket;
    let contact = |email| {
        Some(NewContact {
            email: Some(email),
            phone: None,
            name: None,
        })
    };
    let mut tx = t.app.store.write().begin().await.unwrap();
    let first = insert_tickets(
        &mut tx,
        &[(row("26120345678", "Held", 1_000), contact("a@example.com"))],
    )
    .await
    .unwrap();
    let (held, held_contact) = first[0].expect("the first ticket was stored");
    assert!(held_contact.is_some());
    let group = insert_tickets(
        &mut tx,
        &[
            (
                row("35120345678", "New one", 2_000),
                contact("b@example.com"),
            ),
            (
                row("26120345678", "Same number", 2_000),
                contact("c@example.com"),
            ),
            // A requester already known: its contact id, no contact to add.
            (
                NewTicket {
                    requester_contact_id: held_contact,
                    ..row("45120345678", "Another", 2_000)
                },
                None,
            ),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        group[1], None,
        "a taken number must not answer with the ticket holding it"
    );
    let (new_one, new_contact) = group[0].expect("stored");
    let (another, known_contact) = group[2].expect("stored");
    assert!(new_one != held && another != held && new_one != another);
    assert_eq!(known_contact, held_contact);
    let b = scalar(
        &t,
        "SELECT id FROM desk_contacts WHERE email = 'b@example.com'",
    )
    .await;
    assert_eq!(new_contact, Some(b));
    assert_eq!(
        scalar(
            &t,
            &format!("SELECT requester_contact_id FROM desk_tickets WHERE id = {new_one}")
        )
        .await,
        b
    );
    assert_eq!(t.count("desk_tickets").await, 3);
}
both!(a_taken_number_in_a_group_trip_is_told_apart);

/// A new ticket's row under `reference`, about `subject`, opened at `now`.
fn new_ticket<'a>(
    reference: &'a str,
    subject: &'a str,
    now: i64,
) -> koban::desk::store::NewTicket<'a> {
    koban::desk::store::NewTicket {
        reference,
        subject,
        status: "new",
        priority: "normal",
        category: "other",
        urgent: false,
        channel: "web",
        requester_account_id: None,
        requester_contact_id: None,
        language: "en",
        region: None,
        time_zone: None,
        fields: "{}",
        completeness: 100,
        triage: "{}",
        follow_up_of: None,
        team: None,
        tier: "standard",
        organization_id: None,
        now,
    }
}

/// Writes a ticket under `id` with its contact `email` as one statement
/// outside any transaction, as a plain opening is written on PostgreSQL.
async fn write_one_statement(
    store: &koban::store::Store,
    id: i64,
    reference: &str,
    email: &str,
) -> Result<(), sqlx::Error> {
    let mut batch = koban::store::Batch::default();
    let contact = koban::desk::store::NewContact {
        email: Some(email),
        phone: None,
        name: Some("Mika"),
    };
    let ticket = new_ticket(reference, "Cannot sign in", koban::store::now_ms());
    koban::desk::store::push_ticket_with_id(&mut batch, id, &ticket, Some(contact)).expect("push");
    let mut conn = store.write().acquire().await.expect("connection");
    batch.run(&mut conn).await.map(drop)
}

/// On PostgreSQL a plain opening is one statement, not a transaction
/// (`desk/tickets/opening.rs`): a reference number another ticket holds
/// must fail all of it, its contact too, and be told apart from any other
/// failure, which is not drawn again. SQLite's openings always run in a
/// transaction, so this is PostgreSQL's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_reference_fails_the_whole_statement_on_postgres() {
    let Some((store, _dir)) = crate::support::fresh_store(Db::Postgres).await else {
        return;
    };
    let count = |sql: &'static str| {
        let store = &store;
        async move {
            use sqlx::Row;
            let row = sqlx::query(sql)
                .fetch_one(store.read())
                .await
                .expect("count");
            row.try_get::<i64, _>("n").expect("n")
        }
    };
    write_one_statement(&store, 1_000, "2612034567", "first@example.com")
        .await
        .expect("the first ticket");
    let taken = write_one_statement(&store, 1_001, "2612034567", "second@example.com")
        .await
        .expect_err("the number is taken");
    assert!(koban::desk::store::is_reference_taken(&taken), "{taken}");
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM desk_contacts WHERE email = 'second@example.com'").await,
        0,
        "the contact went with the failed statement"
    );
    assert_eq!(count("SELECT COUNT(*) AS n FROM desk_tickets").await, 1);
    // Another failure (the id is taken) is not a taken number.
    let other = write_one_statement(&store, 1_000, "2612034568", "third@example.com")
        .await
        .expect_err("the id is taken");
    assert!(!koban::desk::store::is_reference_taken(&other), "{other}");
    assert_eq!(count("SELECT COUNT(*) AS n FROM desk_contacts").await, 1);
    // A free number under a free id is written, with its contact.
    write_one_statement(&store, 1_002, "2612034569", "second@example.com")
        .await
        .expect("written");
    assert_eq!(count("SELECT COUNT(*) AS n FROM desk_tickets").await, 2);
    store.close().await;
}
