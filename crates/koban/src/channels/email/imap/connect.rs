//! Reaching the IMAP server: TCP, then TLS (implicit, or after STARTTLS),
//! then signing in. Each failure is worded for the administrator who has
//! to fix it, with the setting to look at.

use super::{Imap, Security};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{crypto::ring, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Connecting, the TLS handshake and signing in each get this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// An IMAP session over whichever stream the settings ask for.
pub type Session = async_imap::Session<Stream>;

/// The connection: plain, or TLS over TCP.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// The TLS client for `email_imap_tls_ca` (or the public roots when empty).
pub fn tls_connector(ca_file: &str) -> Result<TlsConnector, String> {
    let mut roots = RootCertStore::empty();
    if ca_file.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    } else {
        let pem = std::fs::read(ca_file)
            .map_err(|e| format!("email_imap_tls_ca: cannot read {ca_file}: {e}"))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("email_imap_tls_ca: {ca_file} is not PEM: {e}"))?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(format!(
                "email_imap_tls_ca: {ca_file} holds no usable certificate"
            ));
        }
    }
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("email_imap_tls_ca: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Connects and signs in; the error says what failed and what to check.
pub async fn sign_in(imap: &Imap) -> Result<Session, String> {
    let address = format!("{}:{}", imap.host, imap.port);
    let at = |what: &str| format!("{what} (email_imap_host {address})");
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&address))
        .await
        .map_err(|_| at("connecting timed out"))?
        .map_err(|e| at(&format!("cannot connect: {e}")))?;
    let stream = match imap.security {
        Security::None => Stream::Plain(tcp),
        Security::Tls => tls(imap, tcp).await?,
        Security::StartTls => {
            let mut client = async_imap::Client::new(Stream::Plain(tcp));
            greeting(&mut client).await.map_err(|e| at(&e))?;
            let asked = tokio::time::timeout(
                CONNECT_TIMEOUT,
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await;
            match asked {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    return Err(at(&format!(
                        "the server refused STARTTLS ({e}); set email_imap_security to tls if it speaks TLS on another port"
                    )))
                }
                Err(_) => return Err(at("STARTTLS timed out")),
            }
            // Whatever the server sent after its OK is dropped with the
            // plain client's buffer: nothing from before TLS is trusted.
            let Stream::Plain(tcp) = client.into_inner() else {
                return Err(at("STARTTLS on a TLS stream"));
            };
            tls(imap, tcp).await?
        }
    };
    let mut client = async_imap::Client::new(stream);
    if imap.security != Security::StartTls {
        greeting(&mut client).await.map_err(|e| at(&e))?;
    }
    let login = tokio::time::timeout(CONNECT_TIMEOUT, client.login(&imap.user, &imap.password));
    match login.await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err((error, _))) => Err(format!(
            "the IMAP server refused to sign in as `{}`: {error}; check email_imap_user and email_imap_password",
            imap.user
        )),
        Err(_) => Err(at("signing in timed out")),
    }
}

async fn greeting(client: &mut async_imap::Client<Stream>) -> Result<(), String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, client.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err("the server closed the connection before greeting".into()),
        Ok(Err(e)) => Err(format!("no IMAP greeting: {e}")),
        Err(_) => Err("no IMAP greeting in time".into()),
    }
}

async fn tls(imap: &Imap, tcp: TcpStream) -> Result<Stream, String> {
    let connector = imap
        .tls
        .as_ref()
        .ok_or_else(|| "TLS is not set up".to_string())?;
    let name = ServerName::try_from(imap.host.clone())
        .map_err(|e| format!("email_imap_host `{}` is not a server name: {e}", imap.host))?;
    let handshake = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp)).await;
    match handshake {
        Ok(Ok(stream)) => Ok(Stream::Tls(Box::new(stream))),
        Ok(Err(e)) => Err(format!(
            "TLS with {} failed: {e}; check email_imap_security and email_imap_tls_ca",
            imap.host
        )),
        Err(_) => Err(format!("TLS with {} timed out", imap.host)),
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
