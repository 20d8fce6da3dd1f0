//! Keeps `src/decide` pure: no IO, no clock, no async runtime, no network clients.
//! (The linkerd policy controller gets this from a crate with no such dependencies; we
//! are one package, so a test checks it.)

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "tokio",
    "hickory",
    "scylla",
    "kube",
    "k8s_openapi",
    "nix::",
    "std::fs",
    "std::net::Tcp",
    "std::net::Udp",
    "std::process",
    "std::env",
    "Instant::now",
    "SystemTime",
    "tracing",
    "crate::edge",
    "crate::cmd",
];

#[test]
fn decide_does_no_io() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/decide");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in FORBIDDEN {
                assert!(
                    !code.contains(word),
                    "{}:{}: `{word}` does not belong in pure decision code: {line}",
                    path.display(),
                    n + 1
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 5, "expected the decide modules, found {checked}");
}
