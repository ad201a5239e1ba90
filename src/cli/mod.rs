//! The command line: parse (`args`), resolve against the config file (`settings`), run.

pub mod args;
mod capture;
pub mod config;
mod outputs;
pub mod settings;

use crate::intel::manager::{FeedManager, Hangup, Refresh, Reloader};
use crate::intel::{self, IndicatorSet, Snapshot};
use crate::replay::{self, ReplayConfig};
use arc_swap::ArcSwap;
use args::{Cli, Command, IntelCommand};
use serde_json::json;
use settings::{CaptureSettings, IntelSettings, ReplaySettings};
use std::collections::BTreeMap;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

fn init_logging(verbose: u8, quiet: bool) {
    let level = if quiet {
        "error"
    } else {
        match verbose {
            0 => "info",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// Runs the parsed command line; errors are printed here.
pub fn run(cli: Cli) -> ExitCode {
    init_logging(cli.verbose, cli.quiet);
    crate::detect::fault::quiet_repeated_panics();
    let result = match &cli.command {
        Command::Replay(a) => {
            ReplaySettings::resolve(a, cli.quiet).and_then(|s| run_replay(s, cli.quiet))
        }
        Command::Capture(a) => CaptureSettings::resolve(a).and_then(|s| capture::run(s, cli.quiet)),
        Command::Intel { command } => run_intel(command),
        Command::Victims(a) => run_victims(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("c2watch: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the feeds once with `manager`, logging how long it took.
fn load_with(manager: &mut FeedManager) -> Result<intel::Loaded, String> {
    let started = Instant::now();
    let loaded = manager.load(&Refresh::All).map_err(|e| {
        format!(
            "{e}\n  (fix or remove this feed; a feed that yields no valid indicator is an error)"
        )
    })?;
    tracing::info!(
        "loaded {} indicators and {} allowlist entries from {} file(s) in {:.1} ms ({:.1} MB)",
        loaded.set.len(),
        loaded.set.allow_len(),
        loaded.reports.len(),
        started.elapsed().as_secs_f64() * 1e3,
        loaded.set.bytes() as f64 / 1e6
    );
    Ok(loaded)
}

/// Loads the feeds as they are now (the `intel` commands).
fn load(s: &IntelSettings) -> Result<intel::Loaded, String> {
    load_with(&mut FeedManager::new(s.intel.clone(), &s.allow, None)?)
}

/// The feeds of a command that runs for a while (replay, capture): loaded once, with the
/// manager that keeps them fresh, the SIGHUP watch, and the channel of its warning events.
struct RunningFeeds {
    manager: FeedManager,
    hangup: Hangup,
    snapshot: Snapshot,
    events_tx: crossbeam_channel::Sender<serde_json::Value>,
    events: crossbeam_channel::Receiver<serde_json::Value>,
}

fn start_feeds(s: &IntelSettings) -> Result<RunningFeeds, String> {
    // Local feeds are read through last good copies, so a file broken while c2watch runs
    // does not cost its indicators at the next reload.
    let keep_dir = std::env::temp_dir();
    let mut manager = FeedManager::new(s.intel.clone(), &s.allow, Some(&keep_dir))?;
    let (events_tx, events) = crossbeam_channel::unbounded();
    manager.send_events(events_tx.clone());
    let hangup =
        Hangup::catch(&manager).map_err(|e| format!("cannot install the SIGHUP handler: {e}"))?;
    let loaded = load_with(&mut manager)?;
    manager.check_ages(std::time::SystemTime::now());
    Ok(RunningFeeds {
        manager,
        hangup,
        snapshot: Arc::new(ArcSwap::from_pointee(loaded.set)),
        events_tx,
        events,
    })
}

/// Loads the subscriber maps given (none: no attribution).
pub(crate) fn load_subscribers(
    paths: &[std::path::PathBuf],
) -> Result<Option<Arc<crate::subscriber::Subscribers>>, String> {
    if paths.is_empty() {
        return Ok(None);
    }
    crate::subscriber::Subscribers::load(paths).map(|s| Some(Arc::new(s)))
}

fn run_replay(s: ReplaySettings, quiet: bool) -> Result<ExitCode, String> {
    // A victim report that cannot be written is an error now, not after a long replay.
    if let Some(p) = &s.victims {
        std::fs::File::create(p)
            .map_err(|e| format!("cannot create the victim report {}: {e}", p.display()))?;
    }
    let RunningFeeds {
        manager,
        hangup,
        snapshot,
        events,
        ..
    } = start_feeds(&s.intel)?;
    let out = crate::alert::sink::Sinks::open(&s.outputs, None)?;
    let cfg = ReplayConfig {
        inputs: s.inputs,
        workers: s.workers,
        detect: s.detect,
        dedup_capacity: s.dedup_capacity,
        progress: s.progress,
        events: Some(events),
        subscribers: load_subscribers(&s.subscribers)?,
        format: s.format,
        victims: s.victims,
        tuning: Default::default(),
    };
    // The feed manager reloads while the replay runs (a long pcap, or a pipe): on SIGHUP,
    // changed files, and each feed's refresh schedule.
    let reloader = Reloader::spawn(hangup, manager, snapshot.clone())
        .map_err(|e| format!("cannot start the feed manager thread: {e}"))?;
    let summary = replay::run(cfg, snapshot, out).map_err(|e| e.to_string())?;
    drop(reloader);
    if !quiet {
        eprint!("{}", crate::summary::render(&summary));
    }
    if summary.internal_errors() > 0 {
        eprintln!(
            "c2watch: error: {} packet(s) hit an internal error and were skipped (see above; \
             stats.internal_errors lists them): please report this with the capture",
            summary.internal_errors()
        );
        return Ok(ExitCode::FAILURE);
    }
    if summary.read.files_unreadable > 0 {
        eprintln!(
            "c2watch: error: {} input file(s) could not be read (see above)",
            summary.read.files_unreadable
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn run_victims(a: &args::VictimsArgs) -> Result<ExitCode, String> {
    use crate::report::victims::Collector;
    let mut c = Collector::default();
    for f in &a.files {
        let read = if f == "-" {
            c.read(std::io::stdin().lock(), "stdin")
        } else {
            let file = std::fs::File::open(f).map_err(|e| format!("cannot open {f}: {e}"))?;
            c.read(std::io::BufReader::new(file), f)
        };
        read.map_err(|e| format!("cannot read {f}: {e}"))?;
    }
    let text = match a.format {
        args::VictimsFormat::Csv => c.csv(),
        args::VictimsFormat::Json => {
            serde_json::to_string_pretty(&c.json()).map_err(|e| e.to_string())? + "\n"
        }
        args::VictimsFormat::Intelmq => c.intelmq().iter().map(|e| e.to_string() + "\n").collect(),
        args::VictimsFormat::Xarf => crate::report::xarf::mbox(
            &c,
            &crate::report::xarf::Reporter {
                address: a.reporter.clone(),
            },
        ),
    };
    match &a.output {
        Some(p) => {
            std::fs::write(p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))?
        }
        None => print!("{text}"),
    }
    eprintln!(
        "c2watch: {} alert(s) read, {} victim row(s); {} other event(s), {} unreadable line(s) skipped",
        c.alerts,
        c.rows().len(),
        c.other_events,
        c.bad_lines
    );
    Ok(ExitCode::SUCCESS)
}

fn run_intel(cmd: &IntelCommand) -> Result<ExitCode, String> {
    match cmd {
        IntelCommand::Check(common) => {
            let s = IntelSettings::resolve(common)?;
            let loaded = load(&s)?;
            for r in &loaded.reports {
                let skipped: Vec<String> =
                    r.skipped.iter().map(|(k, n)| format!("{n} {k}")).collect();
                println!(
                    "{} ({}): {} as {}, {} entries{}{}",
                    r.name,
                    r.path,
                    r.role.unwrap_or("indicators"),
                    r.format,
                    r.entries,
                    if skipped.is_empty() {
                        String::new()
                    } else {
                        format!(", skipped: {}", skipped.join(", "))
                    },
                    r.stale
                        .as_ref()
                        .map(|why| format!(", STALE (last good copy kept: {why})"))
                        .unwrap_or_default(),
                );
                if let Some(age) = r.too_old(std::time::SystemTime::now()) {
                    println!(
                        "  warning: {} was last updated {age} s ago, more than its max_age of {} s",
                        r.name,
                        r.max_age.unwrap_or_default()
                    );
                }
            }
            println!(
                "ok: {} indicators, {} allowlist entries",
                loaded.set.len(),
                loaded.set.allow_len()
            );
            Ok(ExitCode::SUCCESS)
        }
        IntelCommand::Stats(common) => {
            let s = IntelSettings::resolve(common)?;
            let loaded = load(&s)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&stats(&loaded)).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        IntelCommand::Lookup { common, value } => {
            let s = IntelSettings::resolve(common)?;
            let loaded = load(&s)?;
            let set = &loaded.set;
            let (id, extra) = lookup(set, &s, value)?;
            let m = id.and_then(|id| set.get(id));
            let mut out = json!({
                "query": value,
                "match": m.as_ref().map(|i| json!({
                    "value": i.value, "type": i.type_name(),
                    // Whether it alerts on traffic seen now (validity window, max_age).
                    "valid_now": i.valid_at(&crate::time::Timestamp::now().rfc3339_secs()),
                    "sources": i.sources.iter().map(|m| crate::alert::eve::source(m)).collect::<Vec<_>>(),
                })),
            });
            if let (Some(o), serde_json::Value::Object(e)) = (out.as_object_mut(), extra) {
                o.extend(e);
            }
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            Ok(if m.is_some() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
    }
}

/// What `intel lookup` was given: an address, `ip:port`, a URL, a fingerprint or hash, or a
/// domain — and the matching indicator, with context for addresses.
fn lookup(
    set: &IndicatorSet,
    s: &IntelSettings,
    value: &str,
) -> Result<(Option<intel::set::IndicatorId>, serde_json::Value), String> {
    use intel::set::HashKind;
    let addr = intel::net::parse_ip(value)
        .map(|ip| (ip, None))
        .or_else(|| intel::net::parse_ip_port(value).map(|(ip, p)| (ip, Some(p))));
    if let Some((ip, port)) = addr {
        let ctx =
            json!({"allowlisted": set.is_allowed(ip, port), "home_net": s.home_net.contains(ip)});
        return Ok((set.match_id(ip, port), ctx));
    }
    if value.contains('/') {
        let u = intel::name::canonical_url(value)
            .ok_or_else(|| format!("cannot look up `{value}`: not a valid URL"))?;
        return Ok((
            set.match_url(&u.key, u.query.as_deref()),
            json!({"url": u.key}),
        ));
    }
    if let Some(j) = intel::name::canonical_ja4(value) {
        return Ok((set.match_hash(HashKind::Ja4, &j), json!({})));
    }
    for (len, kinds) in [
        (32, &[HashKind::Ja3, HashKind::Ja3s][..]),
        (40, &[HashKind::CertSha1][..]),
        (64, &[HashKind::CertSha256][..]),
    ] {
        if let Some(h) = intel::name::canonical_hex(value, len) {
            return Ok((kinds.iter().find_map(|k| set.match_hash(*k, &h)), json!({})));
        }
    }
    match intel::name::canonical_domain(value) {
        Some(d) => Ok((
            set.match_domain(&d),
            json!({"name": d, "allowlisted": set.is_allowed_domain(&d)}),
        )),
        None => Err(format!(
            "cannot look up `{value}`: give an IP address, ip:port, [v6]:port, a domain, a URL, a JA3/JA4 or a certificate hash"
        )),
    }
}

/// `intel stats`: totals, and per feed what it loaded, what it skipped, how old it is and
/// whether its source could be refreshed.
fn stats(loaded: &intel::Loaded) -> serde_json::Value {
    let set = &loaded.set;
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_feed: BTreeMap<String, u64> = BTreeMap::new();
    let mut feed_types: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    for i in set.iter() {
        *by_type.entry(i.type_name()).or_default() += 1;
        for s in &i.sources {
            *by_feed.entry(s.feed.to_string()).or_default() += 1;
            *feed_types
                .entry(s.feed.to_string())
                .or_default()
                .entry(i.type_name())
                .or_default() += 1;
        }
    }
    let now = std::time::SystemTime::now();
    let feeds: Vec<serde_json::Value> = loaded
        .reports
        .iter()
        .map(|r| {
            let updated = r
                .modified
                .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| crate::time::Timestamp::new(d.as_secs() as i64, 0).rfc3339_secs());
            let age = r
                .modified
                .and_then(|m| now.duration_since(m).ok())
                .map(|d| d.as_secs());
            json!({
                "name": r.name, "source": r.path, "format": r.format,
                "role": r.role.unwrap_or("indicators"), "entries": r.entries,
                "skipped": r.skipped, "updated": updated, "age_seconds": age,
                "stale": r.stale.is_some(), "stale_reason": r.stale,
                "max_age_seconds": r.max_age, "too_old": r.too_old(now).is_some(),
                "by_type": feed_types.get(&r.name),
            })
        })
        .collect();
    json!({"indicators": set.len(), "allowlist": set.allow_len(), "by_type": by_type, "by_feed": by_feed, "feeds": feeds, "generation": set.generation()})
}
