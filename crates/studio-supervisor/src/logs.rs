//! Per-unit logs: a bounded, timestamped ring buffer of output lines with live subscribers.
//!
//! One reader task per pipe turns bytes into lines (or, when the supervisor has a log directory,
//! one tailer per instance reads the unit's output files: `log_files.rs`). Readers are detached from the unit's
//! lifecycle: a stop never waits for a pipe to reach end-of-file (a grandchild that escaped the
//! unit may hold it open forever); once the unit is stopped its readers get a short grace to
//! drain what was already written and are then aborted.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::log_limits::LogLimits;

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One line of output, without its trailing newline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub stream: LogStream,
    /// The bytes of the line, decoded as UTF-8 (invalid sequences become U+FFFD).
    pub text: String,
}

/// Lines a live subscriber may fall behind before it gets `RecvError::Lagged`.
const LIVE_CAPACITY: usize = 1024;

/// The ring buffer plus the channel that feeds live subscribers.
#[derive(Debug)]
pub(crate) struct LogBuffer {
    limits: LogLimits,
    ring: Mutex<Ring>,
    /// Created by the first subscriber: a broadcast channel preallocates all its slots, which
    /// would dominate the memory of an idle unit nobody watches.
    live: OnceLock<broadcast::Sender<LogLine>>,
}

#[derive(Debug, Default)]
struct Ring {
    lines: VecDeque<LogLine>,
    bytes: usize,
}

impl LogBuffer {
    pub fn new(limits: LogLimits) -> Self {
        Self {
            limits,
            ring: Mutex::new(Ring::default()),
            live: OnceLock::new(),
        }
    }

    pub fn limits(&self) -> LogLimits {
        self.limits
    }

    pub fn push(&self, stream: LogStream, text: String) {
        let line = LogLine {
            at: OffsetDateTime::now_utc(),
            stream,
            text,
        };
        if let Some(live) = self.live.get().filter(|live| live.receiver_count() > 0) {
            // A subscriber may have gone since the count: that is not an error.
            let _ = live.send(line.clone());
        }
        let mut ring = self.lock();
        ring.bytes += line.text.len();
        ring.lines.push_back(line);
        while ring.lines.len() > self.limits.max_lines.max(1)
            || (ring.bytes > self.limits.max_bytes && ring.lines.len() > 1)
        {
            if let Some(old) = ring.lines.pop_front() {
                ring.bytes -= old.text.len();
            }
        }
    }

    /// The last `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<LogLine> {
        let ring = self.lock();
        ring.lines
            .iter()
            .skip(ring.lines.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.live
            .get_or_init(|| broadcast::channel(LIVE_CAPACITY).0)
            .subscribe()
    }

    /// The last `n` lines as text, for error messages.
    pub fn tail_text(&self, n: usize) -> Vec<String> {
        self.tail(n).into_iter().map(|l| l.text).collect()
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // Pushing cannot panic halfway, so a poisoned ring is still consistent.
        self.ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reads a pipe line by line into the buffer until end-of-file or until aborted.
pub(crate) fn spawn_reader(
    fd: OwnedFd,
    stream: LogStream,
    buffer: Arc<LogBuffer>,
) -> std::io::Result<JoinHandle<()>> {
    let pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(fd)?;
    Ok(tokio::spawn(async move {
        let mut splitter = LineSplitter::new(buffer.limits.max_line_bytes);
        loop {
            if pipe.readable().await.is_err() {
                break;
            }
            // The chunk lives only between awaits, so an idle reader does not keep it around.
            let mut chunk = [0u8; 16 << 10];
            match pipe.try_read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => splitter.push(&chunk[..n], |line| buffer.push(stream, line)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => break,
            }
        }
        if let Some(rest) = splitter.finish() {
            buffer.push(stream, rest);
        }
    }))
}

/// Lets readers drain what is already in their pipes, then aborts those still blocked (their pipe
/// is held open by a process outside the unit). Does not block the caller.
pub(crate) fn retire_readers(readers: Vec<JoinHandle<()>>) {
    if readers.is_empty() {
        return;
    }
    tokio::spawn(async move {
        for mut reader in readers {
            if tokio::time::timeout(Duration::from_millis(500), &mut reader)
                .await
                .is_err()
            {
                reader.abort();
            }
        }
    });
}

/// Splits a byte stream into lines of at most `max` bytes, never splitting a UTF-8 character.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    max: usize,
    partial: Vec<u8>,
}

impl LineSplitter {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max: max.max(4),
            partial: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8], mut emit: impl FnMut(String)) {
        while let Some(newline) = bytes.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&bytes[..newline]);
            self.emit_long_pieces(&mut emit);
            emit(decode(std::mem::take(&mut self.partial)));
            bytes = &bytes[newline + 1..];
        }
        self.partial.extend_from_slice(bytes);
        self.emit_long_pieces(&mut emit);
    }

    /// Emits full-size pieces of an overlong line, keeping the remainder as the partial line.
    fn emit_long_pieces(&mut self, emit: &mut impl FnMut(String)) {
        while self.partial.len() > self.max {
            let mut cut = self.max;
            // Back up to a character boundary (continuation bytes look like 0b10xxxxxx).
            while cut > 0 && (self.partial[cut] & 0xC0) == 0x80 {
                cut -= 1;
            }
            if cut == 0 {
                cut = self.max;
            }
            let rest = self.partial.split_off(cut);
            emit(decode(std::mem::replace(&mut self.partial, rest)));
        }
    }

    pub(crate) fn finish(self) -> Option<String> {
        (!self.partial.is_empty()).then(|| decode(self.partial))
    }
}

fn decode(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = LineSplitter::new(max);
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, |l| out.push(l));
        }
        out.extend(splitter.finish());
        out
    }

    #[test]
    fn lines_are_reassembled_across_chunks() {
        assert_eq!(
            split(100, &[b"he", b"llo\nwor", b"ld\n", b"tail"]),
            ["hello", "world", "tail"]
        );
        assert_eq!(split(100, &[b"\n\n"]), ["", ""]);
    }

    #[test]
    fn long_lines_are_split_on_character_boundaries() {
        let line = "aé".repeat(10); // 30 bytes, 'é' is 2 bytes
        let pieces = split(8, &[line.as_bytes(), b"\n"]);
        assert!(pieces.iter().all(|p| p.len() <= 8), "{pieces:?}");
        assert_eq!(pieces.concat(), line);
    }

    #[test]
    fn the_ring_keeps_the_newest_lines_within_both_limits() {
        let buffer = LogBuffer::new(LogLimits {
            max_lines: 3,
            max_bytes: 1000,
            max_line_bytes: 100,
            ..LogLimits::default()
        });
        for i in 0..10 {
            buffer.push(LogStream::Stdout, format!("line {i}"));
        }
        assert_eq!(buffer.tail_text(10), ["line 7", "line 8", "line 9"]);
        let buffer = LogBuffer::new(LogLimits {
            max_lines: 100,
            max_bytes: 10,
            max_line_bytes: 100,
            ..LogLimits::default()
        });
        for text in ["aaaa", "bbbb", "cccc"] {
            buffer.push(LogStream::Stderr, text.into());
        }
        assert_eq!(buffer.tail_text(10), ["bbbb", "cccc"]);
    }
}
