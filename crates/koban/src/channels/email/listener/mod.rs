//! Koban's own SMTP listener (`email_smtp_listen`): takes mail for the
//! desk's addresses and answers 250 only once the mail is stored
//! ([`super::inbound::accept`]). Commands are parsed by `smtp-proto`; this
//! module owns the connection: limits, timeouts, TLS and the order of
//! answers. Whatever a sender writes, the worst it gets is a refusal and a
//! closed connection; the process stays up.

mod session;
mod tls;

use crate::config::Config;
use crate::domain::Drain;
use crate::state::App;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// RFC 5321 §4.5.3.1.4: a command line, CRLF included.
pub const MAX_COMMAND_LINE: usize = 512;
/// RFC 5321 §4.5.3.1.8 asks for at least 100.
pub const MAX_RECIPIENTS: usize = 100;
/// Refusals one session may collect before it is closed: a sender that
/// errs this often is probing or broken, and each answer costs us.
pub const MAX_ERRORS: u32 = 10;
/// How long open sessions may finish after shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The listener's state, a part of the application.
pub struct Listener {
    /// Where the listener is bound, once it is (tests listen on port 0).
    pub bound: OnceLock<SocketAddr>,
    /// The socket [`bind`] opened at start, until [`serve`] takes it.
    socket: Mutex<Option<TcpListener>>,
    tls: Option<TlsAcceptor>,
    limits: Limits,
}

/// What one session may take.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub max_message: usize,
    pub command_timeout: Duration,
    pub data_timeout: Duration,
    pub max_connections: usize,
    pub hostname: String,
}

impl Listener {
    /// Reads the settings and the TLS files; an unusable file fails here.
    pub fn from_config(config: &Config, desk_address: Option<&str>) -> Result<Listener, String> {
        let hostname = desk_address
            .and_then(|a| a.rsplit_once('@'))
            .map(|(_, domain)| domain.to_string())
            .unwrap_or_else(|| "localhost".into());
        Ok(Listener {
            bound: OnceLock::new(),
            socket: Mutex::new(None),
            tls: tls::acceptor(config)?,
            limits: Limits {
                max_message: config.email_max_message_bytes,
                command_timeout: Duration::from_secs(config.email_smtp_timeout_seconds),
                data_timeout: Duration::from_secs(config.email_smtp_data_timeout_seconds),
                max_connections: config.email_smtp_max_connections,
                hostname,
            },
        })
    }
}

/// Checks what [`Listener::from_config`] reads, before anything starts.
pub fn check(config: &Config) -> Result<(), String> {
    tls::acceptor(config).map(drop)
}

/// Opens `email_smtp_listen` when `koban serve` starts; a port in use or
/// an address that is not this machine's stops the start, naming it.
pub fn bind(app: &App) -> crate::domain::Bind<'_> {
    Box::pin(async move {
        let listen = &app.config.email_smtp_listen;
        if listen.is_empty() {
            return Ok(());
        }
        let socket = TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen for SMTP on {listen} (email_smtp_listen): {e}"))?;
        if let Ok(mut slot) = app.part::<Listener>().socket.lock() {
            *slot = Some(socket);
        }
        Ok(())
    })
}

/// The background task: listens until `stop`, then gives open sessions
/// [`SHUTDOWN_GRACE`] to finish (a session cut short never answered 250,
/// so its sender sends again).
pub fn serve(app: Arc<App>, mut stop: watch::Receiver<bool>) -> Drain<'static> {
    Box::pin(async move {
        let listen = app.config.email_smtp_listen.clone();
        if listen.is_empty() {
            return;
        }
        let part = app.part::<Listener>();
        let opened = part.socket.lock().ok().and_then(|mut s| s.take());
        let listener = match opened {
            Some(l) => l,
            // Started without `koban serve` (the tests run the server on
            // their own HTTP socket): bound here, and a failure only said.
            None => match TcpListener::bind(&listen).await {
                Ok(l) => l,
                Err(error) => {
                    tracing::error!(%listen, %error, "the SMTP listener cannot bind: no mail is received by SMTP");
                    return;
                }
            },
        };
        if let Ok(addr) = listener.local_addr() {
            let _ = part.bound.set(addr);
            tracing::info!(listen = %addr, "the SMTP listener is receiving mail");
        }
        let permits = Arc::new(Semaphore::new(part.limits.max_connections));
        let mut sessions = JoinSet::new();
        loop {
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => match permits.clone().try_acquire_owned() {
                        Ok(permit) => {
                            sessions.spawn(run_session(app.clone(), stream, peer, permit));
                        }
                        Err(_) => {
                            sessions.spawn(refuse_busy(stream, part.limits.hostname.clone()));
                        }
                    },
                    Err(error) => {
                        // Out of file descriptors, typically: wait rather than spin.
                        tracing::warn!(%error, "the SMTP listener could not accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            }
        }
        drop(listener);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while sessions.join_next().await.is_some() {}
        })
        .await;
        sessions.abort_all();
    })
}

async fn run_session(
    app: Arc<App>,
    stream: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
) {
    let part = app.part::<Listener>();
    let greeting = format!("220 {} ESMTP Koban\r\n", part.limits.hostname);
    let plain = session::Session::new(&app, &part.limits, peer, part.tls.is_some(), false);
    match plain.run(stream, Some(greeting)).await {
        session::End::Closed => {}
        session::End::StartTls(stream) => {
            let Some(acceptor) = &part.tls else { return };
            let handshake =
                tokio::time::timeout(part.limits.command_timeout, acceptor.accept(stream)).await;
            match handshake {
                Ok(Ok(secured)) => {
                    // RFC 3207: everything known before TLS is forgotten.
                    let secure = session::Session::new(&app, &part.limits, peer, false, true);
                    let _ = secure.run(secured, None).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "STARTTLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "STARTTLS handshake timed out"),
            }
        }
    }
}

/// Over the connection cap: a 421 tells the sender to come back later.
async fn refuse_busy(mut stream: TcpStream, hostname: String) {
    let answer = format!("421 4.3.2 {hostname} too many connections, try again later\r\n");
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
