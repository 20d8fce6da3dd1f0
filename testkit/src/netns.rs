//! Network namespaces for "pods": each has its own loopback, and `ip netns exec` mounts
//! `/etc/netns/<name>/resolv.conf` over `/etc/resolv.conf`, so an unmodified binary sees a
//! pod-style resolver configuration (search domains, `ndots:5`).

use std::fs::File;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use nix::sched::{CloneFlags, setns};

/// A network namespace, deleted on drop unless [`Netns::keep`] was called.
pub struct Netns {
    /// Its name under /run/netns.
    pub name: String,
    keep: bool,
}

/// The resolv.conf the kubelet writes for a pod in `namespace` of a cluster with `domain`.
pub fn pod_resolv_conf(namespace: &str, domain: &str, nameserver: &str) -> String {
    format!(
        "search {namespace}.svc.{domain} svc.{domain} {domain}\nnameserver {nameserver}\noptions ndots:5\n"
    )
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl Netns {
    /// Creates the namespace (replacing a leftover of the same name), brings up its
    /// loopback and writes its resolv.conf. Needs root.
    pub fn create(name: &str, resolv_conf: &str) -> Result<Netns> {
        if PathBuf::from("/run/netns").join(name).exists() {
            Netns::delete(name);
        }
        run(Command::new("ip").args(["netns", "add", name]))
            .context("creating a network namespace (this needs root: run the tests as root)")?;
        let ns = Netns {
            name: name.to_owned(),
            keep: false,
        };
        run(Command::new("ip").args(["netns", "exec", name, "ip", "link", "set", "lo", "up"]))?;
        let etc = ns.etc_dir();
        std::fs::create_dir_all(&etc)?;
        std::fs::write(etc.join("resolv.conf"), resolv_conf)?;
        Ok(ns)
    }

    /// Refers to an existing namespace (e.g. one made by `ring up`) without owning it.
    pub fn existing(name: &str) -> Netns {
        Netns {
            name: name.to_owned(),
            keep: true,
        }
    }

    /// Keeps the namespace after this value is dropped.
    pub fn keep(mut self) -> Self {
        self.keep = true;
        self
    }

    /// Deletes a namespace by name, and its /etc/netns directory. Errors are ignored.
    pub fn delete(name: &str) {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(name));
    }

    fn etc_dir(&self) -> PathBuf {
        PathBuf::from("/etc/netns").join(&self.name)
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// Runs `f` on a fresh thread that has joined the namespace: sockets it creates live
    /// in the namespace and stay there when handed back.
    pub fn in_thread<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        spawn_in(Some(self), "netns", f)?
            .join()
            .map_err(|_| anyhow::anyhow!("namespace thread panicked"))?
    }
}

/// Spawns a thread named `name` that first joins `netns` (None: stays in this process's
/// namespace), then runs `f`. Namespaces are per thread, so everything `f` does (a tokio
/// current-thread runtime, say) lives there. The handle yields `Err` if joining failed.
pub fn spawn_in<T: Send + 'static>(
    netns: Option<&Netns>,
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<std::thread::JoinHandle<Result<T>>> {
    let file = match netns {
        Some(ns) => {
            let path = PathBuf::from("/run/netns").join(&ns.name);
            Some(File::open(&path).with_context(|| format!("cannot open {}", path.display()))?)
        }
        None => None,
    };
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || -> Result<T> {
            if let Some(file) = file {
                setns(&file, CloneFlags::CLONE_NEWNET).context("setns")?;
            }
            Ok(f())
        })
        .with_context(|| format!("cannot spawn thread {name}"))
}

impl Drop for Netns {
    fn drop(&mut self) {
        if !self.keep {
            Netns::delete(&self.name);
        }
    }
}
