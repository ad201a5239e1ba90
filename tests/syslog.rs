//! Syslog delivery against a real rsyslog (Debian's `rsyslogd`, installed by `.ci/run`).
//!
//! rsyslog runs in the foreground as this test's own process, inside the victim namespace of a
//! live-capture lab (so its ports are private to the test), with UDP, TCP and TLS inputs on
//! 127.0.0.1 that write each message's MSG (the event's JSON) to one file per input. c2watch
//! captures on the lab's veth with four outputs: a file, and syslog over UDP, TCP and TLS.
//! Mid-run rsyslog is stopped, alerts keep coming (they go to the spools), rsyslog is started
//! again, more alerts come; at the end every receiver must hold exactly the events the file
//! holds, in the same order.
//!
//! Plain syslog has no acknowledgements: a message the receiver has not read when it stops is
//! lost with it. The test therefore stops rsyslog only once it has written everything sent so
//! far; what it checks is that nothing sent while the receiver is down is lost, duplicated or
//! reordered.

mod lab;
use lab::*;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PORTS: [(&str, u16); 3] = [("udp", 5514), ("tcp", 5515), ("tls", 5516)];

/// The test's rsyslogd, stopped (by the PID it was started with) on drop.
struct Rsyslog {
    dir: PathBuf,
    ns: String,
    child: Option<Child>,
}

impl Rsyslog {
    fn configure(dir: &Path) {
        let d = dir.display();
        let mut conf = format!(
            r#"global(workDirectory="{d}" maxMessageSize="64k"
  DefaultNetstreamDriverCAFile="{d}/ca.pem" DefaultNetstreamDriverCertFile="{d}/server.pem"
  DefaultNetstreamDriverKeyFile="{d}/server.key")
module(load="imudp")
module(load="imtcp")
template(name="msg" type="string" string="%msg%\n")
"#
        );
        for (name, port) in PORTS {
            let (kind, tls) = match name {
                "udp" => ("imudp", ""),
                "tcp" => ("imtcp", ""),
                _ => (
                    "imtcp",
                    r#" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon""#,
                ),
            };
            conf.push_str(&format!(
                "ruleset(name=\"{name}\") {{ action(type=\"omfile\" file=\"{d}/{name}.log\" template=\"msg\") }}\n\
                 input(type=\"{kind}\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"{name}\"{tls})\n"
            ));
        }
        std::fs::write(dir.join("rsyslog.conf"), conf).expect("rsyslog.conf");
    }

    fn start(dir: &Path, lab: &Lab) -> Rsyslog {
        let conf = dir.join("rsyslog.conf").display().to_string();
        let pid = dir.join("rsyslog.pid").display().to_string();
        let child = lab
            .exec(&lab.victim, &["rsyslogd", "-n", "-f", &conf, "-i", &pid])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("rsyslog.err")).expect("stderr"))
            .spawn()
            .expect("start rsyslogd");
        let r = Rsyslog {
            dir: dir.to_path_buf(),
            ns: lab.victim.clone(),
            child: Some(child),
        };
        r.wait_listening();
        r
    }

    /// Waits until the three inputs are bound.
    fn wait_listening(&self) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let out = Command::new("ip")
                .args(["netns", "exec", &self.ns, "ss", "-Hlntu"])
                .output()
                .expect("ss");
            let text = String::from_utf8_lossy(&out.stdout);
            if PORTS
                .iter()
                .all(|(_, p)| text.contains(&format!("127.0.0.1:{p} ")))
            {
                return;
            }
            assert!(
                Instant::now() < until,
                "rsyslogd did not start listening: {}\n{text}",
                std::fs::read_to_string(self.dir.join("rsyslog.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let until = Instant::now() + Duration::from_secs(10);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The events one input received, in the order rsyslog wrote them.
    fn received(&self, input: &str) -> Vec<String> {
        lines(&self.dir.join(format!("{input}.log")))
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn alerts(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| l.contains(r#""event_type":"alert""#))
        .count()
}

fn wait(what: &str, sensor: &Sensor, rsyslog: &Rsyslog, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(30);
    while !done() {
        let counts: Vec<String> = PORTS
            .iter()
            .map(|(i, _)| format!("{i}: {} alerts", alerts(&rsyslog.received(i))))
            .collect();
        let ports: Vec<String> = lines(&sensor.alerts)
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["event_type"] == "alert")
            .map(|v| format!("{}>{}", v["src_port"], v["dest_port"]))
            .collect();
        assert!(
            Instant::now() < until,
            "timed out: {what}\nfile: {} alerts ({}); {}\n{}",
            alerts(&lines(&sensor.alerts)),
            ports.join(" "),
            counts.join(", "),
            sensor.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A CA and a certificate for `localhost` / 127.0.0.1 signed by it (openssl).
fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(key);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]);
    ca.extend(["-subj", "/CN=c2watch test CA"]);
    run(&ca);
    let mut req = vec!["req"];
    req.extend(key);
    req.extend(["-keyout", "server.key", "-out", "server.csr"]);
    req.extend(["-subj", "/CN=localhost"]);
    run(&req);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

#[test]
fn alerts_reach_rsyslog_over_udp_tcp_and_tls_exactly_once_in_order_across_an_outage() {
    let name = "alerts_reach_rsyslog_over_udp_tcp_and_tls_exactly_once_in_order_across_an_outage";
    if !can_run(name) {
        return;
    }
    for tool in ["rsyslogd", "openssl"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .status()
            .is_ok_and(|s| s.success());
        assert!(found, "{tool} is needed (scripts/install-deps installs it)");
    }
    let mut lab = Lab::new("sys");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    make_certs(d);
    Rsyslog::configure(d);
    let c2 = lab.addr(2);
    std::fs::write(d.join("c2.txt"), format!("{c2}\n")).expect("feed");
    // No dedup window: every packet to or from the C2 alerts (a UDP flow here is a request
    // and its echo: two alerts), so each alert is a distinct event.
    let mut conf = String::from(
        "intel = [\"c2.txt\"]\ndedup_window = 0\n\
         [[output]]\ntype = \"file\"\npath = \"alerts.json\"\nappend = false\n",
    );
    for (input, port) in PORTS {
        let transport = input;
        conf.push_str(&format!(
            "[[output]]\ntype = \"syslog\"\nname = \"{input}\"\naddress = \"127.0.0.1:{port}\"\n\
             transport = \"{transport}\"\nspool = \"spool-{input}\"\nretry = 1\n"
        ));
        if input == "tls" {
            conf.push_str("ca_file = \"ca.pem\"\nserver_name = \"localhost\"\n");
        }
    }
    std::fs::write(d.join("c2watch.toml"), conf).expect("config");
    let script = root()
        .join("tests/servers/netns_traffic.py")
        .display()
        .to_string();
    let (c2_ns, victim_ns) = (lab.c2.clone(), lab.victim.clone());
    lab.start_until_line(&c2_ns, &["python3", &script, "serve", "0.0.0.0"]);

    let mut rsyslog = Rsyslog::start(d, &lab);
    let config = d.join("c2watch.toml").display().to_string();
    let sensor = start_capture(
        &lab,
        d,
        &[],
        &["--config", &config, "--stats-interval", "0"],
    );
    let file = d.join("alerts.json");
    let flows = |first: u16| {
        lab.run(
            &victim_ns,
            &["python3", &script, "udp", &c2, "10", &first.to_string()],
        );
    };
    // The file holds at least `n` alerts, and every receiver as many as the file.
    let everywhere = |n: usize, rsyslog: &Rsyslog| {
        let have = alerts(&lines(&file));
        have >= n
            && PORTS
                .iter()
                .all(|(i, _)| alerts(&rsyslog.received(i)) == have)
    };

    let settle = |what: &str, n: usize, rsyslog: &Rsyslog| {
        wait(what, &sensor, rsyslog, || everywhere(n, rsyslog));
        // An echo's alert may trail its request's.
        std::thread::sleep(Duration::from_millis(300));
        wait(what, &sensor, rsyslog, || everywhere(n, rsyslog));
        alerts(&lines(&file))
    };

    // 1. Receivers up: 10 flows, their alerts reach all of them.
    flows(21000);
    let before = settle("the first alerts at every receiver", 10, &rsyslog);

    // 2. rsyslog stops; 10 more flows, their alerts go to the spools.
    rsyslog.stop();
    flows(22000);
    std::thread::sleep(Duration::from_millis(300));
    let down = |_: &Rsyslog| {
        alerts(&lines(&file)) >= before + 10
            && PORTS.iter().all(|(i, _)| {
                let needle = format!("output {i} (syslog-{i} 127.0.0.1:");
                sensor.log().contains(&needle)
            })
    };
    wait(
        "10 more flows, every output down",
        &sensor,
        &rsyslog,
        || down(&rsyslog),
    );
    for (input, _) in PORTS {
        let got = alerts(&rsyslog.received(input));
        assert_eq!(got, before, "{input}: nothing arrives while it is down");
    }
    let spooled = alerts(&lines(&file)) - before;
    std::thread::sleep(Duration::from_millis(1500));

    // 3. rsyslog is back: the spools drain in order; then 10 more flows.
    let rsyslog = Rsyslog::start(d, &lab);
    let now = settle("the spooled alerts delivered", before + spooled, &rsyslog);
    flows(23000);
    settle("the last alerts at every receiver", now + 10, &rsyslog);

    // 4. The sensor stops: its final stats event is the last line everywhere.
    let (code, _, log) = stop(sensor);
    assert_eq!(code, 0, "{log}");
    let expected = lines(&file);
    let ports: std::collections::BTreeSet<u64> = expected
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event_type"] == "alert")
        .filter_map(|v| v["src_port"].as_u64())
        .collect();
    for first in [21000, 22000, 23000] {
        for p in first..first + 10 {
            assert!(
                ports.contains(&p),
                "the flow from port {p} alerted: {ports:?}"
            );
        }
    }
    let until = Instant::now() + Duration::from_secs(20);
    for (input, _) in PORTS {
        while rsyslog.received(input).len() < expected.len() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(100));
        }
        let got = rsyslog.received(input);
        assert_eq!(
            got.len(),
            expected.len(),
            "{input}: every event exactly once\n{log}"
        );
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "{input}: event {i} in order");
        }
    }
    // The counters tell the story: one outage each, what was spooled delivered from the
    // spool, nothing dropped or left.
    let stats: Value = serde_json::from_str(expected.last().expect("stats")).expect("json");
    let outputs = stats["stats"]["outputs"].as_array().expect("outputs");
    for (input, _) in PORTS {
        let o = outputs
            .iter()
            .find(|o| o["name"] == input)
            .unwrap_or_else(|| panic!("{input} in {outputs:?}"));
        assert_eq!(o["outages"], 1, "{o}");
        assert_eq!(o["spooled"], spooled, "{o}");
        assert_eq!(o["delivered_from_spool"], spooled, "{o}");
        assert_eq!((&o["dropped"], &o["queued"]), (&0.into(), &0.into()), "{o}");
        assert_eq!(o["up"], true, "{o}");
    }
    let delivered = format!("delivered {spooled} spooled event(s) in order");
    assert_eq!(log.matches(&delivered).count(), PORTS.len(), "{log}");
    drop(lab);
}
