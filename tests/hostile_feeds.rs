//! Hostile feeds (issue #8): each gives a bounded, clear error (with file:line where it
//! applies) or a counted skip, and none can exhaust memory — the peak RSS of every c2watch
//! this test binary runs is asserted at the end of the big-bundle test. A download that
//! fails keeps the last good copy.

mod common;
use common::*;
use std::io::Write;

fn write(dir: &std::path::Path, name: &str, body: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

fn check(feed: &str) -> Run {
    c2watch(&["intel", "check", "--intel", feed])
}

#[test]
fn a_file_over_max_size_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // 2 GiB of holes: no disk used, and c2watch must not read it.
    let path = dir.path().join("huge.txt");
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(2 << 30))
        .unwrap();
    let r = check(&path.display().to_string());
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            "the file is 2 GiB, larger than 1 GiB (max_size; raise it in its [[feed]] entry)"
        ),
        "{}",
        r.stderr
    );
    // The limit is the feed's own: a decompression bomb stops at it too.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
    for _ in 0..4096 {
        gz.write_all(&[b'a'; 1023]).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    let bomb = write(dir.path(), "bomb.txt.gz", &gz.finish().unwrap());
    let cfg = write(
        dir.path(),
        "c.toml",
        format!("[[feed]]\nsource = \"{bomb}\"\nmax_size = \"1MiB\"\n").as_bytes(),
    );
    let r = c2watch(&["intel", "check", "--config", &cfg]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("the feed is larger than 1 MiB (max_size; raise it in its [[feed]] entry)"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_hundred_megabyte_line_nul_bytes_and_invalid_utf8_are_counted_skips() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = b"203.0.113.10\n".to_vec();
    body.extend(std::iter::repeat_n(b'x', 100 << 20));
    body.extend_from_slice(b"\nbad\0line\n\xff\xfe\xfd\n203.0.113.11\n");
    let feed = write(dir.path(), "list.txt", &body);
    drop(body);
    let r = check(&feed);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("2 entries, skipped: "), "{}", r.stdout);
    for kind in ["too-long", "bad-encoding", "unparsable"] {
        assert!(r.stdout.contains(kind), "{kind}: {}", r.stdout);
    }
    assert!(r.stderr.contains("list.txt:2: skipped"), "{}", r.stderr);
    assert!(
        r.stderr.contains("list.txt:4: skipped (bad-encoding)"),
        "{}",
        r.stderr
    );
}

#[test]
fn deeply_nested_json_is_a_clear_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let deep = |open: &str, close: &str| {
        let mut s = String::new();
        s.push_str(open);
        s.push_str(&"[".repeat(100_000));
        s.push_str(&"]".repeat(100_000));
        s.push_str(close);
        s
    };
    for (name, text, format) in [
        (
            "bundle.json",
            deep("{\"type\": \"bundle\",\n\"objects\": [", "]}"),
            "STIX",
        ),
        ("misp:event.json", deep("{\"Event\":\n", "}"), "MISP"),
    ] {
        let (prefix, file) = name.split_once(':').unwrap_or(("", name));
        let feed = write(dir.path(), file, text.as_bytes());
        let feed = if prefix.is_empty() {
            feed
        } else {
            format!("{prefix}:{feed}")
        };
        let r = check(&feed);
        assert_eq!(r.code, 1, "{name}");
        assert!(
            r.stderr.contains("recursion limit exceeded"),
            "{name}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("{file}:2")),
            "{format} error names the line: {}",
            r.stderr
        );
    }
}

#[test]
fn csv_rows_with_wrong_column_counts_are_skipped_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let feed = write(
        dir.path(),
        "feodo.csv",
        b"\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
          \"2023-10-01 12:00:00\",\"203.0.113.20\",\"53\",\"online\",\"2023-11-14\",\"QakBot\"\n\
          \"2023-10-01 12:00:00\",\"203.0.113.21\"\n\
          \"2023-10-01 12:00:00\",\"203.0.113.22\",\"53\",\"online\",\"2023-11-14\",\"QakBot\",\"extra\",\"more\"\n\
          \"2023-10-01 12:00:00\",\"203.0.113.23\",\"443\",\"online\",\"2023-11-14\",\"Emotet\"\n",
    );
    let r = check(&feed);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("as feodo-csv, 2 entries, skipped: 2"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("feodo.csv:3: skipped"), "{}", r.stderr);
    assert!(r.stderr.contains("feodo.csv:4: skipped"), "{}", r.stderr);
}

#[test]
fn a_stix_bundle_of_two_hundred_thousand_objects_loads_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write!(
        f,
        "{{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": ["
    )
    .unwrap();
    let n = 200_000u32;
    for i in 0..n {
        let sep = if i == 0 { "" } else { "," };
        write!(
            f,
            "{sep}{{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--{i:08x}-0000-4000-8000-000000000000\",\"created\":\"2024-01-01T00:00:00Z\",\"modified\":\"2024-01-01T00:00:00Z\",\"pattern\":\"[ipv4-addr:value = '10.{}.{}.{}']\",\"pattern_type\":\"stix\",\"valid_from\":\"2024-01-01T00:00:00Z\"}}",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        )
        .unwrap();
    }
    write!(f, "]}}").unwrap();
    f.flush().unwrap();
    drop(f);
    let size_mib = std::fs::metadata(&path).unwrap().len() >> 20;
    let r = check(&path.display().to_string());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&format!("{n} entries")), "{}", r.stdout);
    // Objects are read one at a time and kept compact: well under the 8x the document took
    // as JSON values. (Every c2watch of this binary counts: all of them stay under it.)
    let peak = children_peak_rss_mib();
    eprintln!("STIX bundle of {n} objects ({size_mib} MiB): peak RSS {peak} MiB");
    assert!(
        peak < 3 * size_mib as i64 + 64,
        "peak RSS {peak} MiB for {size_mib} MiB of JSON"
    );
}

/// The misbehaving server (`tests/servers/hostile_http.py`), and how to switch its mode.
fn hostile_server(dir: &std::path::Path) -> (Server, impl Fn(&str)) {
    let mode = dir.join("mode");
    std::fs::write(&mode, "good").unwrap();
    let script = root().join("tests/servers/hostile_http.py");
    let port = free_port();
    let server = Server::start(
        "python3",
        &[
            &script.display().to_string(),
            &mode.display().to_string(),
            &port.to_string(),
        ],
        dir,
        port,
        dir.join("server.log"),
    );
    (server, move |m: &str| std::fs::write(&mode, m).unwrap())
}

#[test]
fn stalled_and_endless_sources_end_with_an_error_and_keep_the_last_good_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (server, set_mode) = hostile_server(dir.path());
    let cache = dir.path().join("cache");
    let url = format!("http://127.0.0.1:{}/feed.txt", server.port);
    let cfg = write(
        dir.path(),
        "c2watch.toml",
        format!(
            "cache_dir = \"{}\"\n[[feed]]\nname = \"partner\"\nsource = \"{url}\"\ntimeout = \"2s\"\nmax_size = \"256KiB\"\n",
            cache.display()
        )
        .as_bytes(),
    );
    let check = || c2watch(&["intel", "check", "--config", &cfg]);
    let r = check();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("2 entries"), "{}", r.stdout);
    for (mode, why) in [("stall", "timeout"), ("endless", "limit 262144 bytes")] {
        set_mode(mode);
        let started = std::time::Instant::now();
        let r = check();
        assert!(started.elapsed().as_secs() < 20, "{mode}: bounded in time");
        assert_eq!(r.code, 0, "{mode}: {}", r.stderr);
        assert!(
            r.stdout.contains("2 entries, STALE (last good copy kept"),
            "{mode}: {}",
            r.stdout
        );
        let all = format!("{}{}", r.stdout, r.stderr).to_lowercase();
        assert!(all.contains(why), "{mode}: {all}");
    }

    // A TAXII server that pages forever: with the same page (no progress), or with new
    // objects on every page (the poll's byte limit).
    let taxii = format!("http://127.0.0.1:{}/taxii2/", server.port);
    for (mode, why) in [
        ("taxii-same", "three pages in a row with nothing new"),
        ("taxii-new", "pages exceed 262144 bytes in one poll"),
    ] {
        set_mode(mode);
        let cfg = write(
            dir.path(),
            "taxii.toml",
            format!(
                "cache_dir = \"{}\"\n[[feed]]\nname = \"{mode}\"\nsource = \"{taxii}\"\ncollection = \"forever\"\ntimeout = \"5s\"\nmax_size = \"256KiB\"\n",
                cache.display()
            )
            .as_bytes(),
        );
        let r = c2watch(&["intel", "check", "--config", &cfg]);
        assert_eq!(r.code, 1, "{mode}: nothing good to keep: {}", r.stdout);
        assert!(r.stderr.contains(why), "{mode}: {}", r.stderr);
    }
}
