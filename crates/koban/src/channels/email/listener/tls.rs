//! The certificate STARTTLS offers, read once at start: a file that cannot
//! be read or is not a certificate and its key stops `koban serve` with a
//! clear error instead of failing the first sender that asks for TLS.

use crate::config::Config;
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{crypto::ring, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// The acceptor for `email_smtp_tls_cert`/`_key`; `None` when not configured.
pub fn acceptor(config: &Config) -> Result<Option<TlsAcceptor>, String> {
    if config.email_smtp_tls_cert.is_empty() || config.email_smtp_tls_key.is_empty() {
        return Ok(None);
    }
    let cert_path = &config.email_smtp_tls_cert;
    let key_path = &config.email_smtp_tls_key;
    let cert_pem = std::fs::read(cert_path)
        .map_err(|e| format!("email_smtp_tls_cert: cannot read {cert_path}: {e}"))?;
    let key_pem = std::fs::read(key_path)
        .map_err(|e| format!("email_smtp_tls_key: cannot read {key_path}: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("email_smtp_tls_cert: {cert_path} is not PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "email_smtp_tls_cert: {cert_path} holds no certificate"
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("email_smtp_tls_key: {key_path} holds no private key: {e}"))?;
    let server = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("email_smtp_tls_cert: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!("email_smtp_tls_cert: {cert_path} and {key_path} are not a certificate and its key: {e}")
        })?;
    Ok(Some(TlsAcceptor::from(Arc::new(server))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_files(cert: &[u8], key: &[u8]) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.pem"), cert).unwrap();
        std::fs::write(dir.path().join("k.pem"), key).unwrap();
        let config = Config {
            email_smtp_tls_cert: dir.path().join("c.pem").display().to_string(),
            email_smtp_tls_key: dir.path().join("k.pem").display().to_string(),
            ..Config::default()
        };
        (dir, config)
    }

    #[test]
    fn no_certificate_means_no_starttls() {
        assert!(acceptor(&Config::default()).unwrap().is_none());
    }

    #[test]
    fn unreadable_or_wrong_files_are_refused_with_the_setting_named() {
        let missing = Config {
            email_smtp_tls_cert: "/nonexistent/cert.pem".into(),
            email_smtp_tls_key: "/nonexistent/key.pem".into(),
            ..Config::default()
        };
        let error = acceptor(&missing).err().unwrap();
        assert!(
            error.starts_with("email_smtp_tls_cert: cannot read"),
            "{error}"
        );

        let (_dir, garbage) = with_files(b"not a certificate", b"not a key");
        let error = acceptor(&garbage).err().unwrap();
        assert!(error.contains("holds no certificate"), "{error}");

        let cert = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let (_dir, no_key) = with_files(cert, b"nothing here");
        let error = acceptor(&no_key).err().unwrap();
        assert!(error.starts_with("email_smtp_tls_key"), "{error}");
    }
}
