//! Group commit of new tickets. Each ticket in its own transaction left
//! the writer (SQLite's one connection, or PostgreSQL's commit) doing a
//! begin and a commit per ticket while the requests queued for it. Here the
//! openings that wait are gathered by one task per node, written in one
//! transaction and committed once; each requester is answered after that
//! commit, with its ticket or its refusal. Within it, the group's contacts
//! and tickets go in one trip to the database, and all their other rows
//! in one more (`opening::write_group`): on SQLite a trip is two thread
//! hand-offs, the largest cost of a ticket there.
//!
//! An opening that may be refused for a reason of its own (a file, a mail
//! already taken: [`Prepared::may_be_refused`]) runs in a savepoint, so its
//! refusal rolls back only itself. Any other failure inside the batch (the
//! database's) rolls the batch back, and each of its openings is then
//! written in a transaction of its own, as without the committer, so one
//! failure never becomes another requester's.
//!
//! The task runs beside the server (`Domain::background`); where it does not
//! run (`koban demo`, a command) or has stopped, or with
//! `desk_open_batch` 0, every opening is written on its caller's task.

use super::opening::{self, Prepared};
use super::service::Opened;
use crate::desk::error::DeskError;
use crate::state::App;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

struct Job {
    work: Prepared,
    reply: oneshot::Sender<Result<Opened, DeskError>>,
}

/// The queue to the node's committing task.
pub struct Committer {
    queue: mpsc::Sender<Job>,
    jobs: Mutex<Option<mpsc::Receiver<Job>>>,
    running: AtomicBool,
    max_batch: usize,
    /// Transactions that held more than one opening, and the openings
    /// committed in them, for /metrics.
    shared: AtomicU64,
    shared_openings: AtomicU64,
}

impl Committer {
    /// A committer writing at most `max_batch` openings in one transaction
    /// (0: none, each opening on its caller's task).
    pub fn new(max_batch: usize) -> Committer {
        let (queue, jobs) = mpsc::channel(max_batch.max(1) * 4);
        Committer {
            queue,
            jobs: Mutex::new(Some(jobs)),
            running: AtomicBool::new(false),
            max_batch,
            shared: AtomicU64::new(0),
            shared_openings: AtomicU64::new(0),
        }
    }
}

/// (transactions that held more than one opening, the openings in them)
/// since the start.
pub fn shared(app: &App) -> (u64, u64) {
    let c = committer(app);
    (
        c.shared.load(Ordering::Relaxed),
        c.shared_openings.load(Ordering::Relaxed),
    )
}

/// The committer's figures for /metrics.
pub fn gauges(app: &App, out: &mut String) {
    let (shared, openings) = shared(app);
    out.push_str(&format!(
        "# TYPE koban_desk_open_shared_commits_total counter\n\
         koban_desk_open_shared_commits_total {shared}\n\
         # TYPE koban_desk_open_shared_tickets_total counter\n\
         koban_desk_open_shared_tickets_total {openings}\n"
    ));
}

fn committer(app: &App) -> &Committer {
    &app.part::<crate::desk::State>().committer
}

/// Stores `work` and answers once it is committed: through the committing
/// task when it runs, else in a transaction of its own.
pub(crate) async fn commit(app: &App, work: Prepared) -> Result<Opened, DeskError> {
    let committer = committer(app);
    if committer.max_batch == 0 || !committer.running.load(Ordering::Acquire) {
        return work.write_alone(app).await;
    }
    let (reply, answer) = oneshot::channel();
    match committer.queue.send(Job { work, reply }).await {
        Ok(()) => answer
            .await
            .map_err(|_| DeskError::Internal("the ticket committer stopped".into()))?,
        // Stopped since: written here instead.
        Err(mpsc::error::SendError(job)) => job.work.write_alone(app).await,
    }
}

/// The committing task, run beside the server until `stop`; what was
/// queued when it stops is still written.
pub fn run(app: Arc<App>, mut stop: watch::Receiver<bool>) -> crate::domain::Drain<'static> {
    Box::pin(async move {
        let committer = committer(&app);
        let taken = committer
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(mut jobs) = taken else { return };
        if committer.max_batch == 0 {
            return;
        }
        committer.running.store(true, Ordering::Release);
        let mut batch = Vec::with_capacity(committer.max_batch);
        while !*stop.borrow() {
            tokio::select! {
                job = jobs.recv() => match job {
                    Some(job) => batch.push(job),
                    None => break,
                },
                changed = stop.changed() => match changed {
                    Ok(()) => continue,
                    Err(_) => break,
                },
            }
            gather(&mut jobs, &mut batch, committer.max_batch);
            write(&app, std::mem::take(&mut batch)).await;
        }
        committer.running.store(false, Ordering::Release);
        jobs.close();
        while let Ok(job) = jobs.try_recv() {
            batch.push(job);
            gather(&mut jobs, &mut batch, committer.max_batch);
            write(&app, std::mem::take(&mut batch)).await;
        }
    })
}

/// Adds what waits, up to `max` in all.
fn gather(jobs: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>, max: usize) {
    while batch.len() < max {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

/// Writes a batch and answers each of its requesters.
async fn write(app: &App, batch: Vec<Job>) {
    let answers = if batch.len() == 1 {
        vec![batch[0].work.write_alone(app).await]
    } else {
        match together(app, &batch).await {
            Ok(answers) => answers,
            Err(error) => {
                tracing::warn!(%error, openings = batch.len(), "a batch of new tickets failed; writing each on its own");
                let mut answers = Vec::with_capacity(batch.len());
                for job in &batch {
                    answers.push(job.work.write_alone(app).await);
                }
                answers
            }
        }
    };
    for (job, answer) in batch.into_iter().zip(answers) {
        // A requester who went away no longer needs the answer.
        let _ = job.reply.send(answer);
    }
}

/// Every opening of `batch` in one transaction: each one's answer, or the
/// failure that undid them all. Those that cannot be refused for a reason
/// of their own are written together ([`opening::write_group`]: a few
/// trips for all of them); the others each in a savepoint.
async fn together(app: &App, batch: &[Job]) -> Result<Vec<Result<Opened, DeskError>>, DeskError> {
    let mut tx = app.store.write().begin().await?;
    // A requester twice in the group (by the same email or phone) is
    // written the second time on its own, after the group: PostgreSQL
    // cannot upsert one contact twice in one statement.
    let mut contacts = std::collections::HashSet::new();
    let in_group: Vec<bool> = batch
        .iter()
        .map(|job| {
            !job.work.may_be_refused()
                && job
                    .work
                    .contact_key()
                    .is_none_or(|key| contacts.insert(key))
        })
        .collect();
    let group: Vec<&Prepared> = batch
        .iter()
        .zip(&in_group)
        .filter(|(_, grouped)| **grouped)
        .map(|(job, _)| &job.work)
        .collect();
    let mut written = opening::write_group(app, &mut tx, &group)
        .await?
        .into_iter();
    let mut answers = Vec::with_capacity(batch.len());
    for (job, grouped) in batch.iter().zip(in_group) {
        if grouped {
            let opened = written
                .next()
                .ok_or_else(|| DeskError::Internal("an opening of the group was lost".into()))?;
            answers.push(Ok(opened));
            continue;
        }
        if !job.work.may_be_refused() {
            answers.push(Ok(job.work.write(app, &mut tx).await?));
            continue;
        }
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        match job.work.write(app, &mut savepoint).await {
            Ok(opened) => {
                savepoint.commit().await?;
                answers.push(Ok(opened));
            }
            Err(refused) => {
                savepoint.rollback().await?;
                answers.push(Err(refused));
            }
        }
    }
    tx.commit().await?;
    let c = committer(app);
    c.shared.fetch_add(1, Ordering::Relaxed);
    c.shared_openings
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    Ok(answers)
}
