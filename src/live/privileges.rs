//! Dropping root once the capture handles are open (`--user`, `--group`): the process then
//! runs as that user with only that group and no capabilities, for good.
//!
//! Users and groups are looked up in `/etc/passwd` and `/etc/group` (a service account is a
//! local account), or given as numbers.

/// A user to become: its ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
}

/// The `name:…:id:…` line's id field in `file` (passwd: uid at 2, gid at 3; group: gid at 2).
fn lookup(file: &str, text: &str, name: &str, field: usize) -> Option<u32> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name))
        .and_then(|f| f.get(field).and_then(|v| v.parse().ok()))
        .or_else(|| {
            tracing::debug!("{name} not in {file}");
            None
        })
}

/// Resolves `user` (name or uid) and `group` (name or gid; default: the user's own group).
pub fn resolve(user: &str, group: Option<&str>) -> Result<Ids, String> {
    resolve_in(
        user,
        group,
        &std::fs::read_to_string("/etc/passwd").unwrap_or_default(),
        &std::fs::read_to_string("/etc/group").unwrap_or_default(),
    )
}

fn resolve_in(user: &str, group: Option<&str>, passwd: &str, groups: &str) -> Result<Ids, String> {
    let (uid, primary) = match user.parse::<u32>() {
        Ok(uid) => (uid, None),
        Err(_) => {
            let uid = lookup("/etc/passwd", passwd, user, 2).ok_or_else(|| {
                format!("--user {user}: no such user (create it, e.g. `useradd --system --no-create-home c2watch`, or give a numeric uid)")
            })?;
            (uid, lookup("/etc/passwd", passwd, user, 3))
        }
    };
    let gid = match group {
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => lookup("/etc/group", groups, g, 2)
                .ok_or_else(|| format!("--group {g}: no such group"))?,
        },
        None => primary.ok_or_else(|| {
            format!("--user {user}: give --group too (a numeric uid has no primary group to take)")
        })?,
    };
    if uid == 0 {
        return Err(format!(
            "--user {user}: that is root; give an unprivileged user"
        ));
    }
    Ok(Ids { uid, gid })
}

/// Becomes `ids` for good. Fails unless afterwards the process has exactly those ids and no
/// capability left.
pub fn drop_to(ids: Ids) -> Result<(), String> {
    crate::sys::set_ids(ids.uid, ids.gid)
        .map_err(|e| format!("cannot switch to uid {} gid {}: {e}", ids.uid, ids.gid))?;
    if crate::sys::euid() != ids.uid {
        return Err(format!("still not uid {} after setuid", ids.uid));
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for field in ["CapEff:", "CapPrm:", "CapAmb:"] {
        let left = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .map(str::trim)
            .and_then(|v| u64::from_str_radix(v, 16).ok());
        if left.is_some_and(|caps| caps != 0) {
            return Err(format!(
                "capabilities left after dropping privileges ({field} {:x})",
                left.unwrap_or_default()
            ));
        }
    }
    tracing::info!(
        "running as uid {} gid {}, no capabilities",
        ids.uid,
        ids.gid
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n# comment\nc2watch:x:998:997::/nonexistent:/usr/sbin/nologin\n";
    const GROUP: &str = "root:x:0:\nc2watch:x:997:\nadm:x:4:syslog\n";

    #[test]
    fn names_and_numbers_resolve() {
        assert_eq!(
            resolve_in("c2watch", None, PASSWD, GROUP),
            Ok(Ids { uid: 998, gid: 997 })
        );
        assert_eq!(
            resolve_in("c2watch", Some("adm"), PASSWD, GROUP),
            Ok(Ids { uid: 998, gid: 4 })
        );
        assert_eq!(
            resolve_in("1234", Some("4321"), PASSWD, GROUP),
            Ok(Ids {
                uid: 1234,
                gid: 4321
            })
        );
    }

    #[test]
    fn unknown_names_and_root_are_refused_clearly() {
        let e = resolve_in("nobody-here", None, PASSWD, GROUP).expect_err("unknown");
        assert!(e.contains("no such user"), "{e}");
        let e = resolve_in("c2watch", Some("wheel"), PASSWD, GROUP).expect_err("unknown");
        assert!(e.contains("--group wheel: no such group"), "{e}");
        let e = resolve_in("1234", None, PASSWD, GROUP).expect_err("no group");
        assert!(e.contains("give --group"), "{e}");
        let e = resolve_in("root", None, PASSWD, GROUP).expect_err("root");
        assert!(e.contains("that is root"), "{e}");
    }
}
