//! The checked, resolved settings the program runs on: flags over config file over defaults.

use super::args::{CaptureArgs, CommonArgs, ReplayArgs};
use super::config::{ConfigFile, duration_value, parse_duration};
use crate::capture::live::LiveOptions;
use crate::detect::flow::Timeouts;
use crate::detect::{DetectConfig, HomeNet};
use crate::live::privileges::{self, Ids};
use std::path::PathBuf;
use std::time::Duration;

/// Feeds and home net: what every command that loads indicators needs.
#[derive(Debug)]
pub struct IntelSettings {
    pub intel: Vec<crate::intel::feed::FeedDef>,
    pub allow: Vec<String>,
    pub home_net: HomeNet,
}

#[derive(Debug)]
pub struct ReplaySettings {
    pub intel: IntelSettings,
    pub inputs: Vec<String>,
    /// Where events go (`-o`, `output`, `[[output]]`).
    pub outputs: Vec<crate::alert::sink::SinkSpec>,
    pub workers: usize,
    pub detect: DetectConfig,
    pub dedup_capacity: usize,
    pub progress: bool,
    pub subscribers: Vec<PathBuf>,
    pub format: crate::alert::output::AlertFormat,
    pub victims: Option<PathBuf>,
}

fn load_config(common: &CommonArgs) -> Result<ConfigFile, String> {
    match &common.config {
        Some(p) => ConfigFile::load(p),
        None => Ok(ConfigFile::default()),
    }
}

fn pick<T: Clone>(flag: &[T], config: &[T]) -> Vec<T> {
    if flag.is_empty() {
        config.to_vec()
    } else {
        flag.to_vec()
    }
}

fn intel_settings(common: &CommonArgs, cfg: &ConfigFile) -> Result<IntelSettings, String> {
    use crate::intel::feed::FeedDef;
    let specs = pick(&common.intel, &cfg.intel);
    let cache_dir = cfg.cache_dir.as_deref().map(std::path::Path::new);
    let mut intel = specs
        .iter()
        .map(|s| {
            FeedDef::from_spec(s)
                .map(|d| FeedDef {
                    cache_dir: cache_dir.map(std::path::Path::to_path_buf),
                    ..d
                })
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    // `--intel` on the command line replaces the config's feeds, declared ones included.
    if common.intel.is_empty() {
        for f in &cfg.feed {
            intel.extend(f.resolve(&cfg.base, cache_dir)?);
        }
    }
    if intel.is_empty() {
        return Err("no indicators: give --intel <PATH> (a feed file or directory), or `intel = [...]` or [[feed]] entries in the --config file".into());
    }
    let home = pick(&common.home_net, &cfg.home_net);
    let home_net = if home.is_empty() {
        HomeNet::default_nets()
    } else {
        HomeNet::parse(&home)?
    };
    Ok(IntelSettings {
        intel,
        allow: pick(&common.allow, &cfg.allow),
        home_net,
    })
}

impl IntelSettings {
    pub fn resolve(common: &CommonArgs) -> Result<IntelSettings, String> {
        intel_settings(common, &load_config(common)?)
    }
}

/// Flow and dedup settings shared by `replay` and `capture`.
fn detect_config(
    args: &crate::cli::args::DetectArgs,
    cfg: &ConfigFile,
    home_net: &HomeNet,
) -> Result<DetectConfig, String> {
    let (dedup_flag, max_flows_flag) = (args.dedup_window.as_deref(), args.max_flows);
    let dedup_window = match (dedup_flag, &cfg.dedup_window) {
        (Some(s), _) => parse_duration(s)?,
        (None, Some(toml::Value::Integer(n))) if *n >= 0 => *n as u64,
        (None, Some(toml::Value::String(s))) => parse_duration(s)?,
        (None, Some(other)) => {
            return Err(format!(
                "config: dedup_window = {other}: expected seconds or a duration such as \"1h\""
            ));
        }
        (None, None) => 3600,
    };
    let max_flows = max_flows_flag.or(cfg.flow.max_flows).unwrap_or(1 << 20);
    if max_flows == 0 {
        return Err("--max-flows must be at least 1".into());
    }
    let d = Timeouts::default();
    let timeouts = Timeouts {
        tcp: cfg.flow.tcp_timeout.unwrap_or(d.tcp),
        tcp_closed: cfg.flow.tcp_closed_timeout.unwrap_or(d.tcp_closed),
        udp: cfg.flow.udp_timeout.unwrap_or(d.udp),
        other: cfg.flow.other_timeout.unwrap_or(d.other),
    };
    Ok(DetectConfig {
        home_net: home_net.clone(),
        dedup_window,
        max_flows,
        timeouts,
        dns_cache: cfg.dns_cache.unwrap_or(1 << 18),
        radius: !args.no_radius && cfg.radius.unwrap_or(true),
        fault_packet: crate::detect::fault::injected_from_env(),
    })
}

/// The schema of events: the flag's, else the config's, else EVE.
fn alert_format(
    detect: &crate::cli::args::DetectArgs,
    cfg: &ConfigFile,
) -> crate::alert::output::AlertFormat {
    detect.alert_format.or(cfg.alert_format).unwrap_or_default()
}

/// Subscriber maps: the flags', else the config's.
fn subscriber_maps(detect: &crate::cli::args::DetectArgs, cfg: &ConfigFile) -> Vec<PathBuf> {
    if detect.subscribers.is_empty() {
        cfg.subscribers.iter().map(PathBuf::from).collect()
    } else {
        detect.subscribers.clone()
    }
}

fn check_workers(workers: usize) -> Result<usize, String> {
    if workers == 0 || workers > 256 {
        return Err(format!("--workers {workers}: must be between 1 and 256"));
    }
    Ok(workers)
}

impl ReplaySettings {
    pub fn resolve(args: &ReplayArgs, quiet: bool) -> Result<ReplaySettings, String> {
        let cfg = load_config(&args.common)?;
        let intel = intel_settings(&args.common, &cfg)?;
        let workers = check_workers(args.workers.or(cfg.workers).unwrap_or(1))?;
        let detect = detect_config(&args.detect, &cfg, &intel.home_net)?;
        let outputs = super::outputs::resolve(args.output.as_ref(), &cfg, true)?;
        Ok(ReplaySettings {
            intel,
            inputs: args.pcaps.clone(),
            outputs,
            workers,
            detect,
            dedup_capacity: cfg.dedup_capacity.unwrap_or(1 << 20),
            progress: !args.no_progress && !quiet,
            subscribers: subscriber_maps(&args.detect, &cfg),
            format: alert_format(&args.detect, &cfg),
            victims: args.victims.clone(),
        })
    }
}

/// `c2watch capture`, resolved.
#[derive(Debug)]
pub struct CaptureSettings {
    pub intel: IntelSettings,
    pub interfaces: Vec<String>,
    /// Where events go (`-o`, `output`, `[[output]]`).
    pub outputs: Vec<crate::alert::sink::SinkSpec>,
    /// Per interface.
    pub workers: usize,
    pub detect: DetectConfig,
    pub dedup_capacity: usize,
    pub live: LiveOptions,
    pub stats_interval: Option<Duration>,
    pub metrics_listen: Option<String>,
    /// Become this user (and group) once the handles are open.
    pub user: Option<Ids>,
    pub check: bool,
    pub subscribers: Vec<PathBuf>,
    pub format: crate::alert::output::AlertFormat,
}

impl CaptureSettings {
    pub fn resolve(args: &CaptureArgs) -> Result<CaptureSettings, String> {
        let cfg = load_config(&args.common)?;
        let c = &cfg.capture;
        let intel = intel_settings(&args.common, &cfg)?;
        let interfaces = pick(&args.interface, &c.interface);
        if interfaces.is_empty() {
            return Err("no interface: give -i <IFACE> (repeatable), or `interface = [\"eth1\"]` under [capture] in the --config file".into());
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = check_workers(args.workers.or(c.workers).or(cfg.workers).unwrap_or(cores))?;
        let detect = detect_config(&args.detect, &cfg, &intel.home_net)?;
        let filter = if !args.filter_words.is_empty() {
            if args.filter.is_some() {
                return Err(
                    "give the capture filter either with --filter or as trailing words, not both"
                        .into(),
                );
            }
            Some(args.filter_words.join(" "))
        } else {
            args.filter.clone().or_else(|| c.filter.clone())
        };
        let d = LiveOptions::default();
        let int =
            |v: Option<u32>, what: &str, lo: u32, hi: u32, default: i32| -> Result<i32, String> {
                match v {
                    None => Ok(default),
                    Some(n) if (lo..=hi).contains(&n) => Ok(n as i32),
                    Some(n) => Err(format!("--{what} {n}: must be between {lo} and {hi}")),
                }
            };
        let buffer_mib = int(
            args.buffer_size.or(c.buffer_size),
            "buffer-size",
            1,
            2047,
            d.buffer_bytes >> 20,
        )?;
        let live = LiveOptions {
            snaplen: int(
                args.snaplen.or(c.snaplen),
                "snaplen",
                64,
                262_144,
                d.snaplen,
            )?,
            buffer_bytes: buffer_mib << 20,
            promisc: !args.no_promisc && c.promisc.unwrap_or(d.promisc),
            immediate: args.immediate || c.immediate.unwrap_or(d.immediate),
            timeout_ms: int(
                args.timeout.or(c.timeout_ms),
                "timeout",
                1,
                10_000,
                d.timeout_ms,
            )?,
            filter,
        };
        let stats_secs = match (&args.stats_interval, &c.stats_interval) {
            (Some(s), _) => parse_duration(s)?,
            (None, Some(v)) => duration_value("[capture] stats_interval", v)?,
            (None, None) => 60,
        };
        let outputs = super::outputs::resolve(args.output.as_ref(), &cfg, false)?;
        let group = args.group.clone().or_else(|| c.group.clone());
        let user = match args.user.clone().or_else(|| c.user.clone()) {
            Some(u) => Some(privileges::resolve(&u, group.as_deref())?),
            None if group.is_some() => return Err("--group needs --user".into()),
            None => None,
        };
        Ok(CaptureSettings {
            intel,
            interfaces,
            outputs,
            workers,
            detect,
            dedup_capacity: cfg.dedup_capacity.unwrap_or(1 << 20),
            live,
            stats_interval: (stats_secs > 0).then(|| Duration::from_secs(stats_secs)),
            metrics_listen: args
                .metrics_listen
                .clone()
                .or_else(|| c.metrics_listen.clone()),
            user,
            check: args.check,
            subscribers: subscriber_maps(&args.detect, &cfg),
            format: alert_format(&args.detect, &cfg),
        })
    }
}
