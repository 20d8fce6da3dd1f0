//! A container as the kubelet and its runtime make one, without a container runtime: the
//! pod runner writes a [`ContainerSpec`] and runs `rk-testkit container <spec>`, which
//!
//! 1. joins the pod's network namespace, unshares mount, PID, UTS and IPC namespaces and
//!    sets the pod's hostname (the shim: it stays outside, waits, and exits as the
//!    container did);
//! 2. starts `rk-testkit container-init <spec>` as PID 1 of the new PID namespace, which
//!    builds the root: an overlay of the *image layer* (mount points, and the harness's
//!    stand-ins for paths inside the image, bind-mounted on top) over the host's `/`,
//!    read-only when `readOnlyRootFilesystem` says so; a fresh `/proc`; the host's `/dev`
//!    and `/sys`; every volume at its `mountPath`;
//! 3. chroots, drops to the securityContext's uid/gid (all capabilities go with root;
//!    `no_new_privs` when `allowPrivilegeEscalation: false`), and execs the container's
//!    command with exactly the environment given, so the command is PID 1, as in a pod.
//!
//! Exec probes and `preStop` run in the same namespaces and root through `nsenter`
//! ([`exec_command`]). SIGKILL of PID 1 ends every process of the PID namespace, as when a
//! runtime kills a container. Not modelled: seccomp profiles, cgroup limits.
//!
//! Everything here runs single-threaded before any runtime starts (unshare of the mount
//! namespace needs that); the mounts live and die with the container's mount namespace.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, setns, unshare};
use nix::unistd::{Gid, Uid, chdir, chroot, setgid, setgroups, sethostname, setuid};
use serde::{Deserialize, Serialize};

/// One volume (or image path) mounted into the container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Mount {
    /// Host path (a directory, or a file when `file`).
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// A single file rather than a directory.
    pub file: bool,
}

/// What `rk-testkit container` runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerSpec {
    /// Network namespace (name under /run/netns).
    pub netns: String,
    /// The pod's hostname.
    pub hostname: String,
    /// command + args, as the manifest says (the first is looked up in the env's PATH).
    pub argv: Vec<String>,
    /// The complete environment.
    pub env: Vec<(String, String)>,
    /// workingDir (the image's default when the manifest has none).
    pub working_dir: String,
    /// runAsUser.
    pub uid: u32,
    /// runAsGroup.
    pub gid: u32,
    /// Supplementary groups (fsGroup).
    pub groups: Vec<u32>,
    /// readOnlyRootFilesystem.
    pub read_only_root: bool,
    /// `allowPrivilegeEscalation: false`.
    pub no_new_privs: bool,
    /// Volumes and image paths, mounted in order of depth.
    pub mounts: Vec<Mount>,
    /// A directory of this container start's own: a tmpfs is mounted there (inside the
    /// container's mount namespace only) to hold the image layer and the root.
    pub scratch: PathBuf,
    /// Where the shim writes PID 1's host PID.
    pub pid_file: PathBuf,
}

impl ContainerSpec {
    /// Reads a spec file.
    pub fn read(path: &Path) -> Result<ContainerSpec> {
        let text =
            fs::read(path).with_context(|| format!("cannot read container spec {path:?}"))?;
        serde_json::from_slice(&text).with_context(|| format!("bad container spec {path:?}"))
    }
}

/// The shim (`rk-testkit container <spec>`): namespaces, then PID 1, then wait. Returns
/// the exit code to exit with (128 + N when PID 1 was killed by signal N).
pub fn shim(spec_path: &Path) -> Result<i32> {
    let spec = ContainerSpec::read(spec_path)?;
    let netns = PathBuf::from("/run/netns").join(&spec.netns);
    let file = fs::File::open(&netns).with_context(|| format!("cannot open {netns:?}"))?;
    setns(&file, CloneFlags::CLONE_NEWNET).context("joining the pod's network namespace")?;
    unshare(
        CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWPID
            | CloneFlags::CLONE_NEWUTS
            | CloneFlags::CLONE_NEWIPC,
    )
    .context("unshare (needs root)")?;
    // Nothing mounted from here on may reach the host.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .context("making / private")?;
    sethostname(&spec.hostname).context("sethostname")?;
    let mut child = Command::new(std::env::current_exe()?)
        .arg("container-init")
        .arg(spec_path)
        .stdin(Stdio::null())
        .spawn()
        .context("starting the container's PID 1")?;
    fs::write(&spec.pid_file, child.id().to_string())?;
    let status = child.wait()?;
    use std::os::unix::process::ExitStatusExt;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

fn bind(source: &Path, target: &Path, read_only: bool) -> Result<()> {
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("bind-mounting {source:?} at {target:?}"))?;
    if read_only {
        mount(
            None::<&str>,
            target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .with_context(|| format!("making {target:?} read-only"))?;
    }
    Ok(())
}

/// Creates a mount point (directory, or empty file) at `path`.
fn mount_point(path: &Path, file: bool) -> Result<()> {
    if file {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        if !path.exists() {
            fs::write(path, "")?;
        }
    } else {
        fs::create_dir_all(path)?;
    }
    Ok(())
}

/// PID 1 (`rk-testkit container-init <spec>`): builds the root and execs the command.
/// Returns only on failure.
pub fn init(spec_path: &Path) -> Result<()> {
    let spec = ContainerSpec::read(spec_path)?;
    fs::create_dir_all(&spec.scratch)?;
    mount(
        Some("tmpfs"),
        &spec.scratch,
        Some("tmpfs"),
        MsFlags::empty(),
        Some("mode=0755"),
    )
    .context("mounting the scratch tmpfs")?;
    let layer = spec.scratch.join("layer");
    let root = spec.scratch.join("root");
    fs::create_dir_all(&root)?;
    let mut mounts = spec.mounts.clone();
    // Parents before children (a volume inside another mount).
    mounts.sort_by_key(|m| m.target.matches('/').count());
    for m in &mounts {
        let rel = m.target.trim_start_matches('/');
        if rel.is_empty() {
            bail!("cannot mount over / ({:?})", m.source);
        }
        mount_point(&layer.join(rel), m.file)?;
    }
    fs::create_dir_all(&layer)?;
    let mut options = format!("lowerdir={}:/", layer.display());
    if !spec.read_only_root {
        let (upper, work) = (spec.scratch.join("upper"), spec.scratch.join("work"));
        fs::create_dir_all(&upper)?;
        fs::create_dir_all(&work)?;
        options = format!(
            "{options},upperdir={},workdir={}",
            upper.display(),
            work.display()
        );
    }
    mount(
        Some("overlay"),
        &root,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
    .with_context(|| format!("mounting the root overlay ({options})"))?;
    mount(
        Some("proc"),
        &root.join("proc"),
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .context("mounting /proc")?;
    bind(Path::new("/dev"), &root.join("dev"), false)?;
    bind(Path::new("/sys"), &root.join("sys"), true)?;
    for m in &mounts {
        bind(
            &m.source,
            &root.join(m.target.trim_start_matches('/')),
            m.read_only,
        )?;
    }
    chroot(&root).context("chroot")?;
    chdir(spec.working_dir.as_str())
        .with_context(|| format!("workingDir {} does not exist", spec.working_dir))?;
    if spec.no_new_privs {
        nix::sys::prctl::set_no_new_privs().context("no_new_privs")?;
    }
    let groups: Vec<Gid> = spec.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    setgroups(&groups).context("setgroups")?;
    setgid(Gid::from_raw(spec.gid)).context("setgid")?;
    setuid(Uid::from_raw(spec.uid)).context("setuid")?;
    let Some((program, args)) = spec.argv.split_first() else {
        bail!("the container has no command");
    };
    let err = Command::new(program)
        .args(args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .exec();
    bail!("cannot exec {program:?}: {err}")
}

/// A command that runs `argv` inside the running container whose PID 1 has host PID
/// `pid`: its namespaces, root and working directory, as `uid`/`gid`, with `env`, the way
/// the kubelet runs exec probes and `preStop` hooks.
pub fn exec_command(
    pid: i32,
    uid: u32,
    gid: u32,
    env: &[(String, String)],
    argv: &[String],
) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.args(["--target", &pid.to_string()])
        .args([
            "--net", "--mount", "--uts", "--ipc", "--pid", "--root", "--wd",
        ])
        .args(["--setuid", &uid.to_string(), "--setgid", &gid.to_string()])
        .arg("--")
        .args(argv)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}
