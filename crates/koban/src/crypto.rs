//! The server key and the few primitives built on it: sealing secrets at rest,
//! keyed hashes of short codes, random tokens and constant-time comparison.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const KEY_FILE: &str = "server.key";

/// Why the server key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the server key {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the server key {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("the server key {path} is damaged: expected 32 bytes, found {len}")]
    WrongLength { path: PathBuf, len: usize },
    #[error("cannot create the server key {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The 32-byte secret that seals data at rest and keys code hashes. Lose it
/// and sealed secrets (TOTP seeds, outbox bodies) cannot be read again.
#[derive(Clone)]
pub struct ServerKey {
    key: [u8; 32],
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

impl ServerKey {
    /// Reads `DATA_DIR/server.key`, creating it (mode 0600) on first start.
    /// Refuses a key that other users can read: it would no longer be secret.
    pub fn load_or_create(data_dir: &Path) -> Result<ServerKey, KeyError> {
        let path = data_dir.join(KEY_FILE);
        match std::fs::metadata(&path) {
            Ok(meta) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = meta.permissions().mode() & 0o777;
                    if mode & 0o077 != 0 {
                        return Err(KeyError::TooOpen { path, mode });
                    }
                }
                let _ = meta;
                let bytes = std::fs::read(&path).map_err(|source| KeyError::Unreadable {
                    path: path.clone(),
                    source,
                })?;
                let key: [u8; 32] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| KeyError::WrongLength {
                            path: path.clone(),
                            len: bytes.len(),
                        })?;
                Ok(ServerKey { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(&path),
            Err(source) => Err(KeyError::Unreadable { path, source }),
        }
    }

    fn create(path: &Path) -> Result<ServerKey, KeyError> {
        let fail = |source| KeyError::Create {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        use std::io::Write;
        let mut file = options.open(path).map_err(fail)?;
        file.write_all(&key).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        Ok(ServerKey { key })
    }

    /// A key for tests and benchmarks that never touches the disk.
    pub fn ephemeral() -> ServerKey {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        ServerKey { key }
    }

    fn subkey(&self, purpose: &str) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(b"koban-subkey:");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Encrypts `plain` (XChaCha20-Poly1305, random nonce); `purpose` binds the
    /// ciphertext to its use so one sealed value cannot stand in for another.
    pub fn seal(&self, purpose: &str, plain: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(&self.subkey(purpose).into());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), plain)
            .expect("encryption of in-memory data cannot fail");
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`ServerKey::seal`] produced; `None` if it was tampered with.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 24 {
            return None;
        }
        let cipher = XChaCha20Poly1305::new(&self.subkey(purpose).into());
        let (nonce, body) = sealed.split_at(24);
        cipher.decrypt(XNonce::from_slice(nonce), body).ok()
    }

    /// A keyed hash, hex: used for 6-digit codes, where a plain hash could be
    /// reversed by trying all million values.
    pub fn keyed_hash(&self, purpose: &str, data: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.subkey(purpose))
            .expect("HMAC takes any key length");
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }
}

/// A random URL-safe token of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // ThreadRng is a CSPRNG seeded from the OS and reseeded periodically;
    // unlike OsRng it costs no system call per token (several per request).
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256, hex. Enough for high-entropy tokens (sessions, API keys).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// HMAC-SHA256 of `body` with `secret`, hex: signs SMS requests and checks callbacks.
pub fn hmac_hex(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_detects_tampering_and_wrong_purpose() {
        let key = ServerKey::ephemeral();
        let sealed = key.seal("totp", b"secret seed");
        assert_eq!(
            key.open("totp", &sealed).as_deref(),
            Some(&b"secret seed"[..])
        );
        assert_eq!(key.open("outbox", &sealed), None);
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(key.open("totp", &bad), None);
        assert_eq!(key.open("totp", b"short"), None);
    }

    #[cfg(unix)]
    #[test]
    fn key_is_created_private_and_refused_when_opened_up() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = ServerKey::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = ServerKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.keyed_hash("x", b"1"), again.keyed_hash("x", b"1"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            ServerKey::load_or_create(dir.path()),
            Err(KeyError::TooOpen { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            ServerKey::load_or_create(dir.path()),
            Err(KeyError::WrongLength { .. })
        ));
    }
}
