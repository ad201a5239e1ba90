//! The checked, resolved settings the program runs on: flags over config file over defaults.

use super::args::{CommonArgs, ReplayArgs};
use super::config::{ConfigFile, parse_duration};
use crate::detect::flow::Timeouts;
use crate::detect::{DetectConfig, HomeNet};
use std::path::PathBuf;

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
    pub output: Option<PathBuf>,
    pub workers: usize,
    pub detect: DetectConfig,
    pub dedup_capacity: usize,
    pub progress: bool,
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

impl ReplaySettings {
    pub fn resolve(args: &ReplayArgs, quiet: bool) -> Result<ReplaySettings, String> {
        let cfg = load_config(&args.common)?;
        let intel = intel_settings(&args.common, &cfg)?;
        let workers = args.workers.or(cfg.workers).unwrap_or(1);
        if workers == 0 || workers > 256 {
            return Err(format!("--workers {workers}: must be between 1 and 256"));
        }
        let dedup_window = match (&args.dedup_window, &cfg.dedup_window) {
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
        let max_flows = args.max_flows.or(cfg.flow.max_flows).unwrap_or(1 << 20);
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
        let output = args
            .output
            .clone()
            .or_else(|| cfg.output.as_ref().map(PathBuf::from))
            .filter(|p| p.as_os_str() != "-");
        let detect = DetectConfig {
            home_net: intel.home_net.clone(),
            dedup_window,
            max_flows,
            timeouts,
            dns_cache: cfg.dns_cache.unwrap_or(1 << 18),
        };
        Ok(ReplaySettings {
            intel,
            inputs: args.pcaps.clone(),
            output,
            workers,
            detect,
            dedup_capacity: cfg.dedup_capacity.unwrap_or(1 << 20),
            progress: !args.no_progress && !quiet,
        })
    }
}
