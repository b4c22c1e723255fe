//! The text of a session's pull request: the user's description, then the session's commits.

use studio_core::CommitInfo;

/// GitHub refuses pull request bodies over 65 536 characters; stay well below with the commit
/// list, which is the part we control (the user's own text is never cut).
const MAX_BODY_CHARS: usize = 60_000;

/// The pull request description: the user's text, then the session's commits, oldest first, as a
/// Markdown list of `short-hash subject` (GitHub links the short hashes to the commits).
///
/// Only each message's first line is shown, with Markdown's special characters escaped so that a
/// subject such as `Updated <Button> *hover*` reads as written instead of vanishing into HTML.
/// When the list would make the body too long for GitHub, the rest is summarised in one line.
pub fn pull_request_body(description: &str, commits: &[CommitInfo]) -> String {
    let mut body = description.trim().to_owned();
    if commits.is_empty() {
        return body;
    }
    if !body.is_empty() {
        body.push_str("\n\n");
    }
    let plural = if commits.len() == 1 { "" } else { "s" };
    body.push_str(&format!(
        "### Session commits ({} commit{plural})\n\n",
        commits.len()
    ));
    let mut body_chars = body.chars().count();
    for (shown, commit) in commits.iter().enumerate() {
        let line = format!(
            "- {} {}\n",
            short_hash(&commit.hash),
            escape_markdown(subject(&commit.message))
        );
        let line_chars = line.chars().count();
        // Reserve room for the summary line so that adding it can never exceed the limit.
        if body_chars + line_chars + 80 > MAX_BODY_CHARS {
            let rest = commits.len() - shown;
            body.push_str(&format!("- … and {rest} more (see the branch)\n"));
            break;
        }
        body.push_str(&line);
        body_chars += line_chars;
    }
    body
}

fn short_hash(hash: &str) -> &str {
    hash.get(..7).unwrap_or(hash)
}

fn subject(message: &str) -> &str {
    let first = message.trim().lines().next().unwrap_or_default().trim();
    if first.is_empty() {
        "(no message)"
    } else {
        first
    }
}

fn escape_markdown(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']' | '~') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn commit(hash: &str, message: &str) -> CommitInfo {
        CommitInfo {
            hash: hash.to_owned(),
            message: message.to_owned(),
            timestamp: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn lists_commits_under_the_users_text() {
        let body = pull_request_body(
            "  Rounder buttons.\n\nAsked for by design.  ",
            &[
                commit(
                    "1a2b3c4d5e6f1a2b3c4d5e6f1a2b3c4d5e6f1a2b",
                    "AI: Updated border-radius - 2026-11-22 14:30",
                ),
                commit(
                    "ffffffffffffffffffffffffffffffffffffffff",
                    "AI: Hover <Button> *state*\n\nlong body",
                ),
            ],
        );
        assert_eq!(
            body,
            "Rounder buttons.\n\nAsked for by design.\n\n### Session commits (2 commits)\n\n\
             - 1a2b3c4 AI: Updated border-radius - 2026-11-22 14:30\n\
             - fffffff AI: Hover \\<Button\\> \\*state\\*\n"
        );
    }

    #[test]
    fn empty_description_or_no_commits() {
        assert_eq!(
            pull_request_body(" ", &[commit("abc", "x")]),
            "### Session commits (1 commit)\n\n- abc x\n"
        );
        assert_eq!(pull_request_body("Just text", &[]), "Just text");
        assert_eq!(
            pull_request_body("", &[commit("abcdef0123", "  \n")])
                .lines()
                .last(),
            Some("- abcdef0 (no message)")
        );
    }

    #[test]
    fn a_huge_session_is_summarised_within_githubs_limit() {
        let commits: Vec<_> = (0..5000)
            .map(|i| commit(&format!("{i:040x}"), &"é".repeat(40)))
            .collect();
        let body = pull_request_body("Big session", &commits);
        assert!(
            body.chars().count() <= MAX_BODY_CHARS,
            "{}",
            body.chars().count()
        );
        let last = body.lines().last().unwrap();
        let listed = body
            .lines()
            .filter(|l| l.starts_with("- ") && !l.contains('…'))
            .count();
        assert_eq!(
            last,
            format!("- … and {} more (see the branch)", 5000 - listed)
        );
        assert!(body.starts_with("Big session\n\n### Session commits (5000 commits)"));
    }
}
