//! Resolves where events go: `-o PATH`, else the config's `output = "PATH"` or `[[output]]`
//! sinks, else standard output.

use super::config::{ConfigFile, OutputSection, duration_value, parse_size, relative_to};
use crate::alert::sink::file::Rotation;
use crate::alert::sink::{Proto, SinkSpec, SpoolSpec, syslog};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

const DEFAULT_SPOOL_BYTES: u64 = 256 << 20;
const DEFAULT_RETRY_SECS: u64 = 5;
const DEFAULT_ROTATE_KEEP: u32 = 5;

/// Where spools live unless an output names its own: `$XDG_STATE_HOME/c2watch/spool`, else
/// `~/.local/state/c2watch/spool`.
fn default_spool_root() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .map(|p| p.join("c2watch").join("spool"))
}

/// The sinks of a run. A path from `-o` (or `output = "..."`) is a file that `replay` starts
/// empty and `capture` appends to; `-` is standard output.
pub fn resolve(
    flag: Option<&PathBuf>,
    cfg: &ConfigFile,
    replay: bool,
) -> Result<Vec<SinkSpec>, String> {
    let path_sink = |p: PathBuf| {
        if p.as_os_str() == "-" {
            SinkSpec::Stdout
        } else {
            SinkSpec::File {
                path: p,
                append: !replay,
                rotation: None,
            }
        }
    };
    if let Some(p) = flag {
        return Ok(vec![path_sink(p.clone())]);
    }
    match &cfg.output {
        None => Ok(vec![SinkSpec::Stdout]),
        Some(toml::Value::String(p)) => {
            Ok(vec![path_sink(PathBuf::from(relative_to(&cfg.base, p)))])
        }
        Some(toml::Value::Array(list)) if !list.is_empty() => {
            let mut specs = Vec::with_capacity(list.len());
            let mut names = std::collections::HashSet::new();
            for (i, v) in list.iter().enumerate() {
                let sec = OutputSection::deserialize(v.clone())
                    .map_err(|e| format!("config: [[output]] #{}: {e}", i + 1))?;
                let spec = section(&sec, i + 1, &cfg.base)
                    .map_err(|e| format!("config: [[output]] #{} ({}): {e}", i + 1, sec.kind))?;
                if let SinkSpec::Syslog { name, .. } | SinkSpec::Unix { name, .. } = &spec
                    && !names.insert(name.clone())
                {
                    return Err(format!(
                        "config: [[output]] #{}: the name {name:?} is used twice (each network output needs its own spool)",
                        i + 1
                    ));
                }
                specs.push(spec);
            }
            Ok(specs)
        }
        Some(other) => Err(format!(
            "config: output = {other}: expected a path, or [[output]] tables"
        )),
    }
}

fn required<'a>(v: &'a Option<String>, key: &str, example: &str) -> Result<&'a str, String> {
    v.as_deref()
        .ok_or_else(|| format!("needs `{key}` (for example {key} = {example})"))
}

fn spool(sec: &OutputSection, name: &str, base: &Path) -> Result<SpoolSpec, String> {
    let dir = match &sec.spool {
        Some(d) => PathBuf::from(relative_to(base, d)),
        None => default_spool_root()
            .ok_or(
                "needs `spool` (a folder for events the receiver could not take): HOME is not set",
            )?
            .join(name),
    };
    let max_bytes = match &sec.spool_size {
        Some(v) => parse_size("spool_size", v)?,
        None => DEFAULT_SPOOL_BYTES,
    };
    let retry = match &sec.retry {
        Some(v) => duration_value("retry", v)?,
        None => DEFAULT_RETRY_SECS,
    };
    Ok(SpoolSpec {
        dir,
        max_bytes,
        retry: Duration::from_secs(retry.max(1)),
    })
}

fn section(sec: &OutputSection, index: usize, base: &Path) -> Result<SinkSpec, String> {
    let name = sec
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{index}", sec.kind));
    let path = |p: &str| PathBuf::from(relative_to(base, p));
    Ok(match sec.kind.as_str() {
        "stdout" => SinkSpec::Stdout,
        "file" => {
            let p = required(&sec.path, "path", "\"/var/log/c2watch/eve.json\"")?;
            let rotation = match &sec.rotate_size {
                Some(v) => Some(Rotation {
                    max_bytes: parse_size("rotate_size", v)?,
                    keep: sec.rotate_keep.unwrap_or(DEFAULT_ROTATE_KEEP).max(1),
                }),
                None => None,
            };
            SinkSpec::File {
                path: path(p),
                append: sec.append.unwrap_or(true),
                rotation,
            }
        }
        "syslog" => {
            let address = required(&sec.address, "address", "\"127.0.0.1:514\"")?;
            if !address.contains(':') {
                return Err(format!("address {address:?}: give host:port"));
            }
            let proto = match sec.transport.as_deref().unwrap_or("udp") {
                "udp" => Proto::Udp,
                "tcp" => Proto::Tcp,
                "tls" => Proto::Tls,
                other => {
                    return Err(format!(
                        "transport {other:?}: use \"udp\", \"tcp\" or \"tls\""
                    ));
                }
            };
            if proto != Proto::Tls && (sec.ca_file.is_some() || sec.server_name.is_some()) {
                return Err("ca_file and server_name apply to transport = \"tls\" only".into());
            }
            SinkSpec::Syslog {
                address: address.to_string(),
                proto,
                facility: syslog::facility(sec.facility.as_deref().unwrap_or("local5"))?,
                app_name: sec.app_name.clone().unwrap_or_else(|| "c2watch".into()),
                hostname: sec.hostname.clone(),
                ca_file: sec.ca_file.as_deref().map(path),
                server_name: sec.server_name.clone(),
                spool: spool(sec, &name, base)?,
                name,
            }
        }
        "unix" => {
            let p = required(&sec.path, "path", "\"/run/siem/eve.sock\"")?;
            SinkSpec::Unix {
                path: path(p),
                spool: spool(sec, &name, base)?,
                name,
            }
        }
        other => {
            return Err(format!(
                "unknown output type {other:?}: use \"stdout\", \"file\", \"syslog\" or \"unix\""
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> ConfigFile {
        let mut c: ConfigFile = toml::from_str(text).expect("toml");
        c.base = PathBuf::from("/etc/c2watch");
        c
    }

    #[test]
    fn flag_over_config_and_paths_from_the_config_folder() {
        let c = cfg("output = \"eve.json\"");
        assert_eq!(
            resolve(None, &c, true).expect("resolve"),
            [SinkSpec::File {
                path: "/etc/c2watch/eve.json".into(),
                append: false,
                rotation: None
            }]
        );
        let flag = PathBuf::from("-");
        assert_eq!(
            resolve(Some(&flag), &c, false).expect("resolve"),
            [SinkSpec::Stdout]
        );
        assert_eq!(
            resolve(None, &ConfigFile::default(), false).expect("resolve"),
            [SinkSpec::Stdout]
        );
    }

    #[test]
    fn output_tables() {
        let c = cfg(r#"
            [[output]]
            type = "file"
            path = "eve.json"
            rotate_size = "100MiB"
            [[output]]
            type = "syslog"
            name = "siem"
            address = "127.0.0.1:6514"
            transport = "tcp"
            facility = "local3"
            spool = "spool/siem"
            retry = "2s"
        "#);
        let specs = resolve(None, &c, false).expect("resolve");
        assert_eq!(
            specs[0],
            SinkSpec::File {
                path: "/etc/c2watch/eve.json".into(),
                append: true,
                rotation: Some(Rotation {
                    max_bytes: 100 << 20,
                    keep: 5
                })
            }
        );
        let SinkSpec::Syslog {
            name,
            proto,
            facility,
            spool,
            ..
        } = &specs[1]
        else {
            panic!("syslog expected: {specs:?}");
        };
        assert_eq!((name.as_str(), *proto, *facility), ("siem", Proto::Tcp, 19));
        assert_eq!(spool.dir, PathBuf::from("/etc/c2watch/spool/siem"));
        assert_eq!(spool.retry, Duration::from_secs(2));
    }

    #[test]
    fn mistakes_are_named() {
        let err = |t: &str| resolve(None, &cfg(t), false).expect_err("error");
        assert!(err("[[output]]\ntype = \"kafka\"").contains("unknown output type \"kafka\""));
        assert!(err("[[output]]\ntype = \"syslog\"").contains("needs `address`"));
        assert!(
            err("[[output]]\ntype = \"syslog\"\naddress = \"h:1\"\ntransport = \"sctp\"")
                .contains("transport \"sctp\"")
        );
        assert!(err("[[output]]\ntype = \"file\"\npth = \"x\"").contains("unknown field `pth`"));
        let twice = "[[output]]\ntype = \"unix\"\npath = \"a\"\nname = \"x\"\n[[output]]\ntype = \"unix\"\npath = \"b\"\nname = \"x\"";
        assert!(err(twice).contains("used twice"));
    }
}
