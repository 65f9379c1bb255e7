//! A minimal HTTP/1.1 client for the sign-in load: one keep-alive
//! connection per client, each request written from bytes built once, each
//! answer read with `httparse` into a buffer the connection keeps.
//!
//! The driver shares the machine's two cores with the server it measures,
//! so every microsecond it spends is taken from the hashes it counts. With
//! reqwest it cost about 140 µs of CPU per sign-in (docs/benchmarks-history.md, run 7):
//! header maps, the pool's checkout, hyper's state machine and a URL per
//! request, none of which a loop sending the same request to the same
//! address needs.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Headers an answer may carry before the driver gives up on it.
const MAX_HEADERS: usize = 32;
/// Bytes of head (status line and headers) accepted before giving up.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Why an exchange did not give a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// The server did not accept the connection.
    Connect,
    /// No whole answer within the timeout.
    Timeout,
    /// The connection broke, or closed before a whole answer arrived.
    Transport,
    /// The answer was not HTTP/1.1 this client reads: unparsable, chunked,
    /// without a length, or too large.
    Framing,
}

impl WireError {
    /// The name the report counts this failure under.
    pub fn kind(self) -> &'static str {
        match self {
            WireError::Connect => "connect",
            WireError::Timeout => "timeout",
            WireError::Transport => "transport",
            WireError::Framing => "framing",
        }
    }
}

/// Where the load goes: `http://host:port` only, as the benchmark drives a
/// server on this machine.
pub struct Endpoint {
    pub addr: SocketAddr,
    /// The Host header's value.
    pub host: String,
}

impl Endpoint {
    /// Resolves the base URL of a plain-HTTP server.
    pub async fn resolve(base: &str) -> Result<Endpoint, String> {
        let url = url::Url::parse(base).map_err(|e| format!("{base}: {e}"))?;
        if url.scheme() != "http" {
            return Err(format!(
                "{base}: the load driver speaks plain http to a server on this machine"
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("{base}: no host"))?
            .to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("{base}: {e}"))?
            .next()
            .ok_or_else(|| format!("{base}: the host has no address"))?;
        Ok(Endpoint {
            addr,
            host: format!("{host}:{port}"),
        })
    }

    /// The bytes of a POST of a JSON `body` to `path`, with extra headers.
    pub fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        request
    }
}

impl Endpoint {
    /// The bytes of a GET of `path` (with its query), with extra headers.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

/// One keep-alive connection and what it has read past the last answer.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// The server said it closes the connection after this answer.
    closing: bool,
}

impl Connection {
    /// Connects, with Nagle's algorithm off as any HTTP client has it.
    pub async fn open(addr: SocketAddr, timeout: Duration) -> Result<Connection, WireError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| WireError::Timeout)?
            .map_err(|_| WireError::Connect)?;
        stream.set_nodelay(true).map_err(|_| WireError::Connect)?;
        Ok(Connection {
            stream,
            buffer: Vec::with_capacity(4096),
            closing: false,
        })
    }

    /// Whether the connection can carry another request.
    pub fn reusable(&self) -> bool {
        !self.closing
    }

    /// Sends one whole request and reads its whole answer; returns the
    /// status. After an error the connection must not be used again.
    pub async fn exchange(&mut self, request: &[u8], timeout: Duration) -> Result<u16, WireError> {
        tokio::time::timeout(timeout, self.exchange_untimed(request))
            .await
            .map_err(|_| WireError::Timeout)?
    }

    async fn exchange_untimed(&mut self, request: &[u8]) -> Result<u16, WireError> {
        self.stream
            .write_all(request)
            .await
            .map_err(|_| WireError::Transport)?;
        loop {
            if let Some(answer) = parse_answer(&self.buffer)? {
                self.buffer.drain(..answer.length);
                self.closing = answer.closes;
                return Ok(answer.status);
            }
            if self.buffer.len() > MAX_HEAD_BYTES + (1 << 20) {
                return Err(WireError::Framing);
            }
            let read = self
                .stream
                .read_buf(&mut self.buffer)
                .await
                .map_err(|_| WireError::Transport)?;
            if read == 0 {
                return Err(WireError::Transport);
            }
        }
    }
}

/// A whole answer at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    /// Bytes of head and body together.
    length: usize,
    /// `Connection: close` was among its headers.
    closes: bool,
}

/// The answer at the start of `buffer` once all of it has arrived; None
/// while more bytes are needed.
fn parse_answer(buffer: &[u8]) -> Result<Option<Answer>, WireError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(buffer) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) if buffer.len() <= MAX_HEAD_BYTES => return Ok(None),
        Ok(httparse::Status::Partial) | Err(_) => return Err(WireError::Framing),
    };
    let status = response.code.ok_or(WireError::Framing)?;
    let mut body = None;
    let mut closes = false;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(header.value).map_err(|_| WireError::Framing)?;
            body = Some(
                text.trim()
                    .parse::<usize>()
                    .map_err(|_| WireError::Framing)?,
            );
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // Koban answers with a length; a chunked body is not read here.
            return Err(WireError::Framing);
        } else if header.name.eq_ignore_ascii_case("connection") {
            closes = header
                .value
                .split(|b| *b == b',')
                .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"));
        }
    }
    // Answers that carry no body by definition need no length.
    let body = match (body, status) {
        (Some(n), _) => n,
        (None, 100..=199 | 204 | 304) => 0,
        (None, _) => return Err(WireError::Framing),
    };
    let length = head.checked_add(body).ok_or(WireError::Framing)?;
    Ok((buffer.len() >= length).then_some(Answer {
        status,
        length,
        closes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATED: &[u8] =
        b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";

    #[test]
    fn a_whole_answer_is_measured_to_its_last_byte() {
        assert_eq!(
            parse_answer(CREATED),
            Ok(Some(Answer {
                status: 201,
                length: CREATED.len(),
                closes: false
            }))
        );
        // What follows it stays for the next answer.
        let mut two = CREATED.to_vec();
        two.extend_from_slice(b"HTTP/1.1");
        assert_eq!(parse_answer(&two).unwrap().unwrap().length, CREATED.len());
    }

    #[test]
    fn an_answer_cut_anywhere_waits_for_more() {
        for cut in 0..CREATED.len() {
            assert_eq!(parse_answer(&CREATED[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn answers_it_cannot_frame_are_refused() {
        let chunked =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        assert_eq!(parse_answer(chunked), Err(WireError::Framing));
        let no_length = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nhello";
        assert_eq!(parse_answer(no_length), Err(WireError::Framing));
        let bad_length = b"HTTP/1.1 200 OK\r\ncontent-length: -3\r\n\r\n";
        assert_eq!(parse_answer(bad_length), Err(WireError::Framing));
        assert_eq!(
            parse_answer(b"SMTP 220 hello\r\n\r\n"),
            Err(WireError::Framing)
        );
        let endless = vec![b'a'; MAX_HEAD_BYTES + 1];
        assert_eq!(parse_answer(&endless), Err(WireError::Framing));
    }

    #[test]
    fn a_closing_answer_and_one_without_body_are_read() {
        let closing = b"HTTP/1.1 429 Too Many Requests\r\nConnection: keep-alive, close\r\ncontent-length: 0\r\n\r\n";
        let answer = parse_answer(closing).unwrap().unwrap();
        assert_eq!((answer.status, answer.closes), (429, true));
        let empty = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(parse_answer(empty).unwrap().unwrap().length, empty.len());
    }

    #[tokio::test]
    async fn exchanges_with_a_server_over_one_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Answers each request in two writes, so the client must read twice.
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            for _ in 0..2 {
                let mut chunk = [0u8; 1024];
                let n = socket.read(&mut chunk).await.unwrap();
                seen.extend_from_slice(&chunk[..n]);
                socket.write_all(&CREATED[..20]).await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
                socket.write_all(&CREATED[20..]).await.unwrap();
            }
            seen
        });
        let endpoint = Endpoint::resolve(&format!("http://{addr}")).await.unwrap();
        let request =
            endpoint.post_json("/api/v1/sessions", &[("X-Koban-Device", "bench-1")], b"{}");
        let mut connection = Connection::open(endpoint.addr, Duration::from_secs(5))
            .await
            .unwrap();
        for _ in 0..2 {
            let status = connection
                .exchange(&request, Duration::from_secs(5))
                .await
                .unwrap();
            assert_eq!(status, 201);
            assert!(connection.reusable());
        }
        let seen = String::from_utf8(server.await.unwrap()).unwrap();
        assert!(seen.starts_with(&format!(
            "POST /api/v1/sessions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX-Koban-Device: bench-1\r\n\r\n{{}}"
        )), "{seen}");
        // A server gone away is a transport failure, not a status.
        assert_eq!(
            connection.exchange(&request, Duration::from_secs(5)).await,
            Err(WireError::Transport)
        );
    }

    #[tokio::test]
    async fn only_plain_http_is_driven() {
        assert!(Endpoint::resolve("https://127.0.0.1:8443").await.is_err());
        assert!(Endpoint::resolve("not a url").await.is_err());
    }
}
