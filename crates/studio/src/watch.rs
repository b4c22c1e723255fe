//! `studio watch`: a sandbox's events over the WebSocket, resuming after the server drops us.

use futures::StreamExt;
use studio_wire::EventMessage;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest, http::HeaderValue};
use url::Url;

use crate::client::{Client, ClientError, display_url, root_cause};
use crate::error::CliError;

/// WebSocket close codes the hub sends (see `studio_hub::CloseReason`).
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_TOO_SLOW: u16 = 1008;
const CLOSE_TRY_AGAIN: u16 = 1013;
/// Reconnections in a row (with no event in between) before giving up.
const MAX_RESUMES: u32 = 3;
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What `watch` reports besides events (to stderr, so stdout stays a clean event stream).
pub trait WatchOutput {
    /// One message as received (`raw`) and parsed.
    fn event(&mut self, raw: &str, event: &EventMessage) -> Result<(), CliError>;
    fn notice(&mut self, message: &str);
}

/// Prints events until the sandbox is closed (`Ok`) or the stream fails.
pub async fn watch(
    client: &Client,
    id: &studio_core::SandboxId,
    since: Option<u64>,
    output: &mut dyn WatchOutput,
) -> Result<(), CliError> {
    let mut resume_from = since;
    let mut resumes = 0;
    loop {
        let url = client.websocket_url(id, resume_from);
        let mut socket = connect(client, &url).await?;
        let close = loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let event = serde_json::from_str::<EventMessage>(&text).unwrap_or_else(|_| {
                        EventMessage {
                            kind: "message".into(),
                            payload: serde_json::Value::String(text.to_string()),
                            seq: None,
                        }
                    });
                    if event.seq.is_some() {
                        resume_from = event.seq;
                        resumes = 0;
                    }
                    output.event(&text, &event)?;
                }
                Some(Ok(Message::Close(frame))) => {
                    break frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                }
                // Pings are answered by tungstenite itself; nothing else is expected.
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    return Err(ClientError::ConnectionLost {
                        reason: root_cause(&e),
                    }
                    .into());
                }
                None => {
                    return Err(ClientError::ConnectionLost {
                        reason: "the stream ended without a close frame".into(),
                    }
                    .into());
                }
            }
        };
        match close {
            Some((CLOSE_NORMAL, reason)) => {
                output.notice(&format!(
                    "stream closed by the server: {}",
                    non_empty(&reason, "done")
                ));
                return Ok(());
            }
            Some((CLOSE_GOING_AWAY, _)) => {
                return Err(ClientError::ConnectionLost {
                    reason: "the server is shutting down".into(),
                }
                .into());
            }
            Some((CLOSE_TOO_SLOW | CLOSE_TRY_AGAIN, _)) if resumes < MAX_RESUMES => {
                resumes += 1;
                let from = resume_from.map_or_else(|| "now".to_owned(), |s| format!("seq {s}"));
                output.notice(&format!("fell behind the server; resuming after {from}"));
            }
            Some((code, reason)) => {
                let reason = non_empty(&reason, "no reason given");
                let reason = format!("closed by the server ({code}: {reason})");
                return Err(ClientError::ConnectionLost { reason }.into());
            }
            None => {
                let reason = "closed by the server without a reason".to_owned();
                return Err(ClientError::ConnectionLost { reason }.into());
            }
        }
    }
}

fn non_empty<'a>(s: &'a str, otherwise: &'a str) -> &'a str {
    if s.is_empty() { otherwise } else { s }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(client: &Client, url: &Url) -> Result<Socket, ClientError> {
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| ClientError::BadResponse {
            what: "websocket URL".into(),
            reason: e.to_string(),
        })?;
    if let Some(token) = client.token() {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                ClientError::Unreachable {
                    server: display_url(client.server()),
                    reason: "the API token contains characters not allowed in an HTTP header"
                        .into(),
                }
            })?;
        value.set_sensitive(true);
        request
            .headers_mut()
            .insert(tungstenite::http::header::AUTHORIZATION, value);
    }
    if url.scheme() == "wss" {
        install_tls_provider();
    }
    let handshake = tokio_tungstenite::connect_async(request);
    let (socket, _) = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Err(_) => {
            return Err(ClientError::TimedOut {
                server: display_url(client.server()),
            });
        }
        Ok(result) => result.map_err(|e| handshake_error(client.server(), e))?,
    };
    Ok(socket)
}

/// The binary links rustls with more than one crypto provider (ring for some dependencies,
/// aws-lc-rs for reqwest), and rustls refuses to pick one on its own: name aws-lc-rs, the one
/// reqwest's HTTPS already uses. Installing twice is harmless (the second attempt is refused).
fn install_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

fn handshake_error(server: &Url, err: tungstenite::Error) -> ClientError {
    match err {
        tungstenite::Error::Io(io) => ClientError::unreachable(server, &io),
        tungstenite::Error::Http(response) => {
            let body = response.body().clone().unwrap_or_default();
            ClientError::from_error_response(response.status().as_u16(), &body)
        }
        other => ClientError::Unreachable {
            server: display_url(server),
            reason: root_cause(&other),
        },
    }
}
