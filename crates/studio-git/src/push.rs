//! Push with a lease: publish the session branch without ever overwriting someone else's work.
//!
//! After a rollback the branch is *behind* what we pushed before, so the push must be forced. A
//! blind force push could destroy commits someone else added to the branch on the remote, so we
//! force only over the value we pushed last (`refs/studio/<hex>/pushed`, absent before the first
//! push): the lease.
//!
//! The check and the push share one connection. The remote's advertised value is compared with
//! the lease, and the push then tells the server "update from `<advertised>` to `<head>`"; a smart
//! server (ssh, https) applies that only if the branch still has the advertised value, so the
//! lease is enforced atomically by the server. (libgit2's `file://` transport updates the ref
//! without that final comparison; the window is the few milliseconds between listing and
//! writing.)

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
        if current != lease {
            let show =
                |oid: Option<Oid>| oid.map_or_else(|| "nothing".to_owned(), |o| o.to_string());
            return Err(GitError::PushConflict {
                branch: self.refs.branch_name().to_owned(),
                expected: show(lease),
                found: show(current),
            });
        }
        if current != Some(head) {
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
        }
        self.repo
            .reference(&self.refs.pushed(), head, true, "studio: pushed")
            .context("record pushed head")?;
        Ok(head)
    }
}
