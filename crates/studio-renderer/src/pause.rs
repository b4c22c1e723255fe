//! The preparation lock: every preparation holds it shared, a collection holds it alone.
//!
//! Two layers, because a collection may run in another process (`studio gc` beside a running
//! server on the same data dir): a tokio `RwLock` orders the tasks of this process without
//! tying up threads, and an `flock` on `<data>/renderer/.preparing.lock` orders processes. The
//! kernel drops an `flock` with its open file, so a killed holder never leaves it taken.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::RendererError;

/// The lock file, beside the stores.
const LOCK_FILE: &str = ".preparing.lock";

#[derive(Debug)]
pub(crate) struct PreparationLock {
    local: RwLock<()>,
    file: PathBuf,
}

/// Held by one preparation (dropping it releases both layers).
#[derive(Debug)]
pub(crate) struct Preparing<'a> {
    _local: RwLockReadGuard<'a, ()>,
    _file: File,
}

/// Held while preparations are paused: no preparation of any process on this data dir runs.
#[derive(Debug)]
pub struct PreparationsPaused<'a> {
    _local: RwLockWriteGuard<'a, ()>,
    _file: File,
}

impl PreparationLock {
    /// `renderer_root` is `<data>/renderer`.
    pub(crate) fn new(renderer_root: &Path) -> Self {
        Self {
            local: RwLock::new(()),
            file: renderer_root.join(LOCK_FILE),
        }
    }

    pub(crate) async fn preparing(&self) -> Result<Preparing<'_>, RendererError> {
        let local = self.local.read().await;
        let file = lock_file(self.file.clone(), FlockOperation::LockShared).await?;
        Ok(Preparing {
            _local: local,
            _file: file,
        })
    }

    pub(crate) async fn pause(&self) -> Result<PreparationsPaused<'_>, RendererError> {
        let local = self.local.write().await;
        let file = lock_file(self.file.clone(), FlockOperation::LockExclusive).await?;
        Ok(PreparationsPaused {
            _local: local,
            _file: file,
        })
    }
}

/// Opens (creating) the lock file and takes its `flock`, on the blocking pool: another process
/// may hold it for as long as its collection or preparation takes.
async fn lock_file(path: PathBuf, operation: FlockOperation) -> Result<File, RendererError> {
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(RendererError::io("create", dir))?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(RendererError::io("open", &path))?;
        flock(&file, operation).map_err(|e| RendererError::io("lock", &path)(e.into()))?;
        Ok(file)
    })
    .await
    .map_err(|e| RendererError::Task(format!("the preparation lock: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_waits_for_preparations_of_any_process_and_holds_off_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        // Two locks on one file stand for two processes: only the flock is shared between them.
        let (server, gc) = (
            PreparationLock::new(dir.path()),
            PreparationLock::new(dir.path()),
        );
        let preparing = server.preparing().await.unwrap();
        let pausing = gc.pause();
        tokio::pin!(pausing);
        assert!(
            settled(&mut pausing).await.is_none(),
            "a pause waits for the preparation under way"
        );
        drop(preparing);
        let paused = pausing.await.unwrap();
        let next = server.preparing();
        tokio::pin!(next);
        assert!(
            settled(&mut next).await.is_none(),
            "no preparation starts while paused"
        );
        drop(paused);
        next.await.unwrap();
    }

    /// Polls `future` until it is ready or 200 ms have passed (the flock waits on a thread, so
    /// one poll is not enough to see it granted).
    async fn settled<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
        tokio::time::timeout(std::time::Duration::from_millis(200), future)
            .await
            .ok()
    }
}
