//! The committed fixtures are exactly what the generator writes.

mod common;

#[test]
fn fixtures_are_current() {
    let dir = tempfile::tempdir().unwrap();
    c2watch::synth::fixtures::generate(dir.path()).unwrap();
    let committed = common::root().join("fixtures");
    let mut checked = 0;
    for entry in walk(dir.path()) {
        let rel = entry.strip_prefix(dir.path()).unwrap();
        let want = std::fs::read(&entry).unwrap();
        let have = std::fs::read(committed.join(rel)).unwrap_or_else(|_| {
            panic!(
                "fixtures/{} is missing: run `cargo run --example gen_fixtures`",
                rel.display()
            )
        });
        assert!(
            want == have,
            "fixtures/{} differs from the generator: run `cargo run --example gen_fixtures`",
            rel.display()
        );
        checked += 1;
    }
    assert!(checked > 30);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}
