//! Argon2id password hashing. Parameters travel inside each PHC string, so
//! raising them in the configuration re-hashes each password at its next
//! successful sign-in. Hashing runs on the blocking pool: at ~20 ms a hash it
//! would otherwise stall every other request on the thread. At most one hash
//! per core runs at a time; the rest wait their turn. Unbounded, 32 parallel
//! sign-ins held 32 × 19 MiB at once and finished no sooner (BENCHMARKS.md).
//!
//! Verification, the hot path of every sign-in, reuses one Argon2 working
//! memory per running hash ([`Workspace`]) instead of allocating and zeroing
//! 19 MiB each time, and asks the kernel to back it with huge pages: Argon2
//! reads its memory at random, and with 4 KiB pages nearly every read misses
//! the TLB, worse still right after the thread was interrupted by other work.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Arc, Mutex};

/// Hashes and verifies passwords with the configured parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A real hash of a random password: verifying against it when the account
    /// does not exist costs the same as a wrong password for one that does.
    decoy: String,
    /// One permit per core.
    slots: Arc<tokio::sync::Semaphore>,
    /// Working memories not in use; never more than there are permits.
    workspaces: Arc<Mutex<Vec<Workspace>>>,
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
            self.blocks = blocks;
        }
        &mut self.blocks[..count]
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
#[cfg(target_os = "linux")]
fn advise_huge_pages(start: *mut u8, len: usize) {
    const HUGE: usize = 2 * 1024 * 1024;
    let first = (start as usize).next_multiple_of(HUGE);
    let end = (start as usize + len) / HUGE * HUGE;
    if end > first {
        // SAFETY: the range lies inside an allocation this thread owns and
        // nothing reads yet; MADV_HUGEPAGE changes how pages are backed, not
        // their contents.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_start: *mut u8, _len: usize) {}

impl PasswordHasher {
    /// Builds a hasher; fails on parameters Argon2 refuses.
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<PasswordHasher, String> {
        let params =
            Params::new(memory_kib, iterations, parallelism, None).map_err(|e| e.to_string())?;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let mut hasher = PasswordHasher {
            params,
            decoy: String::new(),
            slots: Arc::new(tokio::sync::Semaphore::new(cores)),
            workspaces: Arc::new(Mutex::new(Vec::new())),
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

    /// Hashes a (normalised) password.
    pub async fn hash(&self, password: String) -> Result<String, String> {
        let _slot = self.slots.acquire().await.map_err(|e| e.to_string())?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash_now(&password))
            .await
            .map_err(|e| e.to_string())?
    }

    /// Verifies `password` against `stored`, or against the decoy when there is
    /// no account, so both paths take the same time. Returns (matches, needs_rehash).
    pub async fn verify(&self, password: String, stored: Option<String>) -> (bool, bool) {
        let this = self.clone();
        let real = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.decoy.clone());
        let Ok(_slot) = self.slots.acquire().await else {
            return (false, false);
        };
        let outcome = tokio::task::spawn_blocking(move || {
            // The permit held above bounds how many workspaces exist.
            let mut workspace = this.take_workspace();
            let outcome = this.verify_with(&mut workspace, &password, &stored);
            this.return_workspace(workspace);
            outcome
        })
        .await;
        match outcome {
            Ok((ok, rehash)) => (ok && real, rehash && real),
            Err(_) => (false, false),
        }
    }

    fn take_workspace(&self) -> Workspace {
        let free = self.workspaces.lock().ok().and_then(|mut free| free.pop());
        free.unwrap_or_default()
    }

    fn return_workspace(&self, workspace: Workspace) {
        if let Ok(mut free) = self.workspaces.lock() {
            free.push(workspace);
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
}
