//! The tamper-evident audit log: entries appended in their action's
//! transaction, chained, and a verification that names the first entry
//! changed, removed or reordered, on both databases.

use crate::support::TestApp;
use koban::audit::{append, verify, Record, Verdict};
use koban_policy::audit::Break;
use serde_json::json;

async fn record(t: &TestApp, scope: &str, n: u64) -> u64 {
    let mut tx = t.app.store.write().begin().await.expect("begin");
    let details = json!({ "n": n, "note": "=SUM(A1) 管理者" });
    let seq = append(
        &mut tx,
        &t.app.store,
        &Record {
            scope,
            actor: "account:1",
            action: "member.role_changed",
            target: &format!("account:{n}"),
            details: &details,
        },
    )
    .await
    .expect("append");
    tx.commit().await.expect("commit");
    seq
}

async fn verdict(t: &TestApp, scope: &str) -> Verdict {
    t.settle().await;
    verify(&t.app.store, scope).await.expect("verify")
}

async fn a_chain_checks_until_an_entry_is_touched(t: TestApp) {
    assert_eq!(verdict(&t, "org:1").await, Verdict::Intact { entries: 0 });
    for n in 1..=6 {
        assert_eq!(record(&t, "org:1", n).await, n);
    }
    // Another scope is a chain of its own.
    assert_eq!(record(&t, "org:2", 1).await, 1);
    assert_eq!(verdict(&t, "org:1").await, Verdict::Intact { entries: 6 });
    assert_eq!(verdict(&t, "org:2").await, Verdict::Intact { entries: 1 });

    // An entry whose details were changed in the database.
    t.exec("UPDATE audit_entries SET details = '{\"n\":3}' WHERE scope = 'org:1' AND seq = 3")
        .await;
    assert_eq!(
        verdict(&t, "org:1").await,
        Verdict::Broken(Break::Changed { seq: 3 })
    );
    assert_eq!(verdict(&t, "org:2").await, Verdict::Intact { entries: 1 });
}
both!(a_chain_checks_until_an_entry_is_touched);

async fn removed_and_reordered_entries_are_named(t: TestApp) {
    for n in 1..=5 {
        record(&t, "org:7", n).await;
    }
    // The last entry removed: the head still names it.
    t.exec("DELETE FROM audit_entries WHERE scope = 'org:7' AND seq = 5")
        .await;
    assert_eq!(
        verdict(&t, "org:7").await,
        Verdict::Broken(Break::Removed { seq: 5 })
    );
    // One in the middle removed.
    t.exec("DELETE FROM audit_entries WHERE scope = 'org:7' AND seq = 2")
        .await;
    assert_eq!(
        verdict(&t, "org:7").await,
        Verdict::Broken(Break::Removed { seq: 2 })
    );
}
both!(removed_and_reordered_entries_are_named);

async fn an_entry_copied_in_again_is_named(t: TestApp) {
    for n in 1..=3 {
        record(&t, "org:8", n).await;
    }
    // Entry 2 written again at the end under another scope's number space
    // is refused by the database; written with the next number it is a
    // stranger the chain gives away.
    t.exec(
        "INSERT INTO audit_entries (scope, seq, at, actor, action, target, details, prev_hash, hash)
         SELECT scope, 4, at, actor, action, target, details, prev_hash, hash
         FROM audit_entries WHERE scope = 'org:8' AND seq = 2",
    )
    .await;
    t.exec("UPDATE audit_heads SET seq = 4 WHERE scope = 'org:8'")
        .await;
    assert_eq!(
        verdict(&t, "org:8").await,
        Verdict::Broken(Break::Changed { seq: 4 })
    );
}
both!(an_entry_copied_in_again_is_named);

/// Appends racing on one chain take turns: every one gets its own number
/// and the chain checks whole.
async fn concurrent_appends_keep_the_chain_whole(t: TestApp) {
    let t = std::sync::Arc::new(t);
    let mut writers = Vec::new();
    for w in 0..8u64 {
        let t = t.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..20 {
                record(&t, "org:9", w * 100 + i).await;
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    assert_eq!(verdict(&t, "org:9").await, Verdict::Intact { entries: 160 });
}
both!(concurrent_appends_keep_the_chain_whole);
