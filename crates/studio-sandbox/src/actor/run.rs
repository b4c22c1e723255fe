//! The actor's run loop: one command at a time from the mailbox, and between commands the
//! renderer's status changes and the inactivity clock's alarms; then the end of the actor.

use studio_core::SandboxStatus;

use super::Actor;
use crate::error::ManagerError;
use crate::handle::{Command, Mailbox};
use crate::policy::Alarm;

/// Why the loop ended.
enum Exit {
    /// Torn down (expired, finalized, deleted): the handle is gone for good.
    TornDown,
    /// Server shutdown: the record stays as it is for the next start.
    Shutdown,
}

impl Actor {
    pub(super) async fn run(mut self, mut mailbox: Mailbox) {
        let exit = loop {
            tokio::select! {
                command = mailbox.recv() => match command {
                    Some(command) => if let Some(exit) = self.handle(command).await { break exit },
                    // Every handle dropped: the manager itself is gone.
                    None => break Exit::Shutdown,
                },
                phase = self.unit.changed() => self.on_renderer(phase).await,
                alarm = self.clock.alarm() => match alarm {
                    Alarm::Warn { seconds_left } => self.warn_expiry(seconds_left).await,
                    Alarm::Expire => {
                        tracing::info!(sandbox = %self.id, "inactivity timeout");
                        // No request to fail: the renderer goes either way, so a cookie the
                        // store did not revoke finds nothing to show.
                        if let Err(e) = self.revoke_previews().await {
                            tracing::error!(sandbox = %self.id, "could not revoke preview cookies: {e}");
                        }
                        self.teardown(SandboxStatus::Expired).await;
                        break Exit::TornDown;
                    }
                },
            }
        };
        if let Exit::TornDown = exit {
            self.shared.hub.close_topic(&self.id);
        }
        self.shared.registry.remove(&self.id);
        // Anything still queued gets an answer rather than a dropped channel.
        mailbox.close();
        while let Some(command) = mailbox.recv().await {
            command.reject(ManagerError::wrong_status("do that", self.status));
        }
    }

    /// Runs one command; `Some` ends the loop.
    async fn handle(&mut self, command: Command) -> Option<Exit> {
        match command {
            Command::Execute(req, reply) => {
                self.touch().await;
                let _ = reply.send(self.execute(req).await);
            }
            Command::Rollback(target, reply) => {
                self.touch().await;
                let _ = reply.send(self.rollback(target).await);
            }
            Command::Finalize {
                title,
                description,
                reply,
            } => {
                self.touch().await;
                match self.finalize(&title, &description).await {
                    Ok(pr) => {
                        let _ = reply.send(Ok(pr));
                        return Some(Exit::TornDown);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Restart(reply) => {
                self.touch().await;
                let _ = reply.send(self.restart().await);
            }
            Command::Stop(reply) => {
                self.touch().await;
                let _ = reply.send(self.stop().await);
            }
            Command::Start(reply) => {
                self.touch().await;
                let _ = reply.send(self.start().await);
            }
            Command::Delete(reply) => {
                if let Err(e) = self.revoke_previews().await {
                    let _ = reply.send(Err(e));
                    return None;
                }
                self.teardown(SandboxStatus::Stopped).await;
                let result = self
                    .shared
                    .store
                    .delete_sandbox(&self.id)
                    .await
                    .map(|_| ())
                    .map_err(ManagerError::from);
                let _ = reply.send(result);
                return Some(Exit::TornDown);
            }
            Command::Activity => self.touch().await,
            Command::Shutdown(reply) => {
                self.unit.shutdown().await;
                let _ = reply.send(Ok(()));
                return Some(Exit::Shutdown);
            }
        }
        None
    }
}
