//! Argon2id password hashing. Parameters travel inside each PHC string, so
//! raising them in the configuration re-hashes each password at its next
//! successful sign-in. Hashing runs on the blocking pool: at ~20 ms a hash it
//! would otherwise stall every other request on the thread. At most one hash
//! per core runs at a time; the rest wait their turn. Unbounded, 32 parallel
//! sign-ins held 32 × 19 MiB at once and finished no sooner (BENCHMARKS.md).

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Hashes and verifies passwords with the configured parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A real hash of a random password: verifying against it when the account
    /// does not exist costs the same as a wrong password for one that does.
    decoy: String,
    /// One permit per core.
    slots: std::sync::Arc<tokio::sync::Semaphore>,
}

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
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(cores)),
        };
        hasher.decoy = hasher.hash_now(&crate::crypto::random_token(24))?;
        Ok(hasher)
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_now(&self, password: &str) -> Result<String, String> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        self.argon()
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
        let outcome =
            tokio::task::spawn_blocking(move || this.verify_now(&password, &stored)).await;
        match outcome {
            Ok((ok, rehash)) => (ok && real, rehash && real),
            Err(_) => (false, false),
        }
    }

    /// The same, synchronously (benchmarks measure this as the physical limit).
    pub fn verify_now(&self, password: &str, stored: &str) -> (bool, bool) {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return (false, false);
        };
        let ok = self
            .argon()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
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
}
