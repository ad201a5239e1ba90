//! TAXII 2.1 sources against a real TAXII server on loopback: the OASIS reference server
//! medallion (installed from PyPI, as `tests/servers/requirements.txt` pins it, into
//! `target/tmp/medallion-venv` the first time), and
//! credentials against Python's http.server behind a small token check.

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const COLLECTION: &str = "365fed99-08fa-fdcd-a1b3-fb247eb41d01";

/// The medallion program: `C2WATCH_MEDALLION`, or a venv made (once) under the target dir.
fn medallion() -> PathBuf {
    if let Some(p) = std::env::var_os("C2WATCH_MEDALLION") {
        return PathBuf::from(p);
    }
    static SETUP: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = SETUP.lock().unwrap_or_else(|e| e.into_inner());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("medallion-venv");
    let bin = venv.join("bin").join("medallion");
    if bin.is_file() {
        return bin;
    }
    let run = |cmd: &mut std::process::Command| {
        let out = cmd
            .output()
            .expect("run python3 (scripts/install-deps installs it)");
        assert!(
            out.status.success(),
            "{cmd:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(std::process::Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv));
    run(std::process::Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(root().join("tests/servers/requirements.txt")));
    bin
}

fn indicator(n: u32, ip: &str, modified: &str, revoked: bool) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
        "created": "2026-01-01T00:00:00.000Z", "modified": modified,
        "name": format!("C2 {ip}"), "indicator_types": ["malicious-activity"],
        "pattern": format!("[ipv4-addr:value = '{ip}']"), "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z", "confidence": 80, "revoked": revoked
    })
}

/// A medallion server whose one collection holds five indicators (203.0.113.1-5) added on
/// five days, a malware they indicate, and page size 2; user `c2watch`, password `s3cret`.
fn start_medallion(dir: &Path) -> Server {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut objects: Vec<Value> = (0..5)
        .map(|i| {
            indicator(
                i,
                &format!("203.0.113.{}", i + 1),
                "2026-01-01T00:00:00.000Z",
                false,
            )
        })
        .collect();
    objects.push(json!({"type": "malware", "spec_version": "2.1",
        "id": "malware--00000000-0000-4000-8000-0000000000aa",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": "Emotet", "is_family": true}));
    objects.push(json!({"type": "relationship", "spec_version": "2.1",
        "id": "relationship--00000000-0000-4000-8000-0000000000bb",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "relationship_type": "indicates",
        "source_ref": "indicator--00000000-0000-4000-8000-000000000000",
        "target_ref": "malware--00000000-0000-4000-8000-0000000000aa"}));
    let manifest: Vec<Value> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            json!({"id": o["id"], "date_added": format!("2026-01-0{}T00:00:00.000000Z", (i % 5) + 1),
                "version": o["modified"], "media_type": "application/stix+json;version=2.1"})
        })
        .collect();
    let data = json!({
        "/discovery": {"title": "c2watch test TAXII", "default": format!("{base}/trustgroup/"),
            "api_roots": [format!("{base}/trustgroup/")]},
        "trustgroup": {
            "information": {"title": "trust group", "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 10485760},
            "status": [],
            "collections": [{"id": COLLECTION, "title": "c2-servers", "can_read": true, "can_write": true,
                "media_types": ["application/stix+json;version=2.1"],
                "objects": objects, "manifest": manifest}]
        }
    });
    std::fs::write(dir.join("data.json"), data.to_string()).unwrap();
    let config = json!({
        "users": {"c2watch": "s3cret"},
        "taxii": {"max_page_size": 2},
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
            "filename": dir.join("data.json")}
    });
    std::fs::write(dir.join("medallion.json"), config.to_string()).unwrap();
    let program = medallion();
    Server::start(
        program.to_str().unwrap(),
        &[
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "medallion.json",
        ],
        dir,
        port,
        dir.join("medallion.log"),
    )
}

/// Adds objects to the collection the way a producer does (TAXII 2.1 §5.5).
fn publish(server: &Server, objects: Vec<Value>) {
    let url = format!(
        "http://127.0.0.1:{}/trustgroup/collections/{COLLECTION}/objects/",
        server.port
    );
    let body = json!({ "objects": objects }).to_string();
    let mut resp = ureq::post(&url)
        .header("Authorization", "Basic YzJ3YXRjaDpzM2NyZXQ=")
        .header("Accept", "application/taxii+json;version=2.1")
        .header("Content-Type", "application/taxii+json;version=2.1")
        .send(body.as_bytes())
        .expect("POST objects");
    let status: Value = serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap();
    assert_eq!(status["status"], "complete", "{status}");
}

fn config(dir: &Path, name: &str, server_port: u16, cache: &Path, auth: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "cache_dir = \"{}\"\n[[feed]]\nname = \"partner-taxii\"\nsource = \"http://127.0.0.1:{server_port}/taxii2/\"\ncollection = \"c2-servers\"\npage_size = 2\n{auth}\n",
            cache.display()
        ),
    )
    .unwrap();
    path.display().to_string()
}

fn object_requests(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("/objects/?"))
        .map(|l| l.split('"').nth(1).unwrap_or(l).to_string())
        .collect()
}

#[test]
fn taxii_collection_pages_then_polls_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_medallion(dir.path());
    let cache = dir.path().join("cache");
    let auth = "username = \"c2watch\"\npassword_env = \"C2WATCH_TEST_TAXII_PASSWORD\"";
    let cfg = config(dir.path(), "c2watch.toml", server.port, &cache, auth);
    let env = [("C2WATCH_TEST_TAXII_PASSWORD", "s3cret")];
    let check = || c2watch_env(&["intel", "check", "--config", &cfg], &env);
    let lookup = |v: &str| c2watch_env(&["intel", "lookup", "--config", &cfg, v], &env);

    // First poll: the whole collection, 7 objects in pages of 2 (4 requests, 3 with `next`).
    let r = check();
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, server.requests());
    assert!(r.stdout.contains("partner-taxii (http://"), "{}", r.stdout);
    assert!(
        r.stdout.contains("indicators as stix, 5 entries"),
        "{}",
        r.stdout
    );
    let first = object_requests(&server.requests());
    assert_eq!(first.len(), 4, "{first:?}");
    assert!(first[0].contains("?limit=2 "), "{first:?}");
    assert!(first[1..].iter().all(|q| q.contains("&next=")), "{first:?}");
    let r = lookup("203.0.113.1");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["match"]["sources"][0]["software"], "Emotet", "{v}");
    assert_eq!(v["match"]["sources"][0]["feed"], "partner-taxii", "{v}");

    // A producer adds a C2 and revokes 203.0.113.1 (a new version of its indicator).
    publish(
        &server,
        vec![
            indicator(9, "203.0.113.99", "2026-02-01T00:00:00.000Z", false),
            indicator(0, "203.0.113.1", "2026-02-02T00:00:00.000Z", true),
        ],
    );
    // The next poll asks only for what was added after the last poll's newest object.
    let before = object_requests(&server.requests()).len();
    let r = check();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("indicators as stix, 5 entries"),
        "{}",
        r.stdout
    );
    let all = object_requests(&server.requests());
    let second = &all[before..];
    assert_eq!(second.len(), 1, "{second:?}");
    assert!(
        second[0].contains("&added_after=2026-01-05T00:00:00.000000Z"),
        "{second:?}"
    );
    assert_eq!(lookup("203.0.113.99").code, 0);
    assert_eq!(lookup("203.0.113.1").code, 3, "revoked: no longer listed");
    assert_eq!(lookup("203.0.113.2").code, 0, "kept from the first poll");

    // Nothing new: `added_after` moved on to the producer's post, and nothing is lost.
    let r = check();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("5 entries"), "{}", r.stdout);
    let all = object_requests(&server.requests());
    let third = all.last().unwrap();
    assert!(third.contains("&added_after=2026-"), "{third}");
    assert!(
        !third.contains("2026-01-05T"),
        "added_after moved on: {third}"
    );

    // Wrong password: the server refuses, the last good collection stays (marked stale).
    let r = c2watch_env(
        &["intel", "check", "--config", &cfg],
        &[("C2WATCH_TEST_TAXII_PASSWORD", "wrong")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("5 entries") && r.stdout.contains("STALE"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("HTTP 401"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("wrong") && !r.stderr.contains("wrong"),
        "no secret in output"
    );

    // Wrong password and nothing cached: a clear error naming the cause.
    let cfg2 = config(
        dir.path(),
        "fresh.toml",
        server.port,
        &dir.path().join("cache2"),
        auth,
    );
    let r = c2watch_env(
        &["intel", "check", "--config", &cfg2],
        &[("C2WATCH_TEST_TAXII_PASSWORD", "wrong")],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("HTTP 401") && r.stderr.contains("credentials"),
        "{}",
        r.stderr
    );
    // No password at all: says which variable is missing.
    let r = c2watch(&["intel", "check", "--config", &cfg2]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("C2WATCH_TEST_TAXII_PASSWORD is not set"),
        "{}",
        r.stderr
    );

    // An unknown collection lists what the server has.
    std::fs::write(
        &cfg2,
        std::fs::read_to_string(&cfg2)
            .unwrap()
            .replace("\"c2-servers\"", "\"nope\""),
    )
    .unwrap();
    let r = c2watch_env(&["intel", "check", "--config", &cfg2], &env);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no collection `nope`") && r.stderr.contains(COLLECTION),
        "{}",
        r.stderr
    );

    // Server down: the last good copy is used.
    drop(server);
    let r = check();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("5 entries") && r.stdout.contains("STALE"),
        "{}",
        r.stdout
    );
}

/// An HTTP server that serves one feed only to `Authorization: Bearer <token>` and logs the
/// header it got: a few lines of Python on http.server.
fn start_token_server(dir: &Path, token: &str) -> Server {
    let script = format!(
        r#"
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        got = self.headers.get("Authorization", "")
        sys.stderr.write("auth=" + got + "\n"); sys.stderr.flush()
        if got != "Bearer {token}":
            self.send_response(401); self.end_headers(); return
        body = b"203.0.113.77\n"
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#
    );
    std::fs::write(dir.join("token_server.py"), script).unwrap();
    let port = free_port();
    Server::start(
        "python3",
        &["token_server.py", &port.to_string()],
        dir,
        port,
        dir.join("token.log"),
    )
}

#[test]
fn http_feed_with_a_bearer_token_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_token_server(dir.path(), "t0ken-123");
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken-123\n").unwrap();
    let cfg = dir.path().join("c2watch.toml");
    let write = |token_file: &str| {
        std::fs::write(
            &cfg,
            format!(
                "cache_dir = \"{}\"\n[[feed]]\nname = \"vendor\"\nsource = \"http://127.0.0.1:{}/feed.txt\"\ntoken_file = \"{token_file}\"\n",
                dir.path().join("cache").display(),
                server.port
            ),
        )
        .unwrap();
    };
    write("token");
    let cfg_s = cfg.display().to_string();
    let r = c2watch(&["intel", "check", "--config", &cfg_s]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, server.requests());
    assert!(r.stdout.contains("1 entries"), "{}", r.stdout);
    assert!(
        server.requests().contains("auth=Bearer t0ken-123"),
        "{}",
        server.requests()
    );

    // A token the server refuses: stale, with the reason.
    std::fs::write(dir.path().join("old-token"), "expired\n").unwrap();
    write("old-token");
    let r = c2watch(&["intel", "check", "--config", &cfg_s]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("STALE") && r.stdout.contains("HTTP 401"),
        "{}",
        r.stdout
    );

    // Credentials are config-only, and mistakes in them are named.
    std::fs::write(
        &cfg,
        "[[feed]]\nsource = \"http://127.0.0.1:1/x\"\nusername = \"u\"\n",
    )
    .unwrap();
    let r = c2watch(&["intel", "check", "--config", &cfg_s]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("username without a password"),
        "{}",
        r.stderr
    );
}

/// An HTTP server that tags its one feed with an ETag and answers a matching If-None-Match
/// with 304 (as CDNs in front of feed publishers do; Python's http.server sends no ETag).
fn start_etag_server(dir: &Path) -> Server {
    let script = r#"
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        inm = self.headers.get("If-None-Match", "")
        body = open("feed.txt", "rb").read()
        tag = '"v%d"' % len(body)
        sys.stderr.write("inm=%s tag=%s\n" % (inm, tag)); sys.stderr.flush()
        if inm == tag:
            self.send_response(304); self.send_header("ETag", tag); self.end_headers(); return
        self.send_response(200); self.send_header("ETag", tag)
        self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;
    std::fs::write(dir.join("etag_server.py"), script).unwrap();
    let port = free_port();
    Server::start(
        "python3",
        &["etag_server.py", &port.to_string()],
        dir,
        port,
        dir.join("etag.log"),
    )
}

#[test]
fn http_feed_revalidates_with_its_etag() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("feed.txt"), "203.0.113.70\n203.0.113.71\n").unwrap();
    let server = start_etag_server(dir.path());
    let cfg = dir.path().join("c2watch.toml");
    std::fs::write(
        &cfg,
        format!(
            "cache_dir = \"{}\"\n[[feed]]\nname = \"cdn\"\nsource = \"http://127.0.0.1:{}/feed.txt\"\n",
            dir.path().join("cache").display(),
            server.port
        ),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    let check = || c2watch(&["intel", "check", "--config", &cfg]);
    let r = check();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("2 entries"), "{}", r.stdout);
    // The second run sends the ETag back and gets 304: the cached copy is used.
    let r = check();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("2 entries") && !r.stdout.contains("STALE"),
        "{}",
        r.stdout
    );
    let log = server.requests();
    assert!(log.contains("inm= tag=\"v26\""), "{log}");
    assert!(log.contains("inm=\"v26\" tag=\"v26\""), "{log}");
    // A new version (new ETag) is downloaded.
    std::fs::write(
        dir.path().join("feed.txt"),
        "203.0.113.70\n203.0.113.71\n203.0.113.72\n",
    )
    .unwrap();
    let r = check();
    assert!(r.stdout.contains("3 entries"), "{}", r.stdout);
}
