//! A scripted HTTP server, used ONLY for what the real peer (Prism) cannot do: record the exact
//! request octocrab sends, and answer with a chosen fault (422 "already exists", 503, 401, an
//! echo of the credentials). Everything else is tested against Prism.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use studio_testkit::http::{Message, read_message};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Chooses the answer `(status, JSON body)` to the `n`th request (0-based, over all connections).
pub type Responder = Arc<dyn Fn(&Message, usize) -> (u16, Value) + Send + Sync>;

pub struct FakeGithub {
    pub url: String,
    requests: Arc<Mutex<Vec<Message>>>,
    task: JoinHandle<()>,
}

impl FakeGithub {
    pub async fn start(
        responder: impl Fn(&Message, usize) -> (u16, Value) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Self::serve(listener, Arc::new(responder))
    }

    /// Serves on a listener the test bound itself (to come up on a port that was refusing).
    pub fn serve(listener: TcpListener, responder: Responder) -> Self {
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let counter = Arc::new(AtomicUsize::new(0));
        let recorded = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (responder, recorded, counter) = (
                    Arc::clone(&responder),
                    Arc::clone(&recorded),
                    Arc::clone(&counter),
                );
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    while let Ok(Some(request)) = read_message(&mut reader).await {
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        let (status, body) = responder(&request, n);
                        recorded.lock().unwrap().push(request);
                        let body = body.to_string();
                        let response = format!(
                            "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if reader
                            .get_mut()
                            .write_all(response.as_bytes())
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                });
            }
        });
        Self {
            url,
            requests,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Message> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The smallest pull request GitHub could answer with (every field octocrab requires).
pub fn pull_request_json(number: u64, owner: &str, repo: &str, head: &str, base: &str) -> Value {
    json!({
        "id": 1_000_000 + number,
        "number": number,
        "url": format!("https://api.github.com/repos/{owner}/{repo}/pulls/{number}"),
        "html_url": format!("https://github.com/{owner}/{repo}/pull/{number}"),
        "state": "open",
        "locked": false,
        "head": {"ref": head, "sha": "1111111111111111111111111111111111111111", "label": format!("{owner}:{head}")},
        "base": {"ref": base, "sha": "2222222222222222222222222222222222222222", "label": format!("{owner}:{base}")},
    })
}

/// GitHub's error body: `{"message": …, "errors": […], "documentation_url": …}`.
pub fn github_error(message: &str, errors: Value) -> Value {
    json!({
        "message": message,
        "errors": errors,
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        "status": "422",
    })
}
