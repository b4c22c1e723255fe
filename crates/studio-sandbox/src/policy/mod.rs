//! The rules a sandbox lives by, as plain values the actor asks: when an idle sandbox is warned
//! and expires ([`InactivityClock`]), and how many renderer crashes it survives
//! ([`renderer_restart_policy`]). No I/O here: the actor does what a rule says.

mod inactivity;
mod restart;

pub(crate) use inactivity::{Alarm, InactivityClock};
pub(crate) use restart::renderer_restart_policy;
