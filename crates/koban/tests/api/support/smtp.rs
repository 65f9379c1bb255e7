//! A fake SMTP server: enough of the protocol to receive what Koban sends
//! and to fail on purpose.

use super::*;

/// One message an [`SmtpServer`] accepted.
#[derive(Debug, Clone)]
pub struct SmtpMessage {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA section, dot-unstuffed, with CRLF line ends.
    pub data: String,
    /// Who authenticated with AUTH PLAIN on that connection, if anyone.
    pub user: Option<String>,
}

impl SmtpMessage {
    /// The first header called `name` (any case), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((key, value)) = line.split_once(':') {
                if key.trim().eq_ignore_ascii_case(name) {
                    found = Some(value.trim().to_string());
                }
            }
        }
        found
    }

    /// The body as text, undoing base64 or quoted-printable transfer encoding.
    pub fn text(&self) -> String {
        use base64::Engine;
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("");
        let encoding = self
            .header("content-transfer-encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(body.split_whitespace().collect::<String>())
                .expect("base64 body"),
            "quoted-printable" => {
                let joined = body.replace("=\r\n", "");
                let raw = joined.as_bytes();
                let mut out = Vec::new();
                let mut i = 0;
                while i < raw.len() {
                    if raw[i] == b'=' && i + 2 < raw.len() {
                        let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap_or("");
                        if let Ok(byte) = u8::from_str_radix(hex, 16) {
                            out.push(byte);
                            i += 3;
                            continue;
                        }
                    }
                    out.push(raw[i]);
                    i += 1;
                }
                out
            }
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The first 6-digit run in the body.
    pub fn code(&self) -> Option<String> {
        self.text()
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| s.len() == 6)
            .map(str::to_string)
    }
}

#[derive(Default)]
struct SmtpState {
    messages: Vec<SmtpMessage>,
    /// Answer to RCPT TO instead of 250, e.g. `451 4.3.0 try again later`.
    reject_rcpt: Option<String>,
    /// When set, AUTH PLAIN with these is required before MAIL FROM.
    credentials: Option<(String, String)>,
}

/// A small SMTP server speaking enough of RFC 5321 for a real client:
/// greeting, EHLO, optional AUTH PLAIN, MAIL, RCPT, DATA with dot-stuffing,
/// RSET, NOOP, QUIT. It records what it accepts.
pub struct SmtpServer {
    pub port: u16,
    state: Arc<std::sync::Mutex<SmtpState>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    /// Starts on a free port, accepting anyone.
    pub async fn start() -> SmtpServer {
        SmtpServer::start_with(None).await
    }

    /// Starts on a free port, requiring AUTH PLAIN with `user` and `password`.
    pub async fn with_auth(user: &str, password: &str) -> SmtpServer {
        SmtpServer::start_with(Some((user.to_string(), password.to_string()))).await
    }

    async fn start_with(credentials: Option<(String, String)>) -> SmtpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(std::sync::Mutex::new(SmtpState {
            credentials,
            ..SmtpState::default()
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(stream, state).await;
                });
            }
        });
        SmtpServer { port, state, task }
    }

    /// Points `config` at this server in live mode (with its credentials).
    pub fn configure(&self, config: &mut Config) {
        config.delivery_mode = "live".into();
        config.smtp_host = "127.0.0.1".into();
        config.smtp_port = self.port;
        config.smtp_tls = "none".into();
        if let Some((user, password)) = &self.state.lock().expect("smtp state").credentials {
            config.smtp_username = user.clone();
            config.smtp_password = password.clone();
        }
    }

    /// From now on, answer RCPT TO with `reply` (None: accept again).
    pub fn reject_recipients_with(&self, reply: Option<&str>) {
        self.state.lock().expect("smtp state").reject_rcpt = reply.map(str::to_string);
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<SmtpMessage> {
        self.state.lock().expect("smtp state").messages.clone()
    }

    /// Waits until at least `n` messages arrived; returns them all.
    pub async fn wait_for_messages(&self, n: usize) -> Vec<SmtpMessage> {
        eventually(&format!("{n} SMTP message(s)"), || async {
            let messages = self.messages();
            (messages.len() >= n).then_some(messages)
        })
        .await
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn smtp_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<String>> {
    use tokio::io::AsyncBufReadExt;
    let mut raw = Vec::new();
    if reader.read_until(b'\n', &mut raw).await? == 0 {
        return Ok(None);
    }
    while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        raw.pop();
    }
    Ok(Some(String::from_utf8_lossy(&raw).into_owned()))
}

fn smtp_address(argument: &str) -> String {
    let argument = argument.trim();
    match (argument.find('<'), argument.find('>')) {
        (Some(open), Some(close)) if open < close => argument[open + 1..close].to_string(),
        _ => argument.split_whitespace().next().unwrap_or("").to_string(),
    }
}

async fn smtp_session(
    stream: tokio::net::TcpStream,
    state: Arc<std::sync::Mutex<SmtpState>>,
) -> std::io::Result<()> {
    use base64::Engine;
    use tokio::io::AsyncWriteExt;
    let (read, mut write) = stream.into_split();
    let mut reader = tokio::io::BufReader::new(read);
    write.write_all(b"220 koban-test ESMTP ready\r\n").await?;
    let mut from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    let mut user: Option<String> = None;
    while let Some(line) = smtp_line(&mut reader).await? {
        let upper = line.to_ascii_uppercase();
        let credentials = state.lock().expect("smtp state").credentials.clone();
        let reply: String = if upper.starts_with("EHLO ") {
            let auth = if credentials.is_some() {
                "250-AUTH PLAIN\r\n"
            } else {
                ""
            };
            format!("250-koban-test greets you\r\n250-8BITMIME\r\n{auth}250 SIZE 10485760\r\n")
        } else if upper.starts_with("HELO ") {
            "250 koban-test\r\n".into()
        } else if upper.starts_with("AUTH PLAIN") {
            let initial = line[10..].trim().to_string();
            let encoded = if initial.is_empty() {
                write.write_all(b"334 \r\n").await?;
                smtp_line(&mut reader).await?.unwrap_or_default()
            } else {
                initial
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .unwrap_or_default();
            let parts: Vec<String> = decoded
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            match (&credentials, parts.as_slice()) {
                (Some((u, p)), [_, offered_user, offered_password])
                    if offered_user == u && offered_password == p =>
                {
                    user = Some(u.clone());
                    "235 2.7.0 Authentication successful\r\n".into()
                }
                _ => "535 5.7.8 Authentication credentials invalid\r\n".into(),
            }
        } else if upper.starts_with("MAIL FROM:") {
            if credentials.is_some() && user.is_none() {
                "530 5.7.0 Authentication required\r\n".into()
            } else {
                from = Some(smtp_address(&line[10..]));
                rcpts.clear();
                "250 2.1.0 OK\r\n".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            let reject = state.lock().expect("smtp state").reject_rcpt.clone();
            match (&from, reject) {
                (None, _) => "503 5.5.1 MAIL first\r\n".into(),
                (Some(_), Some(reply)) => format!("{reply}\r\n"),
                (Some(_), None) => {
                    rcpts.push(smtp_address(&line[8..]));
                    "250 2.1.5 OK\r\n".into()
                }
            }
        } else if upper == "DATA" {
            if from.is_none() || rcpts.is_empty() {
                "503 5.5.1 RCPT first\r\n".into()
            } else {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    let Some(line) = smtp_line(&mut reader).await? else {
                        return Ok(());
                    };
                    if line == "." {
                        break;
                    }
                    // Dot-unstuffing (RFC 5321 4.5.2).
                    let line = line.strip_prefix('.').map(str::to_string).unwrap_or(line);
                    data.push_str(&line);
                    data.push_str("\r\n");
                }
                let mut guard = state.lock().expect("smtp state");
                guard.messages.push(SmtpMessage {
                    mail_from: from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpts),
                    data,
                    user: user.clone(),
                });
                format!("250 2.0.0 OK queued as {}\r\n", guard.messages.len())
            }
        } else if upper == "RSET" {
            from = None;
            rcpts.clear();
            "250 2.0.0 OK\r\n".into()
        } else if upper == "NOOP" {
            "250 2.0.0 OK\r\n".into()
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            "502 5.5.2 Command not recognized\r\n".into()
        };
        write.write_all(reply.as_bytes()).await?;
    }
    Ok(())
}
