//! A token that never shows itself in logs or error messages.

use std::fmt;

/// A credential such as `GITHUB_TOKEN`.
///
/// `Debug` and `Display` print `***`, so a token inside a config struct, an error or a `tracing`
/// field cannot leak by accident. The only way to read it is [`SecretToken::expose`], which makes
/// every place that hands the secret to a transport easy to find with grep. It deliberately has no
/// `Serialize` implementation.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// Wraps a token; surrounding whitespace (a trailing newline from a file or `echo`) is dropped.
    /// Returns `None` for an empty token, so "set but empty" behaves like "unset".
    pub fn new(token: impl Into<String>) -> Option<Self> {
        let token = token.into();
        let trimmed = token.trim();
        if trimmed.is_empty() {
            None
        } else {
            Some(Self(trimmed.to_owned()))
        }
    }

    /// The secret itself, for the one call that sends it to its peer.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(***)")
    }
}

impl fmt::Display for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_token() {
        let token = SecretToken::new("ghp_supersecret\n").unwrap();
        assert_eq!(token.expose(), "ghp_supersecret");
        let shown = format!("{token} {token:?} {:?}", Some(&token));
        assert!(!shown.contains("supersecret"), "{shown}");
    }

    #[test]
    fn empty_tokens_count_as_unset() {
        assert!(SecretToken::new("").is_none());
        assert!(SecretToken::new("  \n").is_none());
    }
}
