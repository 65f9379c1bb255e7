//! One SMTP conversation. Answers are queued and written whenever the
//! sender's input runs dry (RFC 2920), so a sender that pipelines gets
//! every answer in order, and a sender that never reads is cut off by the
//! write timeout rather than holding a task forever.

mod data;
mod refusals;

use super::{Limits, MAX_COMMAND_LINE, MAX_ERRORS, MAX_RECIPIENTS};
use crate::state::App;
use smtp_proto::{
    EhloResponse, Request, Response, EXT_8BIT_MIME, EXT_ENHANCED_STATUS_CODES, EXT_HELP,
    EXT_PIPELINING, EXT_SIZE, EXT_SMTP_UTF8, EXT_START_TLS,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

const READ_CHUNK: usize = 8192;

/// How a session ended.
pub enum End<S> {
    Closed,
    /// The sender asked for TLS and was told to go ahead.
    StartTls(S),
}

/// Why a session stops reading.
enum Stop {
    /// The sender closed, failed or timed out; whatever could be said was.
    Gone,
}

pub struct Session<'a> {
    app: &'a App,
    limits: &'a Limits,
    peer: SocketAddr,
    offer_tls: bool,
    secure: bool,
    input: Vec<u8>,
    output: Vec<u8>,
    /// Skipping the rest of an overlong command line.
    discarding: bool,
    greeted: bool,
    mail_from: Option<String>,
    recipients: Vec<String>,
    errors: u32,
    /// The last read ended because the sender was silent too long.
    timed_out: bool,
}

enum Line {
    Command(Vec<u8>),
    TooLong,
}

impl<'a> Session<'a> {
    pub fn new(
        app: &'a App,
        limits: &'a Limits,
        peer: SocketAddr,
        offer_tls: bool,
        secure: bool,
    ) -> Session<'a> {
        Session {
            app,
            limits,
            peer,
            offer_tls,
            secure,
            input: Vec::new(),
            output: Vec::new(),
            discarding: false,
            greeted: false,
            mail_from: None,
            recipients: Vec::new(),
            errors: 0,
            timed_out: false,
        }
    }

    pub async fn run<S>(mut self, mut stream: S, greeting: Option<String>) -> End<S>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        if let Some(greeting) = greeting {
            self.output.extend_from_slice(greeting.as_bytes());
        }
        loop {
            let line = match self.next_line(&mut stream).await {
                Ok(line) => line,
                Err(Stop::Gone) => return End::Closed,
            };
            let step = match line {
                Line::TooLong => {
                    self.refuse(500, [5, 5, 2], "Line too long");
                    Step::Continue
                }
                Line::Command(line) => self.command(&line, &mut stream).await,
            };
            match step {
                Step::Continue if self.errors >= MAX_ERRORS => {
                    self.reply(421, [4, 7, 0], "Too many errors, closing connection");
                    let _ = self.flush(&mut stream).await;
                    return End::Closed;
                }
                Step::Continue => {}
                Step::Close => {
                    let _ = self.flush(&mut stream).await;
                    return End::Closed;
                }
                Step::StartTls => {
                    if self.flush(&mut stream).await.is_err() {
                        return End::Closed;
                    }
                    // Commands pipelined behind STARTTLS were sent in the
                    // clear: they are dropped, never run inside TLS.
                    return End::StartTls(stream);
                }
            }
        }
    }

    async fn command<S>(&mut self, line: &[u8], stream: &mut S) -> Step
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let request = match Request::parse(&mut line.iter()) {
            Ok(request) => request,
            Err(error) => {
                self.syntax_error(error);
                return Step::Continue;
            }
        };
        match request {
            Request::Ehlo { host } => {
                self.greeted = true;
                self.reset();
                let mut ehlo = EhloResponse::new(self.limits.hostname.as_str());
                ehlo.capabilities = EXT_SIZE
                    | EXT_8BIT_MIME
                    | EXT_PIPELINING
                    | EXT_SMTP_UTF8
                    | EXT_ENHANCED_STATUS_CODES
                    | EXT_HELP;
                if self.offer_tls && !self.secure {
                    ehlo.capabilities |= EXT_START_TLS;
                }
                ehlo.size = self.limits.max_message;
                let _ = ehlo.write(&mut self.output);
                tracing::debug!(peer = %self.peer, %host, "EHLO");
            }
            Request::Helo { host } => {
                self.greeted = true;
                self.reset();
                let answer = format!("{} greets {host}", self.limits.hostname);
                self.reply(250, [2, 0, 0], &answer);
            }
            Request::StartTls if !self.offer_tls || self.secure => {
                self.refuse(502, [5, 5, 1], "STARTTLS not available");
            }
            Request::StartTls => {
                self.reply(220, [2, 0, 0], "Ready to start TLS");
                return Step::StartTls;
            }
            Request::Mail { .. } if !self.greeted => {
                self.refuse(503, [5, 5, 1], "Send EHLO first");
            }
            Request::Mail { .. } if self.mail_from.is_some() => {
                self.refuse(503, [5, 5, 1], "Sender already given");
            }
            Request::Mail { from } if from.size > self.limits.max_message => {
                self.refuse(552, [5, 3, 4], "Message too big for this system");
            }
            Request::Mail { from } => {
                self.mail_from = Some(from.address.into_owned());
                self.reply(250, [2, 1, 0], "Sender OK");
            }
            Request::Rcpt { .. } if self.mail_from.is_none() => {
                self.refuse(503, [5, 5, 1], "Send MAIL first");
            }
            Request::Rcpt { .. } if self.recipients.len() >= MAX_RECIPIENTS => {
                self.reply(452, [4, 5, 3], "Too many recipients");
            }
            Request::Rcpt { to } => {
                let settings = crate::channels::email::settings(self.app);
                if settings.recipient(&to.address).is_some() {
                    self.recipients.push(to.address.into_owned());
                    self.reply(250, [2, 1, 5], "Recipient OK");
                } else {
                    self.refuse(550, [5, 1, 1], "No such recipient here");
                }
            }
            Request::Data if self.recipients.is_empty() => {
                self.refuse(503, [5, 5, 1], "Send RCPT first");
            }
            Request::Data => return self.data(stream).await,
            Request::Rset => {
                self.reset();
                self.reply(250, [2, 0, 0], "Reset");
            }
            Request::Noop { .. } => self.reply(250, [2, 0, 0], "OK"),
            Request::Vrfy { .. } => self.reply(252, [2, 5, 0], "Cannot verify, send mail and see"),
            Request::Help { .. } => self.reply(
                214,
                [2, 0, 0],
                "Commands: EHLO HELO STARTTLS MAIL RCPT DATA RSET NOOP VRFY HELP QUIT",
            ),
            Request::Quit => {
                self.reply(221, [2, 0, 0], "Bye");
                return Step::Close;
            }
            Request::Lhlo { .. }
            | Request::Bdat { .. }
            | Request::Auth { .. }
            | Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => {
                self.refuse(502, [5, 5, 1], "Command not implemented");
            }
        }
        Step::Continue
    }

    /// The next command line, or word that one was too long. Answers queued
    /// so far are written before waiting for more input.
    async fn next_line<S>(&mut self, stream: &mut S) -> Result<Line, Stop>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        loop {
            let newline = self.input.iter().position(|&b| b == b'\n');
            if self.discarding {
                match newline {
                    Some(at) => {
                        self.input.drain(..=at);
                        self.discarding = false;
                        continue;
                    }
                    None => self.input.clear(),
                }
            } else {
                match newline {
                    Some(at) if at < MAX_COMMAND_LINE => {
                        let line: Vec<u8> = self.input.drain(..=at).collect();
                        return Ok(Line::Command(line));
                    }
                    Some(at) => {
                        self.input.drain(..=at);
                        return Ok(Line::TooLong);
                    }
                    None if self.input.len() >= MAX_COMMAND_LINE => {
                        self.input.clear();
                        self.discarding = true;
                        return Ok(Line::TooLong);
                    }
                    None => {}
                }
            }
            self.flush(stream).await?;
            let wait = self.limits.command_timeout;
            if let Err(stop) = self.read_more(stream, wait).await {
                if self.timed_out {
                    self.reply(421, [4, 4, 2], "Idle too long, closing connection");
                    let _ = self.flush(stream).await;
                }
                return Err(stop);
            }
        }
    }

    /// Reads what the sender has written, waiting at most `wait`.
    async fn read_more<S>(&mut self, stream: &mut S, wait: Duration) -> Result<(), Stop>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let mut chunk = [0u8; READ_CHUNK];
        match timeout(wait, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => Err(Stop::Gone),
            Ok(Ok(n)) => {
                self.input.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(_) => {
                self.timed_out = true;
                Err(Stop::Gone)
            }
        }
    }

    /// Writes the queued answers; a sender that does not read them within
    /// the command timeout is dropped.
    async fn flush<S>(&mut self, stream: &mut S) -> Result<(), Stop>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        if self.output.is_empty() {
            return Ok(());
        }
        let written = timeout(self.limits.command_timeout, async {
            stream.write_all(&self.output).await?;
            stream.flush().await
        })
        .await;
        self.output.clear();
        match written {
            Ok(Ok(())) => Ok(()),
            _ => Err(Stop::Gone),
        }
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.recipients.clear();
    }

    fn reply(&mut self, code: u16, [a, b, c]: [u8; 3], message: &str) {
        let _ = Response::new(code, a, b, c, message).write(&mut self.output);
    }

    /// A refusal that counts toward [`MAX_ERRORS`].
    fn refuse(&mut self, code: u16, status: [u8; 3], message: &str) {
        self.errors += 1;
        self.reply(code, status, message);
    }
}

enum Step {
    Continue,
    Close,
    StartTls,
}
