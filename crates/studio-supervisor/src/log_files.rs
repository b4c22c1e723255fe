//! Unit output in files the supervisor owns, so that a unit never writes into a pipe without a
//! reader.
//!
//! With a log directory ([`SupervisorConfig::log_dir`](crate::SupervisorConfig::log_dir)), an
//! instance's stdout and stderr are `<dir>/<unit>.out` and `<dir>/<unit>.err`. The supervisor
//! opens them (append-only, mode 0600, in a 0700 directory) *before* the fork and passes them as
//! fds 1 and 2, so a child that drops to another uid (`UnitSpec::run_as`) keeps writing to them
//! and never needs access to the directory. A pipe would lose its reader when the supervisor dies
//! (SIGKILL, crash): the child's next write then gets EPIPE or SIGPIPE, and Node dies of it. A
//! file has no reader to lose.
//!
//! One tailer task per instance reads new bytes into the unit's ring buffer. It checks the files'
//! sizes (one `fstat` each) every 10 ms after output and backs off to every 250 ms when idle; the
//! reading itself runs on the blocking pool.
//!
//! **Cap and rotation.** Once a file holds more than [`LogLimits::max_file_bytes`] and the
//! tailer has read all of it, the tailer copies it to `<file>.1` (one old generation, replaced
//! each time) and truncates it to 0. The child appends (`O_APPEND`), so its next write lands at
//! the new end instead of past a hole. Bytes written between the tailer's last read and the
//! truncation (a few system calls) are lost: the price of rotating a file whose writer does not
//! cooperate (logrotate's `copytruncate` has the same window). A rename would not do: the child
//! would go on writing to the renamed file.
//!
//! **Adoption.** A new supervisor finds the files by name in its own log directory and checks
//! that they are the very files the adopted leader has as fds 1 and 2 (same device and inode,
//! through `/proc/<pid>/fd`); it never follows a path the unit could have chosen. It first
//! replays the last `max_file_bytes` of each into its empty ring, so lines written while no
//! supervisor was alive are not lost, nor are those the dead supervisor had read (its ring died
//! with it). No read offset is persisted: the file itself is the record. Replayed lines carry the
//! time they were read, not the time they were written.
//!
//! [`LogLimits::max_file_bytes`]: crate::LogLimits::max_file_bytes

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::logs::{LineSplitter, LogBuffer, LogStream};

/// How soon the files are checked again after output was found.
const BUSY_POLL: Duration = Duration::from_millis(10);
/// The longest pause between two checks of an idle unit's files.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// How long a stop waits for the tailer's last read before abandoning it.
const FINISH_WAIT: Duration = Duration::from_secs(2);
const CHUNK: usize = 64 << 10;
/// Copy-and-catch-up rounds of a rotation before it truncates.
const ROTATE_ROUNDS: usize = 3;

const STREAMS: [(LogStream, &str, i32); 2] =
    [(LogStream::Stdout, "out", 1), (LogStream::Stderr, "err", 2)];

/// The path of one of a unit's output files.
pub(crate) fn path(dir: &Path, unit: &str, stream: LogStream) -> PathBuf {
    let ext = match stream {
        LogStream::Stdout => "out",
        LogStream::Stderr => "err",
    };
    dir.join(format!("{unit}.{ext}"))
}

/// Renames unit `from`'s output files to unit `to`'s (a transfer): the instance keeps writing
/// to the same files, now under the name that re-adoption looks for. Files `to` already had
/// (an earlier instance of it) become its old generation (`.1`).
pub(crate) fn rename_unit_files(dir: &Path, from: &str, to: &str) -> io::Result<()> {
    for (stream, _, _) in STREAMS {
        let (old, new) = (path(dir, from, stream), path(dir, to, stream));
        if new.exists() {
            let mut generation = new.clone().into_os_string();
            generation.push(".1");
            std::fs::rename(&new, generation)?;
        }
        match std::fs::rename(&old, &new) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

/// The child's ends of a new instance's output files, and what its tailer will read.
pub(crate) struct SpawnOutput {
    pub stdout: Stdio,
    pub stderr: Stdio,
    pub files: UnstartedTailer,
}

/// Files opened for a tailer that starts once the child is spawned.
pub(crate) struct UnstartedTailer(Vec<TailedFile>);

impl UnstartedTailer {
    pub fn start(self, logs: &Arc<LogBuffer>) -> Tailer {
        Tailer::start(self.0, logs.clone())
    }
}

/// Opens the unit's output files for a new instance, creating the directory and the files.
/// Reading starts at their current end: what earlier instances wrote was read by their tailers.
pub(crate) fn open_for_spawn(
    dir: &Path,
    unit: &str,
    max_line_bytes: usize,
) -> io::Result<SpawnOutput> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut ends = Vec::with_capacity(2);
    let mut files = Vec::with_capacity(2);
    for (stream, _, _) in STREAMS {
        let path = path(dir, unit, stream);
        // std opens with O_CLOEXEC; `Stdio::from` dup2s this onto fd 1 or 2 in the child only.
        let child_end = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)?;
        // Our own descriptor, writable only so that a rotation can truncate.
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let offset = file.metadata()?.len();
        files.push(TailedFile {
            offset,
            ..TailedFile::new(file, path, stream, max_line_bytes)
        });
        ends.push(child_end);
    }
    let mut ends = ends.into_iter();
    match (ends.next(), ends.next()) {
        (Some(out), Some(err)) => Ok(SpawnOutput {
            stdout: Stdio::from(out),
            stderr: Stdio::from(err),
            files: UnstartedTailer(files),
        }),
        _ => Err(io::Error::other("output files not opened")),
    }
}

/// Takes over the output files of an adopted leader, if its fds 1 and 2 are this unit's files
/// in `dir`, replays their tail into `logs`, and starts tailing. `None` when neither is (the
/// previous supervisor gave it pipes, or it was started with another log directory).
pub(crate) async fn adopt(
    dir: &Path,
    unit: &str,
    pid: i32,
    logs: &Arc<LogBuffer>,
) -> Option<Tailer> {
    let cap = logs.limits().max_file_bytes;
    let mut files = Vec::new();
    for (stream, _, fd) in STREAMS {
        let path = path(dir, unit, stream);
        match open_adopted(&path, pid, fd) {
            Ok(Some(file)) => {
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                // More than the cap accumulates only while no supervisor rotated it; its start
                // would be pushed out of the ring anyway.
                let offset = size.saturating_sub(cap);
                files.push(TailedFile {
                    offset,
                    skip_partial: offset > 0,
                    ..TailedFile::new(file, path, stream, logs.limits().max_line_bytes)
                });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(
                %unit, pid,
                "cannot take over {}: {e}; this output is not captured", path.display()
            ),
        }
    }
    if files.is_empty() {
        return None;
    }
    // Replayed before the adopted unit is handed out, so no subscriber sees old lines as new.
    let files = catch_up_all(files, logs.clone()).await?.0;
    Some(Tailer::start(files, logs.clone()))
}

/// Our file at `path`, if it is the one the process has as `fd`.
fn open_adopted(path: &Path, pid: i32, fd: i32) -> io::Result<Option<File>> {
    let theirs = match std::fs::metadata(format!("/proc/{pid}/fd/{fd}")) {
        Ok(meta) if meta.is_file() => meta,
        // A pipe, a terminal, /dev/null, or closed: not a file of ours.
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(io::Error::other(
                "the unit writes to a file that is not ours",
            ));
        }
        Err(e) => return Err(e),
    };
    let ours = file.metadata()?;
    if ours.dev() == theirs.dev() && ours.ino() == theirs.ino() {
        Ok(Some(file))
    } else {
        Err(io::Error::other(
            "the unit writes to a file that is not ours",
        ))
    }
}

/// A running tailer of one instance's output files.
#[derive(Debug)]
pub(crate) struct Tailer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Tailer {
    fn start(files: Vec<TailedFile>, logs: Arc<LogBuffer>) -> Self {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut files = files;
            let mut pause = BUSY_POLL;
            loop {
                // A dropped sender stops the tailer too (its instance is gone).
                let stopping = tokio::select! {
                    () = tokio::time::sleep(pause) => false,
                    _ = &mut stopped => true,
                };
                let mut read = 0;
                if stopping || files.iter().any(TailedFile::has_work) {
                    let Some((back, bytes)) = catch_up_all(files, logs.clone()).await else {
                        return;
                    };
                    files = back;
                    read = bytes;
                }
                if stopping {
                    for file in files {
                        file.flush_partial(&logs);
                    }
                    return;
                }
                pause = if read > 0 {
                    BUSY_POLL
                } else {
                    (pause * 2).min(IDLE_POLL)
                };
            }
        });
        Self { stop, task }
    }

    /// Reads what the instance wrote last, then ends the tailer. Awaited before the next instance
    /// opens the files, so two tailers never read (or rotate) the same file at once.
    pub async fn finish(self) {
        let _ = self.stop.send(()); // a tailer that already ended is fine
        let mut task = self.task;
        if tokio::time::timeout(FINISH_WAIT, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// Catches up with every file on the blocking pool. `None` if that task died (then the files
/// are no longer tailed).
async fn catch_up_all(
    mut files: Vec<TailedFile>,
    logs: Arc<LogBuffer>,
) -> Option<(Vec<TailedFile>, u64)> {
    tokio::task::spawn_blocking(move || {
        let cap = logs.limits().max_file_bytes;
        let mut read = 0;
        for file in &mut files {
            match file.catch_up(&logs, cap) {
                Ok(bytes) => read += bytes,
                Err(e) => tracing::warn!(file = %file.path.display(), "reading unit output: {e}"),
            }
        }
        (files, read)
    })
    .await
    .ok()
}

/// One output file and how far it has been read.
#[derive(Debug)]
struct TailedFile {
    file: File,
    path: PathBuf,
    stream: LogStream,
    offset: u64,
    splitter: LineSplitter,
    /// Reading started mid-file: the bytes up to the first newline end a line whose start was
    /// not read, so they are dropped.
    skip_partial: bool,
}

impl TailedFile {
    /// Read from the start.
    fn new(file: File, path: PathBuf, stream: LogStream, max_line_bytes: usize) -> Self {
        Self {
            file,
            path,
            stream,
            offset: 0,
            splitter: LineSplitter::new(max_line_bytes),
            skip_partial: false,
        }
    }

    /// New bytes, a truncation by someone else, or a file over the cap.
    fn has_work(&self) -> bool {
        self.file
            .metadata()
            .is_ok_and(|meta| meta.len() != self.offset)
    }

    /// Reads everything new into the ring, then rotates the file if it is over `cap`. Returns
    /// the bytes read.
    fn catch_up(&mut self, logs: &LogBuffer, cap: u64) -> io::Result<u64> {
        let read = self.drain(logs)?;
        if self.offset > cap {
            self.rotate(logs)?;
        }
        Ok(read)
    }

    /// Reads up to the size the file has now (not further: a unit writing without pause must not
    /// keep this call going forever).
    fn drain(&mut self, logs: &LogBuffer) -> io::Result<u64> {
        let size = self.file.metadata()?.len();
        if size < self.offset {
            // Truncated behind our back (by the unit itself through its own descriptor): start
            // over from the beginning.
            self.offset = 0;
        }
        // Sized to what is there: an idle unit's tailer does not hold 64 KiB per file.
        let mut chunk = vec![0u8; CHUNK.min(size.saturating_sub(self.offset) as usize)];
        let mut read = 0;
        while self.offset < size {
            let n = match self.file.read_at(&mut chunk, self.offset) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.offset += n as u64;
            read += n as u64;
            let mut bytes = &chunk[..n];
            if self.skip_partial {
                match bytes.iter().position(|&b| b == b'\n') {
                    Some(newline) => {
                        bytes = &bytes[newline + 1..];
                        self.skip_partial = false;
                    }
                    None => continue,
                }
            }
            let stream = self.stream;
            self.splitter.push(bytes, |line| logs.push(stream, line));
        }
        Ok(read)
    }

    /// Keeps the content as `<file>.1`, then truncates the file. The copy catches up with what
    /// the unit appended meanwhile (a few rounds), which narrows the window in which a write can
    /// be lost to the system calls between the last read and the truncation.
    fn rotate(&mut self, logs: &LogBuffer) -> io::Result<()> {
        if let Err(e) = self.keep_generation(logs) {
            // The cap matters more than the old generation: truncate anyway.
            tracing::warn!(file = %self.path.display(), "cannot keep the old generation: {e}");
        }
        self.file.set_len(0)?;
        self.offset = 0;
        Ok(())
    }

    fn keep_generation(&mut self, logs: &LogBuffer) -> io::Result<()> {
        let mut name = self.path.clone().into_os_string();
        name.push(".1");
        let generation = PathBuf::from(name);
        let mut temp = generation.clone().into_os_string();
        temp.push(".tmp");
        let temp = PathBuf::from(temp);
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        let mut copied = 0;
        for round in 0..ROTATE_ROUNDS {
            copy_range(&self.file, &mut out, copied, self.offset)?;
            copied = self.offset;
            if round + 1 == ROTATE_ROUNDS || self.drain(logs)? == 0 {
                break;
            }
        }
        std::fs::rename(&temp, &generation)
    }

    /// Pushes a last line that had no newline yet (its instance ended).
    fn flush_partial(self, logs: &LogBuffer) {
        if let Some(rest) = self.splitter.finish() {
            logs.push(self.stream, rest);
        }
    }
}

/// Appends bytes `from..to` of `file` to `out`.
fn copy_range(file: &File, out: &mut File, mut from: u64, to: u64) -> io::Result<()> {
    let mut chunk = vec![0u8; CHUNK];
    while from < to {
        let want = CHUNK.min((to - from) as usize);
        let n = match file.read_at(&mut chunk[..want], from) {
            Ok(0) => break, // truncated meanwhile: nothing more to keep
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&chunk[..n])?;
        from += n as u64;
    }
    Ok(())
}
