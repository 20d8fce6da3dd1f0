//! The crate's import graph, read by parsing every source file under `src/` (subfolders
//! included) with `syn`, not by searching text: each `use` and each path in the code,
//! `super::` and `self::` resolved against the module (and inline module) it is written
//! in. Then the directions that keep the house in order:
//!
//! * `decide` is pure: none of the crate's other layers, no IO, no clock, no async
//!   runtime, no network clients, no logging (the linkerd policy controller gets this from
//!   a crate with no such dependencies; we are one package, so a test checks it);
//! * `config` and `render` read no IO layer: no `edge`, `gather` or `cmd`;
//! * `edge` serves commands and never calls them: no `cmd`, no `gather`;
//! * a command does not import another command (what several share lives in `gather`).

use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Crate modules (first segment after `crate::`) a module may not reach, by where it is.
fn forbidden_modules(module: &[String]) -> Vec<&'static str> {
    match module.first().map(String::as_str) {
        Some("decide") => vec![
            "edge",
            "cmd",
            "gather",
            "config",
            "cli",
            "env",
            "exit",
            "telemetry",
        ],
        Some("config") | Some("render") => vec!["edge", "cmd", "gather"],
        Some("edge") => vec!["cmd", "gather"],
        _ => vec![],
    }
}

/// What pure decision code never names: paths that start with these segments.
const IMPURE_PREFIXES: &[&[&str]] = &[
    &["tokio"],
    &["hickory_resolver"],
    &["hickory_proto"],
    &["scylla"],
    &["scylla_cql"],
    &["kube"],
    &["k8s_openapi"],
    &["nix"],
    &["tracing"],
    &["rustls"],
    &["std", "fs"],
    &["std", "net", "TcpStream"],
    &["std", "net", "TcpListener"],
    &["std", "net", "UdpSocket"],
    &["std", "process"],
    &["std", "env"],
    &["std", "time", "Instant"],
    &["std", "time", "SystemTime"],
];

/// Paths that read the clock, wherever the type was imported from.
const CLOCK_READS: &[&[&str]] = &[&["Instant", "now"], &["SystemTime", "now"]];

/// One source file and the module it holds (`src/decide/seeds.rs` is `decide::seeds`,
/// `src/edge/mod.rs` is `edge`, `src/lib.rs` the crate root).
struct Source {
    file: PathBuf,
    module: Vec<String>,
}

fn sources(dir: &Path, module: &[String], out: &mut Vec<Source>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut sub = module.to_vec();
            sub.push(name);
            sources(&path, &sub, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut m = module.to_vec();
            // main.rs is the binary: its own crate, outside this graph.
            match name.as_str() {
                "main" if module.is_empty() => continue,
                "lib" | "mod" => {}
                _ => m.push(name),
            }
            out.push(Source {
                file: path,
                module: m,
            });
        }
    }
}

/// A reference: the path as written, resolved to an absolute one when it starts with
/// `crate`, `super` or `self`.
#[derive(Debug)]
struct Reference {
    line: usize,
    written: String,
    /// `Some(segments after crate::)` for a path into this crate.
    internal: Option<Vec<String>>,
    segments: Vec<String>,
}

struct Collector {
    /// The module of the code being visited (file module + inline modules).
    module: Vec<String>,
    refs: Vec<Reference>,
}

impl Collector {
    fn add(&mut self, segments: Vec<String>, line: usize) {
        let written = segments.join("::");
        let internal = match segments.first().map(String::as_str) {
            Some("crate") => Some(segments[1..].to_vec()),
            Some("self") | Some("super") => {
                let mut base = self.module.clone();
                let mut rest = segments.as_slice();
                while let Some(first) = rest.first() {
                    match first.as_str() {
                        "self" => rest = &rest[1..],
                        "super" => {
                            base.pop();
                            rest = &rest[1..];
                        }
                        _ => break,
                    }
                }
                base.extend(rest.iter().cloned());
                Some(base)
            }
            _ => None,
        };
        self.refs.push(Reference {
            line,
            written,
            internal,
            segments,
        });
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree, line: usize) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree, line);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                full.push(n.ident.to_string());
                self.add(full, line);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                full.push(r.ident.to_string());
                self.add(full, line);
            }
            syn::UseTree::Glob(_) => self.add(prefix.clone(), line),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t, line);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let line = u.use_token.span.start().line;
        self.use_tree(&mut Vec::new(), &u.tree, line);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        let line = p
            .segments
            .first()
            .map_or(0, |s| s.ident.span().start().line);
        if segments.len() > 1 {
            self.add(segments, line);
        }
        syn::visit::visit_path(self, p);
    }
}

fn starts_with(segments: &[String], prefix: &[&str]) -> bool {
    segments.len() >= prefix.len() && segments.iter().zip(prefix).all(|(a, b)| a == b)
}

fn contains(segments: &[String], run: &[&str]) -> bool {
    segments
        .windows(run.len())
        .any(|w| w.iter().zip(run).all(|(a, b)| a == b))
}

/// Every broken direction in the sources, one line each.
fn violations(sources: &[Source]) -> Vec<String> {
    let mut out = Vec::new();
    for source in sources {
        let text = std::fs::read_to_string(&source.file).unwrap();
        let file = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("{}: does not parse: {e}", source.file.display()));
        let mut c = Collector {
            module: source.module.clone(),
            refs: Vec::new(),
        };
        c.visit_file(&file);
        let here = source.module.join("::");
        let at = |r: &Reference| format!("{}:{} ({here})", source.file.display(), r.line);
        let forbidden = forbidden_modules(&source.module);
        for r in &c.refs {
            if let Some(target) = &r.internal {
                if let Some(first) = target.first()
                    && forbidden.contains(&first.as_str())
                {
                    out.push(format!("{}: `{}` reaches `{first}`", at(r), r.written));
                }
                // A command reaching into another command.
                if source.module.first().is_some_and(|m| m == "cmd")
                    && target.first().is_some_and(|t| t == "cmd")
                    && target.len() > 1
                    && source.module.get(1) != target.get(1)
                {
                    out.push(format!(
                        "{}: `{}` imports another command (share it through `gather` or a module of its own)",
                        at(r),
                        r.written
                    ));
                }
            } else if source.module.first().is_some_and(|m| m == "decide") {
                let impure = IMPURE_PREFIXES.iter().any(|p| starts_with(&r.segments, p))
                    || CLOCK_READS.iter().any(|p| contains(&r.segments, p));
                if impure {
                    out.push(format!(
                        "{}: `{}` does not belong in pure decision code",
                        at(r),
                        r.written
                    ));
                }
            }
        }
    }
    out
}

fn crate_sources() -> Vec<Source> {
    let mut out = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    out
}

#[test]
fn the_layers_point_one_way() {
    let sources = crate_sources();
    let decide = sources
        .iter()
        .filter(|s| s.module.first().is_some_and(|m| m == "decide"))
        .count();
    assert!(decide >= 5, "expected the decide modules, found {decide}");
    let broken = violations(&sources);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The checker itself, on files written for it: each direction it must catch, in a
/// subfolder, through `super::` and an inline module.
#[test]
fn the_checker_catches_each_direction() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |rel: &str, text: &str| {
        let path = src.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "lib.rs",
        "pub mod config; pub mod decide; pub mod edge; pub mod cmd;",
    );
    write("config.rs", "use crate::edge::cql::CqlAccess;");
    write("decide/mod.rs", "pub mod seeds;");
    write(
        "decide/seeds/mod.rs",
        "use super::super::edge::dns;\nfn f() { let _ = std::time::Instant::now(); }\nmod tests { use tokio::time::sleep; }",
    );
    write(
        "decide/seeds/kin.rs",
        "use std::collections::BTreeMap;\nfn g() -> Instant { Instant::now() }",
    );
    write("edge/mod.rs", "use crate::cmd::drain::Drain;");
    write("cmd/mod.rs", "pub mod entrypoint; pub mod seeds;");
    write(
        "cmd/entrypoint.rs",
        "use super::seeds::resolve;\nuse crate::cmd::entrypoint::x;",
    );
    write("cmd/seeds.rs", "use crate::gather::resolve;");
    let mut sources = Vec::new();
    self::sources(src, &[], &mut sources);
    let found = violations(&sources).join("\n");
    for want in [
        "(config): `crate::edge::cql::CqlAccess` reaches `edge`",
        "(decide::seeds): `super::super::edge::dns` reaches `edge`",
        "(decide::seeds): `std::time::Instant::now` does not belong",
        "(decide::seeds): `tokio::time::sleep` does not belong",
        "(decide::seeds::kin): `Instant::now` does not belong",
        "(edge): `crate::cmd::drain::Drain` reaches `cmd`",
        "(cmd::entrypoint): `super::seeds::resolve` imports another command",
    ] {
        assert!(found.contains(want), "{want:?} not caught:\n{found}");
    }
    assert!(!found.contains("BTreeMap"), "{found}");
    assert!(!found.contains("cmd::entrypoint::x"), "{found}");
    assert!(!found.contains("(cmd::seeds)"), "{found}");
}
