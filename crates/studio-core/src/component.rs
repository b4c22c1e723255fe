//! What open renderer pages report about each component: rendered, or failed with a message and
//! a source location. Pure rules only; the sandbox's actor owns a [`ComponentStates`] table.
//!
//! A page sends `component-state` messages, each a batch of [`ComponentReport`]s keyed by
//! component and story. Studio keeps each page's latest report per key (see [`ComponentStates`]
//! for how they add up), and a report that changes a tile's state becomes one
//! `component-rendered` / `component-error` event: several pages showing the same components, or
//! one page re-sending after a reconnect, produce no more events than one page would. A tile no
//! open page reports is `pending`.
//!
//! ```
//! use studio_core::component::{ComponentStates, parse_reports};
//!
//! let batch = serde_json::json!({"states": [
//!     {"component": "Button", "story": "Primary", "state": "rendered", "file": "src/Button.stories.tsx"}
//! ]});
//! let mut states = ComponentStates::default();
//! let reports = parse_reports(&batch).unwrap();
//! assert!(states.apply(1, reports[0].clone()).unwrap().is_some()); // new: one event
//! assert!(states.apply(1, reports[0].clone()).unwrap().is_none()); // the same again: none
//! assert!(states.apply(2, reports[0].clone()).unwrap().is_none()); // another page: none
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::EventKind;

/// States one message may carry.
pub const MAX_REPORTS_PER_MESSAGE: usize = 100;
/// Distinct components and stories Studio keeps per sandbox; reports of further keys are refused
/// (a page cannot grow the server's memory without bound).
pub const MAX_TRACKED: usize = 2_000;
/// A component, story or file name longer than this is refused.
pub const MAX_NAME: usize = 200;
/// Longest file path accepted in a report.
pub const MAX_FILE: usize = 512;
/// Longer error messages are cut to this many characters (a stack trace is not a message).
pub const MAX_MESSAGE: usize = 1_000;

/// What a page knows about one tile. `Pending` is never reported: it is what nobody reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderState {
    #[default]
    Pending,
    Rendered,
    Error,
}

/// One tile's state, as a page reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentReport {
    pub component: String,
    /// The story's export name; absent for a component shown without stories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story: Option<String>,
    pub state: RenderState,
    /// Repository-relative: where the error is (its source file, resolved through source maps),
    /// or the component's file when it rendered.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The error's message; only for `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A `component-state` message Studio cannot take; the text names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidReport(pub String);

/// Reads and checks a `component-state` payload: `{"states": [report, …]}`.
pub fn parse_reports(payload: &Value) -> Result<Vec<ComponentReport>, InvalidReport> {
    let states = payload
        .get("states")
        .and_then(Value::as_array)
        .ok_or_else(|| InvalidReport("component-state needs payload.states (an array)".into()))?;
    if states.len() > MAX_REPORTS_PER_MESSAGE {
        return Err(InvalidReport(format!(
            "component-state carries {} states; at most {MAX_REPORTS_PER_MESSAGE} per message",
            states.len()
        )));
    }
    states
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let report: ComponentReport = serde_json::from_value(value.clone())
                .map_err(|e| InvalidReport(format!("payload.states[{index}]: {e}")))?;
            report
                .checked()
                .map_err(|e| InvalidReport(format!("payload.states[{index}]: {e}")))
        })
        .collect()
}

impl ComponentReport {
    /// Checks the limits and the shape a state implies; cuts an overlong message.
    fn checked(mut self) -> Result<Self, String> {
        let name_ok = |name: &str| !name.is_empty() && name.len() <= MAX_NAME;
        if !name_ok(&self.component) {
            return Err(format!("component must be 1 to {MAX_NAME} bytes"));
        }
        if self.story.as_deref().is_some_and(|story| !name_ok(story)) {
            return Err(format!("story must be 1 to {MAX_NAME} bytes"));
        }
        if self.file.is_empty() || self.file.len() > MAX_FILE || self.file.starts_with('/') {
            return Err(format!(
                "file must be a repository-relative path of 1 to {MAX_FILE} bytes"
            ));
        }
        if self.line == Some(0) {
            return Err("line counts from 1".into());
        }
        match self.state {
            RenderState::Pending => return Err("state must be \"rendered\" or \"error\"".into()),
            RenderState::Rendered => {
                self.message = None;
                self.line = None;
            }
            RenderState::Error => {
                let message = self.message.take().unwrap_or_default();
                let message = match message.char_indices().nth(MAX_MESSAGE) {
                    Some((cut, _)) => format!("{}…", &message[..cut]),
                    None => message,
                };
                self.message = Some(if message.is_empty() {
                    "unknown error".to_owned()
                } else {
                    message
                });
            }
        }
        Ok(self)
    }

    /// The event that announces this state.
    pub fn event(&self) -> (EventKind, Value) {
        let kind = match self.state {
            RenderState::Error => EventKind::ComponentError,
            RenderState::Rendered | RenderState::Pending => EventKind::ComponentRendered,
        };
        let mut payload = Map::new();
        payload.insert("component".into(), json!(self.component));
        if let Some(story) = &self.story {
            payload.insert("story".into(), json!(story));
        }
        payload.insert("file".into(), json!(self.file));
        if let Some(line) = self.line {
            payload.insert("line".into(), json!(line));
        }
        if let Some(message) = &self.message {
            payload.insert("message".into(), json!(message));
        }
        (kind, Value::Object(payload))
    }
}

/// The key of a tile: its component and, for a story tile, the story's export name.
type Key = (String, Option<String>);

/// A page (one WebSocket connection) that reports states; any number unique per connection.
pub type Reporter = u64;

/// What the open pages say of each tile, and what was announced of it.
///
/// Each page's latest report is kept apart, and a tile's state is their sum: `error` if any page
/// shows it failing (the error of the longest-connected such page, so the message does not flip
/// between pages), else `rendered`. Pages do not see an edit at the same moment, and a slow one
/// may report a failure of a version another page already shows fixed: as a sum, that changes
/// nothing until the slow page catches up, where "the latest report wins" would announce the
/// error again. A tile no open page reports is `pending` (and forgotten).
#[derive(Debug, Clone, Default)]
pub struct ComponentStates {
    pages: BTreeMap<Key, BTreeMap<Reporter, ComponentReport>>,
    announced: BTreeMap<Key, ComponentReport>,
}

/// A report of one more key than [`MAX_TRACKED`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this sandbox already tracks {MAX_TRACKED} components and stories; no more are kept")]
pub struct TooManyTracked;

/// A tile's state changed: `report` is to be announced. If it cannot be, hand it back to
/// [`ComponentStates::not_announced`], so that the next report announces it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub report: ComponentReport,
    previous: Option<ComponentReport>,
}

impl ComponentStates {
    /// Takes `reporter`'s report of a tile; returns the change to announce when the tile's state
    /// changes, `None` when the report changes nothing anyone sees.
    pub fn apply(
        &mut self,
        reporter: Reporter,
        report: ComponentReport,
    ) -> Result<Option<Change>, TooManyTracked> {
        let key = (report.component.clone(), report.story.clone());
        if !self.pages.contains_key(&key) && self.pages.len() >= MAX_TRACKED {
            return Err(TooManyTracked);
        }
        self.pages
            .entry(key.clone())
            .or_default()
            .insert(reporter, report);
        Ok(self.settle(key))
    }

    /// `reporter`'s page is gone: the tiles it reported are what the other pages say, or
    /// `pending` (forgotten, nothing to announce) when no other page reports them.
    pub fn remove_reporter(&mut self, reporter: Reporter) -> Vec<Change> {
        let keys: Vec<Key> = self
            .pages
            .iter_mut()
            .filter_map(|(key, pages)| pages.remove(&reporter).map(|_| key.clone()))
            .collect();
        keys.into_iter()
            .filter_map(|key| self.settle(key))
            .collect()
    }

    /// An announcement that did not happen (the event was not stored): the next report of the
    /// tile announces its state again.
    pub fn not_announced(&mut self, change: Change) {
        let key = (change.report.component.clone(), change.report.story.clone());
        match change.previous {
            Some(previous) => self.announced.insert(key, previous),
            None => self.announced.remove(&key),
        };
    }

    /// The tile's state now from what its pages say; a change if it differs from what was
    /// announced. A tile no page reports is dropped.
    fn settle(&mut self, key: Key) -> Option<Change> {
        let now = match self.pages.get(&key).and_then(sum) {
            Some(now) => now,
            None => {
                self.pages.remove(&key);
                self.announced.remove(&key);
                return None;
            }
        };
        if self.announced.get(&key) == Some(&now) {
            return None;
        }
        let previous = self.announced.insert(key, now.clone());
        Some(Change {
            report: now,
            previous,
        })
    }

    /// Tiles some page reports.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The state of a component shown alone (`story: None`) or of one of its stories, as the
    /// open pages say it now; `None` is `pending`.
    pub fn get(&self, component: &str, story: Option<&str>) -> Option<ComponentReport> {
        self.pages
            .get(&(component.to_owned(), story.map(str::to_owned)))
            .and_then(sum)
    }
}

/// The state of a tile from its pages' reports: the first failing page's (in connection order),
/// else the first page's `rendered`; `None` when no page reports it.
fn sum(pages: &BTreeMap<Reporter, ComponentReport>) -> Option<ComponentReport> {
    pages
        .values()
        .find(|report| report.state == RenderState::Error)
        .or_else(|| pages.values().next())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(component: &str, story: Option<&str>, state: &str) -> Value {
        let mut value = json!({"component": component, "state": state, "file": "src/A.tsx"});
        if let Some(story) = story {
            value["story"] = json!(story);
        }
        if state == "error" {
            value["message"] = json!("Error: boom");
            value["line"] = json!(3);
        }
        value
    }

    fn parse_one(value: Value) -> Result<ComponentReport, InvalidReport> {
        parse_reports(&json!({ "states": [value] })).map(|mut all| all.remove(0))
    }

    #[test]
    fn only_changes_are_announced() {
        let mut states = ComponentStates::default();
        let rendered = parse_one(report("A", None, "rendered")).unwrap();
        let broken = parse_one(report("A", None, "error")).unwrap();
        assert!(states.apply(1, rendered.clone()).unwrap().is_some());
        assert!(states.apply(1, rendered.clone()).unwrap().is_none());
        let changed = states.apply(1, broken.clone()).unwrap().unwrap().report;
        assert_eq!(changed.event().0, EventKind::ComponentError);
        assert_eq!(
            changed.event().1,
            json!({"component": "A", "file": "src/A.tsx", "line": 3, "message": "Error: boom"})
        );
        // Another message on the same line is another state.
        let mut other = broken.clone();
        other.message = Some("Error: other".into());
        assert!(states.apply(1, other).unwrap().is_some());
        assert_eq!(
            states.apply(1, rendered).unwrap().unwrap().report.event().0,
            EventKind::ComponentRendered
        );
        // A story is a key of its own.
        let story = parse_one(report("A", Some("Primary"), "rendered")).unwrap();
        assert!(states.apply(1, story).unwrap().is_some());
        assert_eq!(states.len(), 2);
        assert!(states.get("A", Some("Primary")).is_some());
        assert!(states.remove_reporter(1).is_empty());
        assert!(states.is_empty() && states.get("A", None).is_none());
    }

    #[test]
    fn pages_add_up_an_error_wins_and_a_closed_page_leaves_the_others() {
        let mut states = ComponentStates::default();
        let rendered = parse_one(report("A", None, "rendered")).unwrap();
        let broken = parse_one(report("A", None, "error")).unwrap();
        let mut other_error = broken.clone();
        other_error.message = Some("Error: said differently".into());
        // Two pages see the break: one event, with the older page's message.
        assert!(states.apply(1, broken.clone()).unwrap().is_some());
        assert!(states.apply(2, other_error.clone()).unwrap().is_none());
        assert_eq!(states.get("A", None).unwrap(), broken);
        // The fix reaches page 1 first; page 2, behind, still (or again) reports the failure:
        // nothing changes until page 2 catches up.
        let change = states.apply(1, rendered.clone()).unwrap().unwrap();
        assert_eq!(change.report, other_error, "page 2 still shows the error");
        assert!(states.apply(2, other_error).unwrap().is_none());
        assert_eq!(
            states.apply(2, rendered.clone()).unwrap().unwrap().report,
            rendered
        );
        // Page 2 fails again and closes: page 1's state is the tile's.
        assert!(states.apply(2, broken.clone()).unwrap().is_some());
        let after_close = states.remove_reporter(2);
        assert_eq!(after_close.len(), 1);
        assert_eq!(after_close[0].report, rendered);
        // The last page closes: pending, nothing to announce, and a new page announces again.
        assert!(states.remove_reporter(1).is_empty());
        assert!(states.get("A", None).is_none() && states.is_empty());
        assert!(states.apply(3, rendered).unwrap().is_some());
    }

    #[test]
    fn an_announcement_that_did_not_happen_is_made_by_the_next_report() {
        let mut states = ComponentStates::default();
        let rendered = parse_one(report("A", None, "rendered")).unwrap();
        let change = states.apply(1, rendered.clone()).unwrap().unwrap();
        states.not_announced(change);
        assert!(states.apply(1, rendered.clone()).unwrap().is_some());
        let broken = parse_one(report("A", None, "error")).unwrap();
        let change = states.apply(1, broken).unwrap().unwrap();
        states.not_announced(change);
        // What was announced is `rendered` again: the same error is a change once more.
        let broken = parse_one(report("A", None, "error")).unwrap();
        assert!(states.apply(1, broken).unwrap().is_some());
    }

    #[test]
    fn bad_reports_are_named() {
        let cases = [
            (json!({"states": 3}), "payload.states"),
            (json!({}), "payload.states"),
            (
                json!({"states": [report("", None, "rendered")]}),
                "component must be",
            ),
            (
                json!({"states": [{"component": "A", "state": "pending", "file": "a.tsx"}]}),
                "state must be",
            ),
            (
                json!({"states": [{"component": "A", "state": "odd", "file": "a.tsx"}]}),
                "unknown variant",
            ),
            (
                json!({"states": [{"component": "A", "state": "error", "file": "/etc/passwd"}]}),
                "repository-relative",
            ),
            (
                json!({"states": [{"component": "A", "state": "error", "file": "a.tsx", "line": 0}]}),
                "line counts from 1",
            ),
            (
                json!({"states": [{"component": "A", "state": "error", "file": "a.tsx", "extra": 1}]}),
                "unknown field",
            ),
        ];
        for (payload, expected) in cases {
            let error = parse_reports(&payload).unwrap_err().0;
            assert!(error.contains(expected), "{payload}: {error}");
        }
        let many: Vec<Value> = (0..=MAX_REPORTS_PER_MESSAGE)
            .map(|i| report(&format!("C{i}"), None, "rendered"))
            .collect();
        let error = parse_reports(&json!({ "states": many })).unwrap_err().0;
        assert!(error.contains("at most 100"), "{error}");
    }

    #[test]
    fn messages_are_cut_and_rendered_states_carry_no_error() {
        let long = "x".repeat(MAX_MESSAGE + 50);
        let cut = parse_one(
            json!({"component": "A", "state": "error", "file": "a.tsx", "message": long}),
        )
        .unwrap();
        assert_eq!(cut.message.unwrap().chars().count(), MAX_MESSAGE + 1);
        let bare = parse_one(json!({"component": "A", "state": "error", "file": "a.tsx"})).unwrap();
        assert_eq!(bare.message.as_deref(), Some("unknown error"));
        let rendered = parse_one(
            json!({"component": "A", "state": "rendered", "file": "a.tsx", "line": 4, "message": "m"}),
        )
        .unwrap();
        assert_eq!((rendered.line, rendered.message), (None, None));
    }

    #[test]
    fn the_table_is_capped() {
        let mut states = ComponentStates::default();
        for i in 0..MAX_TRACKED {
            let one = parse_one(report(&format!("C{i}"), None, "rendered")).unwrap();
            assert!(states.apply(1, one).unwrap().is_some());
        }
        let extra = parse_one(report("Extra", None, "rendered")).unwrap();
        assert_eq!(states.apply(1, extra), Err(TooManyTracked));
        // Known keys still change.
        let known = parse_one(report("C0", None, "error")).unwrap();
        assert!(states.apply(1, known).unwrap().is_some());
    }
}
