//! The mail after DATA, size-limited while it is read.

use super::{Session, Step};
use crate::channels::email::inbound::{self, Envelope, Incoming};
use crate::channels::email::EmailError;
use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

impl Session<'_> {
    /// After DATA: reads to the final dot, unstuffed by `smtp-proto`,
    /// deflating as it comes (the mail is never held whole), up to the size
    /// limit; a larger mail is read to its end and dropped, so the sender
    /// gets a 552 instead of a broken connection.
    pub(super) async fn data<S>(&mut self, stream: &mut S) -> Step
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        self.reply(354, [2, 0, 0], "End data with <CR><LF>.<CR><LF>");
        if self.flush(stream).await.is_err() {
            return Step::Close;
        }
        let mut receiver = DataReceiver::new();
        // The receiver only sees a final dot after a line break: start it
        // as if one had just been read, so an empty mail ends at ".".
        receiver.ingest(&mut b"\r\n".iter(), &mut Vec::new());
        let mut incoming = Incoming::new();
        let mut chunk = Vec::new();
        let mut unwritable = false;
        let mut discard: Option<DummyDataReceiver> = None;
        let deadline = Instant::now() + self.limits.data_timeout;
        loop {
            if !self.input.is_empty() {
                let mut bytes = self.input.iter();
                let done = match discard.as_mut() {
                    Some(dummy) => dummy.ingest(&mut bytes),
                    None => receiver.ingest(&mut bytes, &mut chunk),
                };
                let consumed = self.input.len() - bytes.as_slice().len();
                self.input.drain(..consumed);
                if discard.is_none() && incoming.len() + chunk.len() > self.limits.max_message {
                    discard = Some(DummyDataReceiver::new_data(&receiver));
                    std::mem::take(&mut incoming).abandon(self.app).await;
                } else {
                    // A trailing CR stays behind: if the final dot's LF comes
                    // in the next read, the receiver takes that CR back.
                    let keep = usize::from(!done && chunk.last() == Some(&b'\r'));
                    let ready = chunk.len() - keep;
                    unwritable |= incoming.write(&chunk[..ready]).is_err();
                    chunk.drain(..ready);
                    if !unwritable && incoming.spillable() {
                        if let Err(error) = incoming.spill(self.app).await {
                            tracing::error!(peer = %self.peer, %error, "a mail being received could not be spilled");
                            unwritable = true;
                        }
                    }
                }
                if discard.is_some() {
                    chunk.clear();
                }
                if done {
                    break;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = left.min(self.limits.command_timeout);
            if self.read_more(stream, wait).await.is_err() {
                if self.timed_out {
                    self.reply(421, [4, 4, 2], "Too slow, closing connection");
                }
                incoming.abandon(self.app).await;
                return Step::Close;
            }
        }
        if discard.is_some() {
            self.reset();
            self.refuse(552, [5, 3, 4], "Message too big for this system");
            return Step::Continue;
        }
        let envelope = Envelope {
            source: "smtp".into(),
            mail_from: self.mail_from.take().unwrap_or_default(),
            recipients: std::mem::take(&mut self.recipients),
        };
        let accepted = if unwritable {
            incoming.abandon(self.app).await;
            Err(EmailError::Stored(
                0,
                "the mail could not be deflated or spilled".into(),
            ))
        } else {
            inbound::accept_incoming(self.app, &envelope, incoming).await
        };
        match accepted {
            Ok(_) => self.reply(250, [2, 0, 0], "Message accepted"),
            Err(error) => {
                tracing::error!(peer = %self.peer, %error, "an inbound mail could not be stored");
                self.reply(
                    451,
                    [4, 3, 0],
                    "Cannot store the message now, try again later",
                );
            }
        }
        Step::Continue
    }
}
