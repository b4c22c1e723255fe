//! The actor's run loop: one command at a time from the mailbox, and between commands the
//! renderer's status changes and the inactivity clock's alarms; then the end of the actor.

use serde_json::json;
use studio_core::{EventKind, SandboxStatus};

use super::Actor;
use crate::error::ManagerError;
use crate::handle::{Command, Mailbox, Reply};
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
        // A command taken from the mailbox while collecting restarts that join one in flight.
        let mut next: Option<Command> = None;
        let exit = loop {
            if let Some(command) = next.take() {
                if let Some(exit) = self.handle(command, &mut mailbox, &mut next).await {
                    break exit;
                }
                continue;
            }
            tokio::select! {
                command = mailbox.recv() => match command {
                    Some(command) => if let Some(exit) = self.handle(command, &mut mailbox, &mut next).await { break exit },
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
                        // No request to fail either: the record keeps its old status, and the
                        // next start finds no checkout and marks the sandbox failed.
                        if let Err(e) = self.teardown(SandboxStatus::Expired).await {
                            tracing::error!(sandbox = %self.id, "could not record the expiry: {e}");
                        }
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
        if let Some(command) = next {
            command.reject(ManagerError::wrong_status("do that", self.status));
        }
        while let Some(command) = mailbox.recv().await {
            command.reject(ManagerError::wrong_status("do that", self.status));
        }
    }

    /// Runs one command; `Some` ends the loop. A command that is not a restart found while
    /// collecting restarts is left in `next`.
    async fn handle(
        &mut self,
        command: Command,
        mailbox: &mut Mailbox,
        next: &mut Option<Command>,
    ) -> Option<Exit> {
        match command {
            Command::Execute(req, reply) => {
                let result = async {
                    self.touch().await?;
                    self.execute(req).await
                }
                .await;
                let _ = reply.send(result);
            }
            Command::Rollback(target, reply) => {
                let result = async {
                    self.touch().await?;
                    self.rollback(target).await
                }
                .await;
                let _ = reply.send(result);
            }
            Command::Finalize {
                title,
                description,
                reply,
            } => {
                let result = async {
                    self.touch().await?;
                    self.finalize(&title, &description).await
                }
                .await;
                match result {
                    Ok(pr) => {
                        // The pull request is open and recorded: the sandbox ends here even if
                        // its final status cannot be stored (then the request fails with why).
                        let result = self.teardown(SandboxStatus::Finalized).await.map(|()| pr);
                        let _ = reply.send(result);
                        return Some(Exit::TornDown);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Restart(reply) => {
                let result = async {
                    self.touch().await?;
                    self.restart().await
                }
                .await;
                let joined = join_restarts(mailbox, next);
                for reply in std::iter::once(reply).chain(joined.replies) {
                    let _ = reply.send(result.clone());
                }
                if joined.activity {
                    self.on_activity().await;
                }
            }
            Command::Stop(reply) => {
                let result = async {
                    self.touch().await?;
                    self.stop().await
                }
                .await;
                let _ = reply.send(result);
            }
            Command::Start(reply) => {
                let result = async {
                    self.touch().await?;
                    self.start().await
                }
                .await;
                let _ = reply.send(result);
            }
            Command::Delete(reply) => {
                if let Err(e) = self.revoke_previews().await {
                    let _ = reply.send(Err(e));
                    return None;
                }
                // Torn down either way; a record the store did not take fails the request, and
                // a retried DELETE (no actor then) deletes the record.
                let result = match self.teardown(SandboxStatus::Stopped).await {
                    Ok(()) => self
                        .shared
                        .store
                        .delete_sandbox(&self.id)
                        .await
                        .map(|_| ())
                        .map_err(ManagerError::from),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
                return Some(Exit::TornDown);
            }
            Command::SelectComponent { component, reply } => {
                // No touch: the manager tells the actor `Activity` for every client message.
                let result = self
                    .announce
                    .event(
                        EventKind::ComponentSelected,
                        json!({ "component": component }),
                    )
                    .await;
                let _ = reply.send(result);
            }
            Command::ReportComponents {
                reporter,
                reports,
                reply,
            } => {
                let _ = reply.send(self.report_components(reporter, reports).await);
            }
            Command::ReporterGone(reporter) => self.reporter_gone(reporter).await,
            Command::ComponentStates(reply) => {
                let _ = reply.send(Ok(self.component_states().clone()));
            }
            Command::Activity => self.on_activity().await,
            Command::Shutdown(reply) => {
                self.unit.shutdown().await;
                let _ = reply.send(Ok(()));
                return Some(Exit::Shutdown);
            }
        }
        None
    }
}

/// What [`join_restarts`] took from the mailbox.
struct Joined {
    /// Restart requests that join the one that just ran.
    replies: Vec<Reply<()>>,
    /// Whether client activity was among them (a WebSocket message does not end the run of
    /// restarts: it has no order to keep with them).
    activity: bool,
}

/// The restart requests that queued up while a restart ran: they join it (one restart, every
/// caller answered with its outcome) rather than restarting again one after the other. Only
/// those at the head of the mailbox join (activity aside): a restart asked for after another
/// command (an edit) runs after that command, as its own restart. The first other command is
/// left in `next`.
fn join_restarts(mailbox: &mut Mailbox, next: &mut Option<Command>) -> Joined {
    let mut joined = Joined {
        replies: Vec::new(),
        activity: false,
    };
    while let Ok(command) = mailbox.try_recv() {
        match command {
            Command::Restart(reply) => joined.replies.push(reply),
            Command::Activity => joined.activity = true,
            other => {
                *next = Some(other);
                break;
            }
        }
    }
    joined
}
