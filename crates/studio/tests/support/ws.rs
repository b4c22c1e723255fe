//! A WebSocket client of a sandbox's event stream (tokio-tungstenite, the version axum uses).

use std::time::{Duration, Instant};

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

type Socket = WebSocketStream<TcpStream>;

/// A connected client. [`WsClient::split`] gives a sender and a reader that can live in different
/// tasks: a client that publishes a lot must keep reading, or it is dropped as too slow.
pub struct WsClient {
    pub sender: WsSender,
    pub reader: WsReader,
}

pub struct WsSender {
    sink: SplitSink<Socket, Message>,
}

pub struct WsReader {
    stream: SplitStream<Socket>,
}

/// Why a handshake failed: the HTTP status (0 for a transport error) and the body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// A close frame with this code.
    Closed(Option<u16>),
    /// The connection ended without a close frame (or failed).
    Dropped(String),
    /// Nothing arrived in time.
    Silent,
}

impl WsClient {
    /// Connects to `url` (`ws://…`), sending `Authorization: Bearer` when `bearer` is given.
    pub async fn connect(url: &str, bearer: Option<&str>) -> Result<Self, Refused> {
        Self::connect_with(url, bearer, None, None).await
    }

    /// Connects as a browser page of `origin` would (its `Origin` header).
    pub async fn connect_from(url: &str, origin: &str) -> Result<Self, Refused> {
        Self::connect_with(url, None, None, Some(origin)).await
    }

    /// A client whose socket receive buffer is tiny, so that a server writing to it while the
    /// client does not read fills the connection after a few kilobytes.
    pub async fn connect_with_small_buffer(url: &str) -> Result<Self, Refused> {
        Self::connect_with(url, None, Some(4096), None).await
    }

    async fn connect_with(
        url: &str,
        bearer: Option<&str>,
        recv_buffer: Option<u32>,
        origin: Option<&str>,
    ) -> Result<Self, Refused> {
        let mut request = url.into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
        }
        if let Some(token) = bearer {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        let parsed = url::Url::parse(url).unwrap();
        let addr: std::net::SocketAddr = format!(
            "{}:{}",
            parsed.host_str().unwrap(),
            parsed.port_or_known_default().unwrap()
        )
        .parse()
        .unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let tcp = socket.connect(addr).await.map_err(|e| Refused {
            status: 0,
            body: e.to_string(),
        })?;
        match tokio_tungstenite::client_async(request, tcp).await {
            Ok((socket, _)) => {
                let (sink, stream) = socket.split();
                Ok(Self {
                    sender: WsSender { sink },
                    reader: WsReader { stream },
                })
            }
            Err(tungstenite::Error::Http(response)) => Err(Refused {
                status: response.status().as_u16(),
                body: response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            }),
            Err(e) => Err(Refused {
                status: 0,
                body: e.to_string(),
            }),
        }
    }

    pub fn split(self) -> (WsSender, WsReader) {
        (self.sender, self.reader)
    }

    pub async fn next(&mut self, limit: Duration) -> Result<Value, Ended> {
        self.reader.next(limit).await
    }

    pub async fn event(&mut self, limit: Duration) -> Value {
        self.reader.event(limit).await
    }

    pub async fn until(&mut self, kind: &str, limit: Duration) -> Vec<Value> {
        self.reader.until(kind, limit).await
    }

    pub async fn next_of(&mut self, kind: &str, limit: Duration) -> Value {
        self.reader.next_of(kind, limit).await
    }

    pub async fn send(&mut self, message: &Value) {
        self.sender.send(message).await;
    }

    pub async fn close(mut self) {
        let _ = self.sender.sink.close().await;
    }
}

impl WsReader {
    /// The next event (a JSON text frame), or how the stream ended.
    pub async fn next(&mut self, limit: Duration) -> Result<Value, Ended> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => return Err(Ended::Silent),
                Ok(None) => return Err(Ended::Dropped("end of stream".into())),
                Ok(Some(Err(e))) => return Err(Ended::Dropped(e.to_string())),
                Ok(Some(Ok(frame))) => frame,
            };
            match frame {
                Message::Text(text) => {
                    return Ok(serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}")));
                }
                Message::Close(frame) => {
                    return Err(Ended::Closed(frame.map(|f| u16::from(f.code))));
                }
                // Pings are answered by tungstenite itself.
                _ => continue,
            }
        }
    }

    /// The next event; panics if none arrives within `limit`.
    pub async fn event(&mut self, limit: Duration) -> Value {
        match self.next(limit).await {
            Ok(event) => event,
            Err(ended) => panic!("no event within {limit:?}: {ended:?}"),
        }
    }

    /// Events up to and including the first of type `kind` (panics after `limit`).
    pub async fn until(&mut self, kind: &str, limit: Duration) -> Vec<Value> {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Ok(event) => {
                    let done = event["type"] == kind;
                    seen.push(event);
                    if done {
                        return seen;
                    }
                }
                Err(ended) => {
                    panic!("no {kind:?} event within {limit:?} ({ended:?}); got {seen:#?}")
                }
            }
        }
    }

    /// The next event of type `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str, limit: Duration) -> Value {
        self.until(kind, limit).await.pop().unwrap()
    }
}

impl WsSender {
    /// Sends one text frame as given; false once the server has closed the connection.
    pub async fn try_send_text(&mut self, text: String) -> bool {
        self.sink.send(Message::text(text)).await.is_ok()
    }

    pub async fn send(&mut self, message: &Value) {
        self.sink
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }
}
