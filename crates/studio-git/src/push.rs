//! Push with a lease: publish the session branch without ever overwriting someone else's work.
//!
//! After a rollback the branch is *behind* what we pushed before, so the push must be forced. A
//! blind force push could destroy commits someone else added to the branch on the remote, so we
//! force only over a value that is ours: the lease.
//!
//! The check and the push share one connection. The remote's advertised value is compared with
//! the lease, and the push then tells the server "update from `<advertised>` to `<head>`"; a smart
//! server (ssh, https) applies that only if the branch still has the advertised value, so the
//! lease is enforced atomically by the server. (libgit2's `file://` transport updates the ref
//! without that final comparison; the window is the few milliseconds between listing and
//! writing.)
//!
//! # Crashes
//!
//! A push is idempotent across a crash at any point (finalize is retried after a restart):
//! - The remote already at our head is success, checked before the lease: a push that landed but
//!   whose bookkeeping did not is not a conflict with ourselves.
//! - What we are about to send is recorded (`refs/studio/<hex>/pushing`, durable like every ref)
//!   *before* it is sent, and the last value known to be on the remote stays recorded
//!   (`refs/studio/<hex>/pushed`, absent before the first push) until the push is confirmed. The
//!   lease accepts either: a crash after recording but before sending finds the remote at
//!   `pushed`; a crash after sending but before confirming finds it at `pushing`, even if the
//!   session has made more commits since. Both are commits we sent, so accepting them never
//!   overwrites anyone else's work; any other value is refused.

use std::cell::RefCell;

use git2::{Direction, ErrorClass, Oid, PushOptions};

use crate::auth;
use crate::core::SessionCore;
use crate::error::{GitContext, GitError, Result};
use crate::mirror::REMOTE;

impl SessionCore {
    /// Pushes the branch head; returns the pushed commit id.
    pub fn push(&mut self) -> Result<Oid> {
        let head = self.head()?.id();
        let branch = self.refs.branch();
        let lease = self.repo.refname_to_id(&self.refs.pushed()).ok();
        let pending = self.repo.refname_to_id(&self.refs.pushing()).ok();
        let source = &self.source;
        let token = self.token.as_ref();
        let transport_error = |e: git2::Error| auth::transport_error(source, &e);

        let mut remote = self.repo.find_remote(REMOTE).context("find remote")?;
        let mut conn = remote
            .connect_auth(Direction::Push, Some(auth::callbacks(source, token)), None)
            .map_err(transport_error)?;
        let current = conn
            .list()
            .map_err(transport_error)?
            .iter()
            .find(|h| h.name() == branch)
            .map(|h| h.oid());
        if current == Some(head) {
            // Nothing to send, whoever's bookkeeping is behind: the remote has exactly our head.
            drop(conn);
            self.record_pushed(head);
            return Ok(head);
        }
        let landed_unconfirmed = current.is_some() && current == pending;
        if current != lease && !landed_unconfirmed {
            let show =
                |oid: Option<Oid>| oid.map_or_else(|| "nothing".to_owned(), |o| o.to_string());
            return Err(GitError::PushConflict {
                branch: self.refs.branch_name().to_owned(),
                expected: show(lease),
                found: show(current),
            });
        }
        if let Some(landed) = current.filter(|_| landed_unconfirmed) {
            // An earlier push landed and we never confirmed it. Make it the lease now, before
            // `pushing` is overwritten below, or a crash during this push would forget it.
            self.repo
                .reference(
                    &self.refs.pushed(),
                    landed,
                    true,
                    "studio: pushed (confirmed late)",
                )
                .context("record pushed head")?;
        }
        // Before anything is sent (see the module documentation). If this fails, nothing is sent.
        self.repo
            .reference(&self.refs.pushing(), head, true, "studio: pushing")
            .context("record the head being pushed")?;

        let rejection = RefCell::new(None::<String>);
        let mut callbacks = auth::callbacks(source, token);
        callbacks.push_update_reference(|_refname, status| {
            if let Some(message) = status {
                *rejection.borrow_mut() = Some(message.to_owned());
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        // `+`: after a rollback the new head is not a descendant of what the remote has.
        // Safe because the lease above matched.
        let refspec = format!("+{branch}:{branch}");
        let pushed = conn.remote().push(&[refspec.as_str()], Some(&mut options));
        drop(options);
        drop(conn);
        if let Some(message) = rejection.into_inner() {
            return Err(GitError::PushRejected { message });
        }
        // Connected and listed fine, so a failure now is the remote refusing (a local
        // non-bare target, a ref it cannot update) unless it is the network itself.
        pushed.map_err(|e| match e.class() {
            ErrorClass::Net
            | ErrorClass::Http
            | ErrorClass::Ssh
            | ErrorClass::Ssl
            | ErrorClass::Os => transport_error(e),
            _ => GitError::PushRejected {
                message: e.message().to_owned(),
            },
        })?;
        self.record_pushed(head);
        Ok(head)
    }

    /// Confirms that the remote has `head`: it becomes the lease, and the pending record goes.
    ///
    /// Failing here does not fail the push, which has happened: `pushing` still names `head` (it
    /// is removed only after `pushed` is written), so the next push accepts the remote as ours.
    fn record_pushed(&self, head: Oid) {
        if let Err(e) = self
            .repo
            .reference(&self.refs.pushed(), head, true, "studio: pushed")
        {
            tracing::warn!(
                branch = self.refs.branch_name(),
                "pushed, but could not record it (the next push still recognizes it): {}",
                e.message()
            );
            return;
        }
        // A leftover `pushing` would name `head`, now the lease too, so losing this is harmless.
        if let Ok(mut pending) = self.repo.find_reference(&self.refs.pushing()) {
            let _ = pending.delete();
        }
    }
}
