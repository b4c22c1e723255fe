//! The Node fixture server of the supervisor's tests and benchmark (`server.js`, which answers
//! every request with `{"pid": <its PID>}`): the shell command that runs it the way `npm run dev`
//! does, and asking it who answered.

use std::path::Path;

use crate::http;

/// `sh -c` script running `node <script>`: without `exec` (like `npm run dev`) the leader is `sh`
/// and the server its child; with `exec` the server is the leader.
pub fn shell_script(script: &Path, exec: bool) -> String {
    if exec {
        format!("exec node {}", script.display())
    } else {
        format!("node {}; exit $?", script.display())
    }
}

/// `GET /` on the fixture server: the PID that answered.
pub fn http_pid(port: u16) -> Option<u32> {
    http_get_pid(port, "/")
}

/// `GET path` on the fixture server: the PID that answered.
pub fn http_get_pid(port: u16, path: &str) -> Option<u32> {
    http::get_body(port, path)?
        .trim()
        .strip_prefix("{\"pid\":")?
        .strip_suffix('}')?
        .parse()
        .ok()
}

/// `GET path` on the fixture server over its Unix socket: the PID that answered.
pub fn unix_pid(socket: &Path, path: &str) -> Option<u32> {
    crate::unix_http::get(socket, path)?
        .body
        .trim()
        .strip_prefix("{\"pid\":")?
        .strip_suffix('}')?
        .parse()
        .ok()
}
