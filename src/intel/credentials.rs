//! Credentials for feed servers (HTTP basic or bearer), read from the environment or a file
//! each time a feed is fetched, so a rotated secret is picked up without a restart.
//!
//! Invariant: a secret never comes from the command line and never reaches a log line or an
//! error message; errors name where the secret was expected, not what it is.

use std::path::PathBuf;

/// Where a secret is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Secret {
    /// An environment variable's value.
    Env(String),
    /// A file's content, without its trailing newline.
    File(PathBuf),
}

impl Secret {
    /// Reads the secret now.
    pub fn read(&self) -> Result<String, String> {
        let value = match self {
            Secret::Env(var) => std::env::var(var)
                .map_err(|_| format!("environment variable {var} is not set (or not UTF-8)"))?,
            Secret::File(path) => {
                warn_if_readable_by_others(path);
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_string()
            }
        };
        if value.is_empty() {
            return Err(format!("{} is empty", self.describe()));
        }
        if value.contains(['\r', '\n']) {
            return Err(format!("{} holds more than one line", self.describe()));
        }
        Ok(value)
    }

    fn describe(&self) -> String {
        match self {
            Secret::Env(var) => format!("environment variable {var}"),
            Secret::File(p) => format!("secret file {}", p.display()),
        }
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            "secret file {} is readable by group or others: chmod 600 it",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &std::path::Path) {}

/// How c2watch authenticates to a feed server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// HTTP basic authentication (RFC 7617).
    Basic { username: String, password: Secret },
    /// `Authorization: Bearer <token>` (RFC 6750).
    Bearer(Secret),
}

impl Credentials {
    /// The `Authorization` header value, with the secret read now.
    pub fn authorization(&self) -> Result<String, String> {
        use base64::Engine;
        match self {
            Credentials::Basic { username, password } => {
                let pass = password.read()?;
                let pair = format!("{username}:{pass}");
                Ok(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
            Credentials::Bearer(token) => Ok(format!("Bearer {}", token.read()?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_rfc7617() {
        // RFC 7617 §2 example: Aladdin / open sesame.
        let dir = std::env::temp_dir().join(format!("c2watch-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("pass");
        std::fs::write(&f, "open sesame\n").unwrap();
        let c = Credentials::Basic {
            username: "Aladdin".into(),
            password: Secret::File(f.clone()),
        };
        assert_eq!(
            c.authorization().unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        std::fs::write(&f, "").unwrap();
        let e = c.authorization().unwrap_err();
        assert!(e.contains("is empty"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_env_names_the_variable_not_a_value() {
        let c = Credentials::Bearer(Secret::Env("C2WATCH_TEST_SURELY_UNSET_TOKEN".into()));
        let e = c.authorization().unwrap_err();
        assert!(e.contains("C2WATCH_TEST_SURELY_UNSET_TOKEN"), "{e}");
    }
}
