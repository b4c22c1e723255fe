//! Test support shared by every Studio crate's tests and benchmarks. A dev-dependency only: no
//! production crate may depend on it, and it depends on none of Studio's crates (so that every
//! crate, whatever it depends on, can use it in its tests).
//!
//! Fixtures report a broken environment by panicking with a message that says what to fix, the way
//! a test reports a failure.

pub mod bench;
pub mod browser;
pub mod forward;
pub mod git;
pub mod http;
pub mod listeners;
pub mod node_server;
pub mod paths;
pub mod ports;
pub mod prism;
pub mod procs;
pub mod sample;
pub mod server;
pub mod unix_http;
pub mod unix_listeners;
