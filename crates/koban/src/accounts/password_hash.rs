//! Argon2id password hashing. Parameters travel inside each PHC string, so
//! raising them in the configuration re-hashes each password at its next
//! successful sign-in.
//!
//! Hashing runs on threads of its own, one per core, fed from one queue: at
//! ~15 ms a hash it would otherwise stall every other request on an async
//! worker, and more hashes at once than cores finish no sooner while holding
//! 19 MiB each (32 parallel sign-ins held 32 × 19 MiB, docs/benchmarks-history.md). A
//! thread that finishes a hash takes the next one from the queue itself, so a
//! core never idles between two hashes waiting for an async task to hand the
//! next one over (as it did on Tokio's blocking pool behind a semaphore).
//!
//! Kept instead of Tokio's blocking pool (behind a semaphore of one permit
//! per core) for a measured figure: logins/s ÷ raw Argon2id verifications/s
//! rose from 0.82–0.84 to 0.95–0.98 on SQLite and from 0.79–0.88 to
//! 0.92–0.97 on PostgreSQL, the builds before and at `17d5c17` in turn
//! (`koban-bench login --clients 8 --duration-seconds 20 --raw-seconds 3
//! --accounts 100` against `koban serve` with the rate limits raised, run 5
//! in docs/benchmarks-history.md).
//!
//! Each thread keeps one Argon2 working memory ([`Workspace`]) instead of
//! allocating and zeroing 19 MiB per hash, and asks the kernel to back it with
//! huge pages: Argon2 reads its memory at random, and with 4 KiB pages nearly
//! every read misses the TLB, worse still right after the thread was
//! interrupted by other work. The memory is taken at the first hash and
//! given back after [`KEEP_MEMORY_IDLE`] without work.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Hashes and verifies passwords with the configured parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A real hash of a random password: verifying against it when the account
    /// does not exist costs the same as a wrong password for one that does.
    decoy: String,
    /// The hashing threads' queue; they end when the last clone is dropped.
    jobs: Arc<Feeder>,
}

/// Work for a hashing thread, done in that thread's workspace.
type Job = Box<dyn FnOnce(&mut Workspace) + Send>;

/// A hashing thread that has had nothing to do for this long gives its
/// working memory back, so an idle server returns to its idle size (on a
/// 64-core machine the workspaces hold 1.2 GiB).
const KEEP_MEMORY_IDLE: Duration = Duration::from_secs(30);

/// The hashing threads' queue. All threads wait on it at once (a condition
/// variable, not a channel) so each can notice its own idleness.
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
    /// How many threads take jobs from the queue.
    threads: usize,
    /// Poked when a thread takes a job and leaves fewer waiting than there
    /// are threads: work for a thread is about to run out.
    shortened: tokio::sync::Notify,
}

struct QueueState {
    jobs: VecDeque<Job>,
    /// Set when the last hasher is gone: the threads end.
    closed: bool,
}

impl Queue {
    fn state(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // Jobs run outside the lock; under it there is only a push or a pop.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next job, waiting as long as it takes; None once closed.
    fn next(&self, workspace: &mut Workspace, keep_memory_idle: Duration) -> Option<Job> {
        let mut state = self.state();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                let short = state.jobs.len() < self.threads;
                drop(state);
                if short {
                    self.shortened.notify_one();
                }
                return Some(job);
            }
            if state.closed {
                return None;
            }
            let (next, waited) = self
                .ready
                .wait_timeout(state, keep_memory_idle)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            if waited.timed_out() {
                workspace.release();
            }
        }
    }
}

/// The hashers' end of the queue; when the last hasher drops it, the
/// threads are told to end.
struct Feeder {
    queue: Arc<Queue>,
}

impl Feeder {
    /// Queues a job; false when the threads are gone.
    fn send(&self, job: Job) -> bool {
        {
            let mut state = self.queue.state();
            if state.closed {
                return false;
            }
            state.jobs.push_back(job);
        }
        self.queue.ready.notify_one();
        true
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.queue.state().closed = true;
        self.queue.ready.notify_all();
    }
}

/// Starts `threads` hashing threads on one queue.
fn start_threads(threads: usize, keep_memory_idle: Duration) -> Result<Feeder, String> {
    let queue = Arc::new(Queue {
        state: Mutex::new(QueueState {
            jobs: VecDeque::new(),
            closed: false,
        }),
        ready: Condvar::new(),
        threads,
        shortened: tokio::sync::Notify::new(),
    });
    for i in 0..threads {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("koban-argon2-{i}"))
            .spawn(move || {
                let mut workspace = Workspace::new();
                while let Some(job) = queue.next(&mut workspace, keep_memory_idle) {
                    // A panic drops the job's reply (its caller sees a
                    // failure); the thread lives on for the next one.
                    let run = std::panic::AssertUnwindSafe(|| job(&mut workspace));
                    if std::panic::catch_unwind(run).is_err() {
                        workspace = Workspace::new();
                    }
                }
            })
            .map_err(|e| format!("cannot start a hashing thread: {e}"))?;
    }
    Ok(Feeder { queue })
}

/// Bytes of Argon2 working memory held by every workspace in the process.
static WORKSPACE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Bytes of Argon2 working memory held right now, all hashers together.
pub fn workspace_bytes() -> usize {
    WORKSPACE_BYTES.load(Ordering::Relaxed)
}

/// Argon2 working memory kept between verifications. It holds intermediate
/// blocks of the last password checked, so it never leaves this module.
pub struct Workspace {
    blocks: Vec<Block>,
}

impl Workspace {
    /// An empty workspace; it grows to what the first hash needs.
    pub fn new() -> Workspace {
        Workspace { blocks: Vec::new() }
    }

    /// At least `count` blocks.
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            let mut blocks = Vec::with_capacity(count);
            advise_huge_pages(
                blocks.as_mut_ptr() as *mut u8,
                count * std::mem::size_of::<Block>(),
            );
            // Touching the memory only after the advice lets the first
            // faults take huge pages directly.
            blocks.resize(count, Block::default());
            self.release();
            WORKSPACE_BYTES.fetch_add(count * std::mem::size_of::<Block>(), Ordering::Relaxed);
            self.blocks = blocks;
        }
        &mut self.blocks[..count]
    }
}

impl Workspace {
    /// Gives the memory back, to the system and not just the allocator
    /// (which may keep freed pages resident for its next use).
    fn release(&mut self) {
        let mut held = std::mem::take(&mut self.blocks);
        let bytes = held.len() * std::mem::size_of::<Block>();
        advise_dont_need(held.as_mut_ptr() as *mut u8, bytes);
        drop(held);
        WORKSPACE_BYTES.fetch_sub(bytes, Ordering::Relaxed);
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        self.release();
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace::new()
    }
}

/// Asks Linux to back `[start, start + len)` with transparent huge pages (it
/// does so on request when the system setting is `madvise`, the usual
/// default). Only advice: when refused, Argon2 runs on ordinary pages.
fn advise_huge_pages(start: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    advise_whole_units(start, len, 2 * 1024 * 1024, libc::MADV_HUGEPAGE);
    #[cfg(not(target_os = "linux"))]
    let _ = (start, len);
}

/// Tells Linux the whole pages inside `[start, start + len)` can be dropped
/// now: they leave the resident set at once and read as zeros if touched
/// again. Called on memory about to be freed, whose contents nobody reads.
fn advise_dont_need(start: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    advise_whole_units(start, len, 4096, libc::MADV_DONTNEED);
    #[cfg(not(target_os = "linux"))]
    let _ = (start, len);
}

/// `madvise(advice)` on the whole `unit`-sized, `unit`-aligned stretches
/// inside `[start, start + len)`; nothing when there are none.
#[cfg(target_os = "linux")]
fn advise_whole_units(start: *mut u8, len: usize, unit: usize, advice: libc::c_int) {
    let first = (start as usize).next_multiple_of(unit);
    let end = (start as usize + len) / unit * unit;
    if end > first {
        // SAFETY: the range lies inside an allocation the calling thread
        // owns. The two advices used change how pages are backed
        // (MADV_HUGEPAGE) or drop pages of memory about to be freed, whose
        // contents are not read again (MADV_DONTNEED: private anonymous
        // memory reads as zeros after it); neither touches live data.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, advice);
        }
    }
}

impl PasswordHasher {
    /// Builds a hasher; fails on parameters Argon2 refuses.
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<PasswordHasher, String> {
        PasswordHasher::keeping_memory(memory_kib, iterations, parallelism, KEEP_MEMORY_IDLE)
    }

    /// The same, with the idle time after which a thread gives its memory back.
    fn keeping_memory(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        keep_memory_idle: Duration,
    ) -> Result<PasswordHasher, String> {
        let params =
            Params::new(memory_kib, iterations, parallelism, None).map_err(|e| e.to_string())?;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let mut hasher = PasswordHasher {
            params,
            decoy: String::new(),
            jobs: Arc::new(start_threads(cores, keep_memory_idle)?),
        };
        hasher.decoy = hasher.hash_now(&crate::crypto::random_token(24))?;
        Ok(hasher)
    }

    fn hash_now(&self, password: &str) -> Result<String, String> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    }

    /// Runs `work` on a hashing thread and waits for its answer; None when
    /// the threads are gone or the work panicked.
    async fn on_hashing_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Workspace) -> T + Send + 'static,
    ) -> Option<T> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |workspace| {
            let _ = reply.send(work(workspace));
        });
        if !self.jobs.send(job) {
            return None;
        }
        answer.await.ok()
    }

    /// Whether fewer hashes wait than there are hashing threads: a thread
    /// will soon have nothing to do unless more work arrives.
    pub fn backlog_is_short(&self) -> bool {
        let queue = &self.jobs.queue;
        queue.state().jobs.len() < queue.threads
    }

    /// Completes when a hashing thread next takes a job and leaves the
    /// backlog short (or at once if one did since the last call).
    pub async fn backlog_shortened(&self) {
        self.jobs.queue.shortened.notified().await
    }

    /// Hashes a (normalised) password.
    pub async fn hash(&self, password: String) -> Result<String, String> {
        let this = self.clone();
        self.on_hashing_thread(move |_| this.hash_now(&password))
            .await
            .unwrap_or_else(|| Err("the hashing threads stopped".into()))
    }

    /// Verifies `password` against `stored`, or against the decoy when there is
    /// no account, so both paths take the same time. Returns (matches, needs_rehash).
    pub async fn verify(&self, password: String, stored: Option<String>) -> (bool, bool) {
        let this = self.clone();
        let real = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.decoy.clone());
        let outcome = self
            .on_hashing_thread(move |workspace| this.verify_with(workspace, &password, &stored))
            .await;
        match outcome {
            Some((ok, rehash)) => (ok && real, rehash && real),
            None => (false, false),
        }
    }

    /// The same, synchronously, in the caller's workspace. Benchmarks measure
    /// this as the physical limit, so the yardstick runs the server's code.
    pub fn verify_with(
        &self,
        workspace: &mut Workspace,
        password: &str,
        stored: &str,
    ) -> (bool, bool) {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return (false, false);
        };
        let ok = matches(workspace, password.as_bytes(), &parsed).unwrap_or(false);
        let current = Params::try_from(&parsed).ok();
        let rehash = ok
            && (parsed.algorithm.as_str() != "argon2id"
                || current.is_none_or(|p| {
                    p.m_cost() < self.params.m_cost()
                        || p.t_cost() < self.params.t_cost()
                        || p.p_cost() < self.params.p_cost()
                }));
        (ok, rehash)
    }
}

/// Whether `password` hashes to `parsed` with the algorithm, version,
/// parameters and salt the PHC string names (what `PasswordVerifier` does,
/// in a reused workspace). `None` when the string is not a usable Argon2
/// hash. The comparison is constant-time.
fn matches(workspace: &mut Workspace, password: &[u8], parsed: &PasswordHash) -> Option<bool> {
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    let mut computed = [0u8; 64];
    let computed = computed.get_mut(..expected.len())?;
    let blocks = workspace.blocks(params.block_count());
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, computed, blocks)
        .ok()?;
    Some(crate::crypto::constant_time_eq(
        computed,
        expected.as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_and_asks_for_rehash_when_parameters_rise() {
        let weak = PasswordHasher::new(8 * 1024, 1, 1).unwrap();
        let strong = PasswordHasher::new(19 * 1024, 2, 1).unwrap();
        let stored = weak.hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));
        assert_eq!(
            weak.verify("correct horse".into(), Some(stored.clone()))
                .await,
            (true, false)
        );
        assert_eq!(
            strong
                .verify("correct horse".into(), Some(stored.clone()))
                .await,
            (true, true)
        );
        assert_eq!(
            strong.verify("wrong".into(), Some(stored)).await,
            (false, false)
        );
        assert_eq!(strong.verify("anything".into(), None).await, (false, false));
        assert_eq!(
            strong
                .verify("x".into(), Some("not a phc string".into()))
                .await,
            (false, false)
        );
    }

    /// The reused-workspace check agrees with the argon2 crate's own
    /// verifier on every algorithm, version, size and output length a
    /// stored PHC string can name, and one workspace serves them in any
    /// order (growing for the larger, slicing for the smaller).
    #[test]
    fn workspace_verification_agrees_with_the_reference_verifier() {
        use argon2::password_hash::PasswordVerifier as _;
        let hasher = PasswordHasher::new(64, 1, 1).unwrap();
        let mut workspace = Workspace::new();
        let variants = [
            (Algorithm::Argon2id, Version::V0x13, 64, 1, 1, 32),
            (Algorithm::Argon2i, Version::V0x13, 256, 2, 1, 32),
            (Algorithm::Argon2d, Version::V0x10, 128, 1, 2, 16),
            (Algorithm::Argon2id, Version::V0x13, 512, 3, 4, 64),
            (Algorithm::Argon2id, Version::V0x10, 8, 1, 1, 24),
        ];
        for (algorithm, version, m, t, p, len) in variants {
            let params = Params::new(m, t, p, Some(len)).unwrap();
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            let stored = Argon2::new(algorithm, version, params.clone())
                .hash_password(b"pa55 word", &salt)
                .unwrap()
                .to_string();
            for candidate in ["pa55 word", "pa55 wore", ""] {
                let reference = Argon2::default()
                    .verify_password(candidate.as_bytes(), &PasswordHash::new(&stored).unwrap())
                    .is_ok();
                let (ours, _) = hasher.verify_with(&mut workspace, candidate, &stored);
                assert_eq!(ours, reference, "{stored} with {candidate:?}");
                assert_eq!(ours, candidate == "pa55 word");
            }
        }
        // Not an Argon2 string, or one missing its salt or hash: no match.
        for broken in [
            "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",
            "$argon2id$v=19$m=64,t=1,p=1",
            "",
        ] {
            assert_eq!(
                hasher.verify_with(&mut workspace, "pa55 word", broken),
                (false, false)
            );
        }
    }

    fn hashing_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .filter_map(Result::ok)
                    .filter(|t| {
                        std::fs::read_to_string(t.path().join("comm"))
                            .is_ok_and(|name| name.starts_with("koban-argon2"))
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    /// Many sign-ins at once share one hashing thread per core, each answer
    /// reaches its own caller, and the threads end with the last hasher.
    /// (nextest runs each test in its own process, so the count is this
    /// test's own.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thread_per_core_answers_every_caller_and_ends_with_the_hasher() {
        let cores = std::thread::available_parallelism().unwrap().get();
        let hasher = PasswordHasher::new(256, 1, 1).unwrap();
        let mut stored = Vec::new();
        for i in 0..4 {
            stored.push(hasher.hash(format!("password {i}")).await.unwrap());
        }
        let checks = (0..24).map(|i| {
            let hasher = hasher.clone();
            let stored = stored[i % 4].clone();
            // Every third caller has the wrong password.
            let password = if i % 3 == 0 {
                "wrong".to_string()
            } else {
                format!("password {}", i % 4)
            };
            tokio::spawn(async move { (i, hasher.verify(password, Some(stored)).await.0) })
        });
        for check in checks {
            let (i, ok) = check.await.unwrap();
            assert_eq!(ok, i % 3 != 0, "caller {i}");
        }
        if cfg!(target_os = "linux") {
            assert_eq!(hashing_threads(), cores);
            drop(hasher);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while hashing_threads() > 0 && std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert_eq!(hashing_threads(), 0);
        }
    }

    /// A hashing thread keeps its working memory between hashes and gives
    /// it back once idle, so an idle server returns to its idle size.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_hashing_threads_give_their_memory_back() {
        let idle = std::time::Duration::from_millis(500);
        let hasher = PasswordHasher::keeping_memory(256, 1, 1, idle).unwrap();
        assert_eq!(workspace_bytes(), 0, "nothing hashed yet");
        let stored = hasher.hash("correct horse".into()).await.unwrap();
        let (ok, _) = hasher.verify("correct horse".into(), Some(stored)).await;
        assert!(ok);
        assert!(
            workspace_bytes() >= 256 * 1024,
            "held {} bytes",
            workspace_bytes()
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while workspace_bytes() > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(workspace_bytes(), 0);
    }
}
