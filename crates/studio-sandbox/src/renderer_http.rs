//! One HTTP/1.1 exchange with a renderer over its Unix socket, for Studio's own calls
//! (`/__studio/refresh`, `/__studio/components`): `Connection: close`, the answer read to its end
//! (at most a cap), a chunked body decoded. The front door's proxy is for visitors; these calls
//! are a request line and a small answer, and need no client library.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Why an exchange gave no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExchangeError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no answer within {} s", .0.as_secs())]
    TimedOut(Duration),
    #[error("{0}")]
    Malformed(String),
}

/// Sends `method target` with `Host: localhost` (Vite's host check accepts it whatever the
/// sandbox's preview host is) and returns the status and body, of at most `max_body` bytes (a
/// longer answer is cut there, and fails to parse as whatever it should have been).
pub(crate) async fn exchange(
    socket: &Path,
    method: &str,
    target: &str,
    timeout: Duration,
    max_body: usize,
) -> Result<(u16, Vec<u8>), ExchangeError> {
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let talk = async {
        let mut stream = UnixStream::connect(socket).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        // Headers are small: a little over the body's cap leaves room for them.
        (&mut stream)
            .take(max_body as u64 + 64 * 1024)
            .read_to_end(&mut answer)
            .await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(timeout, talk)
        .await
        .map_err(|_| ExchangeError::TimedOut(timeout))??;
    split_response(&answer).map_err(ExchangeError::Malformed)
}

/// The status code and body of an HTTP/1.1 answer read to its end, with a chunked body decoded.
fn split_response(answer: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer has no end of headers")?;
    let head = String::from_utf8_lossy(&answer[..end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or("the answer has no status line")?;
    let chunked = head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    let body = &answer[end + 4..];
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut decoded = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk has no size line")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok((status, decoded));
        }
        if rest.len() < size + 2 {
            return Err("the answer ends inside a chunk".into());
        }
        decoded.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::split_response;

    #[test]
    fn plain_and_chunked_answers() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(split_response(plain).unwrap(), (200, b"{}".to_vec()));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(
            split_response(chunked).unwrap(),
            (200, b"{\"a\":1}".to_vec())
        );
        assert_eq!(
            split_response(b"HTTP/1.1 500 Oops\r\n\r\nno").unwrap().0,
            500
        );
        assert!(split_response(b"HTTP/1.1 200 OK\r\n").is_err());
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nab";
        assert!(split_response(cut).is_err());
    }
}
