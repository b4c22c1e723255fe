//! Clients of the front door. A preview's URL (`http://sb-<hex>.localhost:PORT/`) names a host
//! that Chromium resolves to loopback by itself but glibc does not, so these connect to
//! 127.0.0.1 and send the preview host as `Host:`, the way a browser would.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

/// One answer of the door.
#[derive(Debug, Clone)]
pub struct DoorAnswer {
    pub status: u16,
    pub content_type: String,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

/// `http://sb-<hex>.localhost:PORT/` → (`sb-<hex>.localhost`, PORT).
pub fn host_and_port(url: &str) -> (String, u16) {
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    (
        parsed.host_str().unwrap().to_owned(),
        parsed.port_or_known_default().unwrap(),
    )
}

/// A client whose every connection goes to 127.0.0.1:`port`, whatever the URL's host.
fn loopback_client(host: &str, port: u16) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve(host, SocketAddr::from(([127, 0, 0, 1], port)))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `GET` of `url` (a preview URL plus a path) through the door.
pub async fn get(url: &str) -> Result<DoorAnswer, String> {
    let (host, port) = host_and_port(url);
    let response = loopback_client(&host, port)
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    answer(response).await
}

/// `method path` on the door at 127.0.0.1:`port` with `Host: host` (any host at all).
pub async fn request_with_host(
    port: u16,
    host: &str,
    method: &str,
    path: &str,
) -> Result<DoorAnswer, String> {
    let url = format!("http://127.0.0.1:{port}{path}");
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
        .request(method, &url)
        .header(reqwest::header::HOST, host)
        .send()
        .await
        .map_err(|e| format!("{url} as {host}: {e}"))?;
    answer(response).await
}

async fn answer(response: reqwest::Response) -> Result<DoorAnswer, String> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.map_err(|e| e.to_string())?;
    Ok(DoorAnswer {
        status,
        content_type,
        text,
        headers,
    })
}

/// The token Vite's client sends with its HMR socket (`?token=`), read from `/@vite/client` as
/// served through the door.
pub async fn hmr_token(preview_url: &str) -> Result<String, String> {
    let client = get(&format!("{preview_url}@vite/client")).await?;
    if client.status != 200 {
        return Err(format!("/@vite/client: {} {}", client.status, client.text));
    }
    client
        .text
        .split_once("wsToken = \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(token, _)| token.to_owned())
        .ok_or_else(|| "no wsToken in /@vite/client".to_owned())
}

/// A connected HMR socket, as Vite's client opens it.
pub type Hmr = WebSocketStream<TcpStream>;

/// Opens the preview's HMR WebSocket through the door (subprotocol `vite-hmr`, Vite's token) and
/// waits for Vite's `connected` message. `Err((status, body))` when the handshake is refused.
pub async fn hmr_connect(preview_url: &str, token: &str) -> Result<Hmr, (u16, String)> {
    let (host, port) = host_and_port(preview_url);
    let ws_url = format!("ws://{host}:{port}/?token={token}");
    let mut request = ws_url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "vite-hmr".parse().unwrap());
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| (0, e.to_string()))?;
    let mut socket = match tokio_tungstenite::client_async(request, tcp).await {
        Ok((socket, _)) => socket,
        Err(tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            return Err((response.status().as_u16(), body));
        }
        Err(e) => return Err((0, e.to_string())),
    };
    let first = hmr_message(&mut socket, Duration::from_secs(30))
        .await
        .map_err(|e| (0, e))?;
    if first["type"] != "connected" {
        return Err((0, format!("expected Vite's connected message, got {first}")));
    }
    Ok(socket)
}

/// The next JSON message on an HMR socket.
pub async fn hmr_message(socket: &mut Hmr, limit: Duration) -> Result<serde_json::Value, String> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| format!("no HMR message within {limit:?}"))?;
        match frame {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).map_err(|e| format!("{e}: {text}"));
            }
            Some(Ok(Message::Close(frame))) => return Err(format!("closed: {frame:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("end of stream".into()),
        }
    }
}

/// Sends a WebSocket ping and waits for the renderer's pong (its `ws` library answers them): the
/// tunnel carries both directions.
pub async fn hmr_ping(socket: &mut Hmr) -> Result<(), String> {
    socket
        .send(Message::Ping(b"studio".to_vec().into()))
        .await
        .map_err(|e| e.to_string())?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| "no pong within 30 s".to_owned())?;
        match frame {
            Some(Ok(Message::Pong(data))) if data.as_ref() == b"studio" => return Ok(()),
            Some(Ok(Message::Close(frame))) => return Err(format!("closed: {frame:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("end of stream".into()),
        }
    }
}
