//! The host uid and gid jailed processes run as.

use std::path::Path;

use crate::error::JailError;

/// A host user by number. Looked up once at start from `/etc/passwd`: the sandbox user is a
/// local system user, never one from a directory service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
}

impl Identity {
    /// Finds `user` in `passwd` (the `/etc/passwd` format).
    pub fn lookup(user: &str, passwd: &Path) -> Result<Self, JailError> {
        let text = std::fs::read_to_string(passwd).map_err(|e| JailError::Passwd {
            path: passwd.display().to_string(),
            reason: e.to_string(),
        })?;
        parse(&text, user).ok_or_else(|| JailError::NoUser {
            user: user.to_owned(),
        })
    }

    /// The identity of this process (its effective uid and gid).
    pub fn current() -> Self {
        Self {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
        }
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

fn parse(passwd: &str, user: &str) -> Option<Identity> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != user {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(Identity { uid, gid })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_user_by_its_exact_name() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      studio-sandbox-old:x:998:994::/:/usr/sbin/nologin\n\
                      studio-sandbox:x:999:995::/nonexistent:/usr/sbin/nologin\n";
        assert_eq!(
            parse(passwd, "studio-sandbox"),
            Some(Identity { uid: 999, gid: 995 })
        );
        assert_eq!(parse(passwd, "studio"), None);
        assert_eq!(parse("broken:x:notanumber:1::/:/bin/sh", "broken"), None);
    }

    #[test]
    fn a_missing_user_is_an_error_that_says_how_to_create_it() {
        let dir = tempfile::tempdir().unwrap();
        let passwd = dir.path().join("passwd");
        std::fs::write(&passwd, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
        let error = Identity::lookup("studio-sandbox", &passwd).unwrap_err();
        assert!(error.to_string().contains("useradd --system"), "{error}");
    }
}
