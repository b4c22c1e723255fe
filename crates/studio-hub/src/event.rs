//! The form in which an event travels through the hub.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use studio_core::Event;

/// One published event, shared by every client of its topic.
///
/// Cloning is an `Arc` clone: publishing to 1,000 clients copies a pointer 1,000 times, not the
/// payload. The wire form (the JSON text of API.md's `{"type", "payload", "seq"}`) is rendered
/// the first time a transport asks for it and then reused by every other client.
#[derive(Clone)]
pub struct SharedEvent(Arc<Inner>);

struct Inner {
    event: Event,
    json: OnceLock<String>,
}

impl SharedEvent {
    pub fn new(event: Event) -> Self {
        Self(Arc::new(Inner {
            event,
            json: OnceLock::new(),
        }))
    }

    pub fn event(&self) -> &Event {
        &self.0.event
    }

    pub fn seq(&self) -> u64 {
        self.0.event.seq
    }

    /// The event as one JSON text message, rendered once for all clients.
    pub fn json(&self) -> &str {
        self.0.json.get_or_init(|| render_json(&self.0.event))
    }
}

/// Builds the same object `serde_json::to_string(&event)` would, but through `Value`, whose
/// `Display` cannot fail: no error path to invent for something that cannot happen.
fn render_json(event: &Event) -> String {
    let mut object = Map::new();
    object.insert("type".into(), Value::String(event.kind.as_str().into()));
    object.insert("payload".into(), event.payload.clone());
    object.insert("seq".into(), Value::from(event.seq));
    Value::Object(object).to_string()
}

impl fmt::Debug for SharedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedEvent").field(&self.0.event).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use studio_core::EventKind;

    #[test]
    fn json_is_the_wire_form_of_the_event() {
        for kind in EventKind::ALL {
            let event = Event {
                kind,
                payload: serde_json::json!({"hash": "abc", "nested": {"n": [1, 2.5, null]}}),
                seq: 42,
            };
            let shared = SharedEvent::new(event.clone());
            let ours: Value = serde_json::from_str(shared.json()).unwrap();
            assert_eq!(ours, serde_json::to_value(&event).unwrap());
            // Rendered once: the second call returns the very same string.
            assert!(std::ptr::eq(shared.json(), shared.clone().json()));
        }
    }
}
