//! What the user typed: the clap definition of the command line, unvalidated. `settings.rs`
//! turns it (and the TOML config) into the checked settings the program runs on.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "c2watch", version, about = "Flags traffic to known C2 infrastructure and names the victim.", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr (no summary, no progress).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read pcap/pcapng files (or - for stdin) and write alerts as NDJSON.
    Replay(ReplayArgs),
    /// Capture from network interfaces and write alerts as NDJSON until SIGTERM or SIGINT.
    Capture(CaptureArgs),
    /// Validate feeds, show counts, explain a match.
    Intel {
        #[command(subcommand)]
        command: IntelCommand,
    },
    /// The notification list: alerts folded into one row per subscriber (or victim address).
    Victims(VictimsArgs),
}

/// `c2watch victims`.
#[derive(Args, Debug)]
pub struct VictimsArgs {
    /// csv or json (one row per subscriber or victim address); intelmq (one
    /// infected-system event per victim address, C2 and family, as JSON lines); xarf (one
    /// X-ARF bot-infection report e-mail per victim address, C2 and family, as an mbox).
    #[arg(long, value_enum, default_value = "csv")]
    pub format: VictimsFormat,
    /// xarf: the sender of the reports (From, Reported-From).
    #[arg(long, value_name = "EMAIL", default_value = "abuse@localhost")]
    pub reporter: String,
    /// Write here instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Alert files (NDJSON from replay or capture, EVE or ECS form); - reads stdin.
    #[arg(required = true, value_name = "ALERTS")]
    pub files: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum VictimsFormat {
    Csv,
    Json,
    Intelmq,
    Xarf,
}

/// Options shared by every command that loads indicators.
#[derive(Args, Debug, Default, Clone)]
pub struct CommonArgs {
    /// Feed file or directory; repeatable. Format detected from content; FORMAT:PATH forces one.
    #[arg(long, value_name = "PATH")]
    pub intel: Vec<String>,
    /// Allowlist (same formats); repeatable. Always wins over indicators.
    #[arg(long, value_name = "PATH")]
    pub allow: Vec<String>,
    /// Subscriber address space; repeatable [default: RFC 1918, 100.64.0.0/10, fc00::/7].
    #[arg(long = "home-net", value_name = "CIDR")]
    pub home_net: Vec<String>,
    /// TOML config; flags given on the command line override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Detection options shared by `replay` and `capture`.
#[derive(Args, Debug, Default, Clone)]
pub struct DetectArgs {
    /// A (victim, indicator) contact episode ends after this much packet time without contact;
    /// one alert per episode, then an `episode` event: 3600, 90s, 30m, 1h, 1d; 0 = alert every
    /// contact [default: 1h].
    #[arg(long, value_name = "DURATION")]
    pub dedup_window: Option<String>,
    /// Do not read RADIUS accounting (UDP 1813, 1646) for the live subscriber map.
    #[arg(long)]
    pub no_radius: bool,
    /// Flow table size (all workers together) [default: 1048576].
    #[arg(long, value_name = "N")]
    pub max_flows: Option<usize>,
    /// Subscriber map (CSV: static blocks, DHCP/RADIUS leases or CGNAT port blocks, by header
    /// line; docs/alerts.md); names the customer in `victim.subscriber`. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub subscribers: Vec<PathBuf>,
    /// Schema of the events written: eve (Suricata EVE JSON) or ecs (Elastic Common Schema) [default: eve].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub alert_format: Option<crate::alert::output::AlertFormat>,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Write alerts here instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Detection workers [default: 1].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub detect: DetectArgs,
    /// No progress line on stderr.
    #[arg(long)]
    pub no_progress: bool,
    /// At the end, write the notification list of the alerts here (as `c2watch victims`
    /// would): JSON for a name ending in .json, CSV otherwise.
    #[arg(long, value_name = "PATH")]
    pub victims: Option<PathBuf>,
    /// Capture files (pcap or pcapng, optionally gzip/zstd); - reads stdin.
    #[arg(required = true, value_name = "PCAP")]
    pub pcaps: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CaptureArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Interface to capture on; repeatable.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Vec<String>,
    /// Write alerts here (appended; reopened on SIGHUP) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Workers per interface, each with its own handle in one PACKET_FANOUT group [default: one per core].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub detect: DetectArgs,
    /// Bytes kept of each packet [default: 65535].
    #[arg(long, value_name = "BYTES")]
    pub snaplen: Option<u32>,
    /// Kernel capture ring per worker, in MiB [default: 64].
    #[arg(long, value_name = "MIB")]
    pub buffer_size: Option<u32>,
    /// Do not put the interfaces in promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// Hand each packet over at once instead of in blocks (lower latency, more CPU).
    #[arg(long)]
    pub immediate: bool,
    /// Longest wait for a block of packets, in ms [default: 100].
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u32>,
    /// Capture filter (tcpdump syntax); the trailing words are the same.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// A `stats` event in the alert stream this often; 0 turns them off [default: 60s].
    #[arg(long, value_name = "DURATION")]
    pub stats_interval: Option<String>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<String>,
    /// Become this user once the interfaces are open (no capabilities kept).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// With --user: this group instead of the user's own.
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Check the config, interfaces, filter and feeds, then exit without capturing.
    #[arg(long)]
    pub check: bool,
    /// Capture filter as trailing words, as with tcpdump (`tcp port 443 or udp`).
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter_words: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum IntelCommand {
    /// Load every feed and report what each gave; exit 1 if any fails.
    Check(CommonArgs),
    /// Indicator counts by kind and by feed.
    Stats(CommonArgs),
    /// Explain whether an address (or address:port) matches, and why.
    Lookup {
        #[command(flatten)]
        common: CommonArgs,
        /// An IP address, `ip:port` or `[v6]:port`.
        value: String,
    },
}
