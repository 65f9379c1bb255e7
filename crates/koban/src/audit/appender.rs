//! Group commit: concurrent appends that need not join a caller's change
//! are queued to one task, which writes whatever has gathered in one change
//! (hashes computed in order), so the writer commits once per batch rather
//! than once per entry.

use super::{append_in, AuditError, Record};
use crate::store::{now_ms, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

struct Job {
    scope: String,
    actor: String,
    action: String,
    target: String,
    details: serde_json::Value,
    reply: oneshot::Sender<Result<i64, String>>,
}

/// A handle to the appending task; cheap to clone.
#[derive(Clone)]
pub struct Appender {
    queue: mpsc::Sender<Job>,
}

impl Appender {
    /// Starts the task; at most `max_batch` entries go into one change.
    pub fn start(store: Store, max_batch: usize) -> Appender {
        let (queue, jobs) = mpsc::channel(max_batch.max(1) * 4);
        tokio::spawn(run(store, jobs, max_batch.max(1)));
        Appender { queue }
    }

    /// Appends one entry and returns its sequence once committed.
    pub async fn append(&self, scope: &str, record: Record<'_>) -> Result<i64, AuditError> {
        if !super::valid_scope(scope) {
            return Err(AuditError::BadScope(scope.to_owned()));
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            scope: scope.to_owned(),
            actor: record.actor.to_owned(),
            action: record.action.to_owned(),
            target: record.target.to_owned(),
            details: record.details.clone(),
            reply,
        };
        let gone =
            || AuditError::Store(StoreError::Unavailable("the audit appender stopped".into()));
        self.queue.send(job).await.map_err(|_| gone())?;
        answer
            .await
            .map_err(|_| gone())?
            .map_err(|e| AuditError::Store(StoreError::Unavailable(e)))
    }
}

async fn run(store: Store, mut jobs: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = jobs.recv().await {
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let result = write(&store, &batch).await;
        for (i, job) in batch.drain(..).enumerate() {
            let answer = match &result {
                Ok(seqs) => Ok(seqs[i]),
                Err(e) => Err(e.clone()),
            };
            // A caller that went away no longer needs the answer.
            let _ = job.reply.send(answer);
        }
    }
}

/// Writes a batch in one change, scope by scope in arrival order; returns
/// each job's sequence.
async fn write(store: &Store, batch: &[Job]) -> Result<Vec<i64>, String> {
    let mut seqs = vec![0; batch.len()];
    let mut scopes: Vec<&str> = batch.iter().map(|j| j.scope.as_str()).collect();
    scopes.sort_unstable();
    scopes.dedup();
    let now = now_ms();
    let mut change = store.change().await.map_err(|e| e.to_string())?;
    for scope in scopes {
        let picked: Vec<usize> = (0..batch.len())
            .filter(|&i| batch[i].scope == scope)
            .collect();
        let records: Vec<Record<'_>> = picked
            .iter()
            .map(|&i| Record {
                actor: &batch[i].actor,
                action: &batch[i].action,
                target: &batch[i].target,
                details: &batch[i].details,
            })
            .collect();
        let rows = append_in(store, &mut change, scope, now, &records)
            .await
            .map_err(|e| e.to_string())?;
        for (i, row) in picked.into_iter().zip(rows) {
            seqs[i] = row.seq;
        }
    }
    change.commit().await.map_err(|e| e.to_string())?;
    Ok(seqs)
}
