//! Messages of `GET /api/v1/sandboxes/{id}/ws`, the live event stream of one sandbox.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ErrorBody;

/// One WebSocket message: `{"type", "payload", "seq"}`. `seq` is absent on replies that are not
/// sandbox events (an error answering the client's own message).
///
/// `type` stays a string rather than an enum so a client still shows event types it does not
/// know yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMessage {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub payload: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl EventMessage {
    /// The reply to a client message the server refused: `type` `error`, the error body as
    /// payload, no `seq` (it is not one of the sandbox's events).
    pub fn error(body: ErrorBody) -> Self {
        let mut payload = Map::new();
        payload.insert("error".into(), Value::String(body.error));
        payload.insert("code".into(), Value::String(body.code));
        Self {
            kind: "error".into(),
            payload: Value::Object(payload),
            seq: None,
        }
    }

    /// The message as JSON text. Built through [`Value`], whose `Display` cannot fail, so there
    /// is no error path for something that cannot happen.
    pub fn to_json(&self) -> String {
        let mut object = Map::new();
        object.insert("type".into(), Value::String(self.kind.clone()));
        object.insert("payload".into(), self.payload.clone());
        if let Some(seq) = self.seq {
            object.insert("seq".into(), Value::from(seq));
        }
        Value::Object(object).to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::roundtrip::check;

    #[test]
    fn event_message() {
        let commit = EventMessage {
            kind: "commit".into(),
            payload: json!({"hash": "abc", "message": "AI: x"}),
            seq: Some(12),
        };
        let expected =
            json!({"type": "commit", "payload": {"hash": "abc", "message": "AI: x"}, "seq": 12});
        check(&commit, expected.clone());
        assert_eq!(
            serde_json::from_str::<Value>(&commit.to_json()).unwrap(),
            expected
        );
    }

    #[test]
    fn an_error_reply_has_no_seq() {
        let reply = EventMessage::error(ErrorBody {
            error: "bad message".into(),
            code: "invalid_message".into(),
        });
        let expected = json!({"type": "error", "payload": {"error": "bad message", "code": "invalid_message"}});
        check(&reply, expected.clone());
        assert_eq!(
            serde_json::from_str::<Value>(&reply.to_json()).unwrap(),
            expected
        );
    }

    #[test]
    fn payload_and_seq_may_be_missing() {
        let bare: EventMessage = serde_json::from_value(json!({"type": "expiring"})).unwrap();
        assert_eq!(bare.payload, Value::Null);
        assert_eq!(bare.seq, None);
    }
}
