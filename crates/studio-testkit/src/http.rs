//! Just enough HTTP/1.1 over plain TCP for the tests: message parsing (shared with scripted
//! servers), a keep-alive client (to send requests a real client would never send, and as a
//! benchmark baseline), and a blocking one-shot `GET`.

use std::io::{Read, Write};
use std::net::ToSocketAddrs;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A request or response head plus body.
#[derive(Debug, Clone)]
pub struct Message {
    /// `POST /repos/o/r/pulls HTTP/1.1` or `HTTP/1.1 201 Created`.
    pub start_line: String,
    /// The headers, in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (lossily decoded as UTF-8).
    pub body: String,
}

impl Message {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The response status (for responses).
    pub fn status(&self) -> u16 {
        self.start_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// `(method, target)` (for requests).
    pub fn method_and_target(&self) -> (String, String) {
        let mut parts = self.start_line.split(' ');
        (
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
        )
    }
}

/// Reads one message; `Ok(None)` when the peer closed the connection cleanly before it.
pub async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> std::io::Result<Option<Message>> {
    let mut start_line = String::new();
    if reader.read_line(&mut start_line).await? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let mut message = Message {
        start_line: start_line.trim_end().to_owned(),
        headers,
        body: String::new(),
    };
    if message.header("transfer-encoding").is_some() {
        return Err(std::io::Error::other(
            "chunked bodies are not supported by this test helper",
        ));
    }
    let length: usize = message
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    message.body = String::from_utf8_lossy(&body).into_owned();
    Ok(Some(message))
}

/// One keep-alive connection.
#[derive(Debug)]
pub struct RawClient {
    reader: BufReader<TcpStream>,
    host: String,
}

impl RawClient {
    /// Connects to `http://host:port`.
    pub async fn connect(base_url: &str) -> std::io::Result<Self> {
        let host = base_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let stream = TcpStream::connect(&host).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(stream),
            host,
        })
    }

    /// Sends a request with a JSON body (when given) and reads the response.
    pub async fn request(
        &mut self,
        method: &str,
        target: &str,
        extra_headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> std::io::Result<Message> {
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: studio-forge-test\r\n",
            self.host
        );
        for (name, value) in extra_headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        head.push_str(body);
        self.reader.get_mut().write_all(head.as_bytes()).await?;
        read_message(&mut self.reader).await?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before the response",
            )
        })
    }
}

/// `GET path` on `127.0.0.1:port` (blocking, `Connection: close`, 2 s timeouts): the response
/// body, or `None` when nothing answered.
pub fn get_body(port: u16, path: &str) -> Option<String> {
    let addr = ("127.0.0.1", port).to_socket_addrs().ok()?.next()?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split("\r\n\r\n").nth(1).map(str::to_owned)
}
