//! The kubelet's part of the pod runner: runs one Pod object from the API server the way
//! a kubelet and container runtime do, and reports back through the Pod's status.
//!
//! * a network namespace with the pod IP ([`super::network`]); the pod's DNS name is
//!   published once it has an IP when the governing Service has
//!   `publishNotReadyAddresses: true` (else once Ready), and withdrawn when it goes;
//! * volumes: a directory per PVC that outlives the pod, emptyDirs per pod, Secrets and
//!   ConfigMaps written out, the service-account token from TokenRequest at the standard
//!   path (unless `automountServiceAccountToken: false`);
//! * the container's `command`, `args`, `envFrom`, `env` (Downward API filled in), securityContext
//!   (user, group, fsGroup, read-only root, no_new_privs), as [`crate::container`] runs it;
//! * startup, liveness and readiness exec probes at their periods and thresholds; the
//!   Pod's Ready condition follows readiness;
//! * a container that exits is restarted with the kubelet's back-off: the first time at
//!   once, then after 10 s doubling to 5 min (reset after 10 min of running), shown as
//!   CrashLoopBackOff meanwhile (the kubelet's `doBackOff`: a container with no back-off
//!   entry yet is not in back-off; the entry starts at 10 s);
//! * deletion: `preStop`, then SIGTERM, then SIGKILL when the grace period ends, then the
//!   Pod object goes (grace period 0, as the kubelet confirms a deletion).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvVar, Pod, Probe, Secret, Service, ServiceAccount,
};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use tokio::sync::mpsc;

use super::{Shared, network::GATEWAY, quantity};
use crate::container::{self, ContainerSpec, Mount};

/// Where the service-account token, CA and namespace go in every container.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
const BACKOFF_START: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
const BACKOFF_RESET: Duration = Duration::from_secs(600);

/// What ends a container's run.
enum Ended {
    /// It exited by itself (code as a shell reports it).
    Exited(i32),
    /// The Pod is being deleted.
    Deleting,
    /// A liveness or startup probe failed its threshold.
    Unhealthy(String),
}

/// A running container.
struct Running {
    child: tokio::process::Child,
    pid: i32,
    uid: u32,
    gid: u32,
    env: Vec<(String, String)>,
}

/// Runs `pod` until it is deleted; errors are logged into the pod's directory.
pub async fn run(shared: Arc<Shared>, pod: Pod) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    if let Err(e) = run_pod(shared.clone(), pod).await {
        shared.log(&format!("pod {name}: runner failed: {e:#}"));
    }
}

struct PodCtx {
    shared: Arc<Shared>,
    pods: Api<Pod>,
    name: String,
    namespace: String,
    uid: String,
    dir: PathBuf,
    ip: String,
    fqdn: Option<String>,
    publish_not_ready: bool,
}

impl PodCtx {
    fn log(&self, text: &str) {
        self.shared.log(&format!("pod {}: {text}", self.name));
    }

    async fn patch_status(&self, status: serde_json::Value) -> Result<()> {
        self.pods
            .patch_status(
                &self.name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .with_context(|| format!("patching the status of pod {}", self.name))?;
        Ok(())
    }

    async fn set_ready(&self, ready: bool) -> Result<()> {
        let value = if ready { "True" } else { "False" };
        if let Some(fqdn) = &self.fqdn
            && !self.publish_not_ready
        {
            self.shared
                .publish(fqdn, ready.then_some(self.ip.as_str()))?;
        }
        self.patch_status(json!({
            "conditions": conditions(value),
        }))
        .await?;
        self.patch_container(json!({ "ready": ready })).await
    }

    async fn patch_container(&self, fields: serde_json::Value) -> Result<()> {
        // The status has one container; merge its fields into what is there.
        let pod = self.pods.get(&self.name).await?;
        let mut status = pod
            .status
            .and_then(|s| s.container_statuses)
            .and_then(|mut c| c.pop())
            .map(|c| serde_json::to_value(c).unwrap_or(json!({})))
            .unwrap_or(json!({}));
        if let (Some(target), Some(fields)) = (status.as_object_mut(), fields.as_object()) {
            for (k, v) in fields {
                target.insert(k.clone(), v.clone());
            }
        }
        self.patch_status(json!({ "containerStatuses": [status] }))
            .await
    }
}

fn conditions(ready: &str) -> serde_json::Value {
    let now = now_rfc3339();
    json!([
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
        {"type": "Initialized", "status": "True", "lastTransitionTime": now},
        {"type": "ContainersReady", "status": ready, "lastTransitionTime": now},
        {"type": "Ready", "status": ready, "lastTransitionTime": now},
    ])
}

/// RFC 3339 UTC time, second precision, as the API wants in status fields.
pub fn now_rfc3339() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output();
    out.ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

async fn run_pod(shared: Arc<Shared>, pod: Pod) -> Result<()> {
    let name = pod.metadata.name.clone().context("pod without a name")?;
    let namespace = pod.metadata.namespace.clone().unwrap_or("default".into());
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let spec = pod.spec.clone().context("pod without a spec")?;
    let container = spec
        .containers
        .first()
        .cloned()
        .context("pod without a container")?;
    let dir = shared
        .dir
        .join("pods")
        .join(format!("{name}-{}", &uid[..8.min(uid.len())]));
    fs::create_dir_all(&dir)?;
    let pods: Api<Pod> = Api::namespaced(shared.client.clone(), &namespace);

    // The pod's DNS name, as the headless Service named by `subdomain` gives it.
    let mut publish_not_ready = true;
    let fqdn = match (&spec.hostname, &spec.subdomain) {
        (Some(host), Some(sub)) => {
            let services: Api<Service> = Api::namespaced(shared.client.clone(), &namespace);
            if let Some(svc) = services.get_opt(sub).await? {
                publish_not_ready = svc
                    .spec
                    .and_then(|s| s.publish_not_ready_addresses)
                    .unwrap_or(false);
            }
            Some(format!("{host}.{sub}.{namespace}.svc.{}", shared.domain))
        }
        _ => None,
    };

    let resolv = crate::netns::pod_resolv_conf(&namespace, &shared.domain, &GATEWAY.to_string());
    let id = format!("p{}", shared.next_id());
    let net = {
        let shared = shared.clone();
        let resolv = resolv.clone();
        tokio::task::spawn_blocking(move || {
            shared.network.lock().expect("lock").attach(&id, &resolv)
        })
        .await??
    };
    let ip = net.ip.to_string();
    let ctx = PodCtx {
        shared: shared.clone(),
        pods: pods.clone(),
        name: name.clone(),
        namespace: namespace.clone(),
        uid: uid.clone(),
        dir: dir.clone(),
        ip: ip.clone(),
        fqdn: fqdn.clone(),
        publish_not_ready,
    };
    ctx.log(&format!("scheduled; pod IP {ip}, netns {}", net.netns.name));
    ctx.patch_status(json!({
        "phase": "Running",
        "hostIP": GATEWAY.to_string(),
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": now_rfc3339(),
        "conditions": conditions("False"),
        "containerStatuses": [{
            "name": container.name,
            "image": container.image.clone().unwrap_or_default(),
            "imageID": "",
            "ready": false,
            "restartCount": 0,
            "started": false,
            "state": {"waiting": {"reason": "ContainerCreating"}},
        }],
    }))
    .await?;
    if let Some(fqdn) = &fqdn
        && publish_not_ready
    {
        shared.publish(fqdn, Some(&ip))?;
    }

    let mut mounts = super::image::mounts(&shared.ringkeeper, &shared.cassandra)?;
    let security = Security::of(&pod, &container)?;
    mounts.extend(volumes(&ctx, &pod, &container, &security).await?);
    // The files the kubelet manages in every container.
    let etc = dir.join("etc");
    fs::create_dir_all(&etc)?;
    fs::write(etc.join("resolv.conf"), &resolv)?;
    let host_line = match &fqdn {
        Some(f) => format!("{ip}\t{f}\t{name}\n"),
        None => format!("{ip}\t{name}\n"),
    };
    fs::write(
        etc.join("hosts"),
        format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{host_line}"),
    )?;
    fs::write(etc.join("hostname"), format!("{name}\n"))?;
    for file in ["resolv.conf", "hosts", "hostname"] {
        mounts.push(Mount {
            source: etc.join(file),
            target: format!("/etc/{file}"),
            read_only: false,
            file: true,
        });
    }
    let (env, defined) = environment(&ctx, &pod, &container, &shared).await?;

    let mut restarts: i32 = 0;
    // No back-off before the first restart (see the module's comment).
    let mut backoff = Duration::ZERO;
    let outcome: Result<()> = async {
        loop {
            let started = Instant::now();
            let spec_file = dir.join(format!("container-{restarts}.json"));
            let cspec = ContainerSpec {
                netns: net.netns.name.clone(),
                hostname: name.clone(),
                argv: container
                    .command
                    .iter()
                    .flatten()
                    .chain(container.args.iter().flatten())
                    .map(|a| expand(a, &defined))
                    .collect(),
                env: env.clone(),
                working_dir: container.working_dir.clone().unwrap_or("/".into()),
                uid: security.uid,
                gid: security.gid,
                groups: security.fs_group.into_iter().collect(),
                read_only_root: security.read_only_root,
                no_new_privs: security.no_new_privs,
                mounts: mounts.clone(),
                scratch: dir.join(format!("scratch-{restarts}")),
                pid_file: dir.join(format!("container-{restarts}.pid")),
            };
            if cspec.argv.is_empty() {
                bail!("container {} has no command (the runner does not read image entrypoints)", container.name);
            }
            fs::write(&spec_file, serde_json::to_vec_pretty(&cspec)?)?;
            let log = fs::File::create(dir.join(format!("container-{restarts}.log")))?;
            let mut child = tokio::process::Command::new(&shared.testkit)
                .arg("container")
                .arg(&spec_file)
                .stdin(std::process::Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .context("starting the container shim")?;
            let pid = match wait_pid(&cspec.pid_file).await {
                Ok(pid) => pid,
                Err(e) => {
                    let _ = child.kill().await;
                    return Err(e);
                }
            };
            ctx.log(&format!("container started (restart {restarts}), PID 1 is host PID {pid}"));
            let mut running = Running {
                child,
                pid,
                uid: security.uid,
                gid: security.gid,
                env: env.clone(),
            };
            // A container never outlives the runner's bookkeeping: on any error here it is
            // killed before the error goes up (and before the Pod object may go), so two
            // Cassandras never share a PVC.
            let ended = match async {
                ctx.patch_container(json!({
                    "restartCount": restarts,
                    "started": true,
                    "state": {"running": {"startedAt": now_rfc3339()}},
                }))
                .await?;
                supervise(&ctx, &container, &mut running).await
            }
            .await
            {
                Ok(ended) => ended,
                Err(e) => {
                    ctx.log(&format!("{e:#}: killing the container"));
                    let _ = kill(Pid::from_raw(running.pid), Signal::SIGKILL);
                    let _ = running.child.wait().await;
                    return Err(e);
                }
            };
            let code = match ended {
                Ended::Deleting => {
                    let grace = ctx.deletion_grace().await;
                    terminate(&ctx, &container, &mut running, grace).await?;
                    return Ok(());
                }
                Ended::Unhealthy(why) => {
                    ctx.log(&format!("{why}: killing the container"));
                    let grace = Duration::from_secs(
                        u64::try_from(spec.termination_grace_period_seconds.unwrap_or(30))
                            .unwrap_or(30),
                    );
                    terminate(&ctx, &container, &mut running, grace).await?
                }
                Ended::Exited(code) => {
                    ctx.log(&format!("container exited with {code}"));
                    code
                }
            };
            if started.elapsed() > BACKOFF_RESET {
                backoff = Duration::ZERO;
            }
            restarts += 1;
            ctx.set_ready(false).await?;
            // Shown as CrashLoopBackOff only while a back-off runs (not before the first
            // restart, which follows at once).
            let waiting = if backoff.is_zero() {
                json!({"reason": "ContainerCreating"})
            } else {
                json!({"reason": "CrashLoopBackOff",
                    "message": format!("back-off {}s restarting failed container", backoff.as_secs())})
            };
            ctx.patch_container(json!({
                "restartCount": restarts,
                "state": {"waiting": waiting},
                "lastState": {"terminated": {"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" },
                    "finishedAt": now_rfc3339()}},
            }))
            .await?;
            // Back-off, unless the pod is deleted meanwhile.
            let until = Instant::now() + backoff;
            while Instant::now() < until {
                if ctx.deleting().await {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            backoff = (backoff * 2).clamp(BACKOFF_START, BACKOFF_MAX);
        }
    }
    .await;
    if let Err(e) = &outcome {
        ctx.log(&format!("{e:#}"));
        let _ = ctx
            .patch_container(json!({"state": {"waiting": {"reason": "CreateContainerError", "message": format!("{e:#}")}}}))
            .await;
        // Wait for the deletion, as a kubelet keeps reporting the error.
        while !ctx.deleting().await {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    if let Some(fqdn) = &fqdn {
        shared.publish(fqdn, None)?;
    }
    drop(net);
    let _ = pods
        .delete(&name, &DeleteParams::default().grace_period(0))
        .await;
    ctx.log("deleted");
    outcome
}

impl PodCtx {
    /// True when this pod object is being deleted or gone (or replaced by another uid).
    /// An API error is no answer: the pod keeps running and the next poll asks again.
    async fn deleting(&self) -> bool {
        match self.pods.get_opt(&self.name).await {
            Ok(None) => true,
            Ok(Some(p)) => {
                p.metadata.deletion_timestamp.is_some()
                    || p.metadata.uid.as_deref() != Some(self.uid.as_str())
            }
            Err(e) => {
                self.log(&format!("cannot read the pod ({e}); asking again"));
                false
            }
        }
    }

    /// The grace period the deletion asked for (the pod's own by default).
    async fn deletion_grace(&self) -> Duration {
        let secs = match self.pods.get_opt(&self.name).await {
            Ok(Some(p)) => p
                .metadata
                .deletion_grace_period_seconds
                .or(p.spec.and_then(|s| s.termination_grace_period_seconds))
                .unwrap_or(30),
            _ => 30,
        };
        Duration::from_secs(u64::try_from(secs).unwrap_or(0))
    }
}

/// The pod's PID 1 host PID, once the shim wrote it.
async fn wait_pid(file: &Path) -> Result<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = fs::read_to_string(file)
            && let Ok(pid) = text.trim().parse()
        {
            return Ok(pid);
        }
        if Instant::now() > deadline {
            bail!("the container shim did not report PID 1 ({file:?})");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The security settings the container runs with.
struct Security {
    uid: u32,
    gid: u32,
    fs_group: Option<u32>,
    read_only_root: bool,
    no_new_privs: bool,
}

impl Security {
    fn of(pod: &Pod, container: &Container) -> Result<Security> {
        let pod_sc = pod
            .spec
            .as_ref()
            .and_then(|s| s.security_context.clone())
            .unwrap_or_default();
        let sc = container.security_context.clone().unwrap_or_default();
        let uid = sc
            .run_as_user
            .or(pod_sc.run_as_user)
            .map(u32::try_from)
            .transpose()?
            // The image's USER.
            .unwrap_or(super::image::CASSANDRA_UID);
        let gid = sc
            .run_as_group
            .or(pod_sc.run_as_group)
            .map(u32::try_from)
            .transpose()?
            .unwrap_or(super::image::CASSANDRA_UID);
        let non_root = sc
            .run_as_non_root
            .or(pod_sc.run_as_non_root)
            .unwrap_or(false);
        if non_root && uid == 0 {
            bail!("container has runAsNonRoot and image will run as root");
        }
        Ok(Security {
            uid,
            gid,
            fs_group: pod_sc.fs_group.map(u32::try_from).transpose()?,
            read_only_root: sc.read_only_root_filesystem.unwrap_or(false),
            no_new_privs: sc.allow_privilege_escalation == Some(false),
        })
    }
}

/// Gives a volume directory to the fsGroup, as the kubelet does on mount.
fn own(dir: &Path, security: &Security) -> Result<()> {
    let Some(group) = security.fs_group else {
        return Ok(());
    };
    for entry in walk(dir)? {
        chown(&entry, None, Some(group))?;
        let meta = fs::metadata(&entry)?;
        let mut mode = meta.permissions().mode();
        mode |= if meta.is_dir() { 0o2070 } else { 0o060 };
        fs::set_permissions(&entry, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = vec![dir.to_owned()];
    let mut i = 0;
    while i < out.len() {
        if out[i].is_dir() && !out[i].is_symlink() {
            for entry in fs::read_dir(&out[i])? {
                out.push(entry?.path());
            }
        }
        i += 1;
    }
    Ok(out)
}

/// Materialises the pod's volumes; returns the container's mounts of them.
async fn volumes(
    ctx: &PodCtx,
    pod: &Pod,
    container: &Container,
    security: &Security,
) -> Result<Vec<Mount>> {
    let shared = &ctx.shared;
    let spec = pod.spec.as_ref().context("no spec")?;
    let mut dirs: BTreeMap<String, PathBuf> = BTreeMap::new();
    for volume in spec.volumes.iter().flatten() {
        let dir = if let Some(pvc) = &volume.persistent_volume_claim {
            shared.pvc_dir(&ctx.namespace, &pvc.claim_name)
        } else if volume.empty_dir.is_some() {
            ctx.dir.join("volumes").join(&volume.name)
        } else if let Some(secret) = &volume.secret {
            let dir = ctx.dir.join("volumes").join(&volume.name);
            let name = secret.secret_name.clone().unwrap_or_default();
            let api: Api<Secret> = Api::namespaced(shared.client.clone(), &ctx.namespace);
            let s = api
                .get(&name)
                .await
                .with_context(|| format!("secret {name} of volume {}", volume.name))?;
            fs::create_dir_all(&dir)?;
            for (key, value) in s.data.unwrap_or_default() {
                fs::write(dir.join(key), value.0)?;
            }
            for (key, value) in s.string_data.unwrap_or_default() {
                fs::write(dir.join(key), value)?;
            }
            dir
        } else if let Some(cm) = &volume.config_map {
            let dir = ctx.dir.join("volumes").join(&volume.name);
            let api: Api<ConfigMap> = Api::namespaced(shared.client.clone(), &ctx.namespace);
            let c = api
                .get(&cm.name)
                .await
                .with_context(|| format!("configMap {} of volume {}", cm.name, volume.name))?;
            fs::create_dir_all(&dir)?;
            for (key, value) in c.data.unwrap_or_default() {
                fs::write(dir.join(key), value)?;
            }
            dir
        } else {
            bail!(
                "volume {} has a kind the pod runner does not run",
                volume.name
            );
        };
        fs::create_dir_all(&dir)?;
        own(&dir, security)?;
        dirs.insert(volume.name.clone(), dir);
    }
    let mut mounts = Vec::new();
    for vm in container.volume_mounts.iter().flatten() {
        let dir = dirs
            .get(&vm.name)
            .with_context(|| format!("volumeMount {} names no volume", vm.name))?;
        let (source, file) = match &vm.sub_path {
            Some(sub) if !sub.is_empty() => {
                let path = dir.join(sub);
                (path.clone(), path.is_file())
            }
            _ => (dir.clone(), false),
        };
        mounts.push(Mount {
            source,
            target: vm.mount_path.clone(),
            read_only: vm.read_only.unwrap_or(false),
            file,
        });
    }
    // The service-account token, as the kubelet projects it.
    let sa_name = spec
        .service_account_name
        .clone()
        .unwrap_or("default".into());
    let sas: Api<ServiceAccount> = Api::namespaced(shared.client.clone(), &ctx.namespace);
    let sa_automount = sas
        .get_opt(&sa_name)
        .await?
        .and_then(|sa| sa.automount_service_account_token);
    let automount = spec
        .automount_service_account_token
        .or(sa_automount)
        .unwrap_or(true);
    if automount {
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: vec![],
                bound_object_ref: Some(BoundObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Pod".into()),
                    name: Some(ctx.name.clone()),
                    uid: Some(ctx.uid.clone()),
                }),
                expiration_seconds: Some(3607),
            },
            ..Default::default()
        };
        let token = sas
            .create_token_request(&sa_name, &PostParams::default(), &request)
            .await
            .with_context(|| format!("TokenRequest for serviceaccount {sa_name}"))?
            .status
            .context("TokenRequest without status")?
            .token;
        let dir = ctx.dir.join("volumes").join("kube-api-access");
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("token"), token)?;
        fs::copy(&shared.ca, dir.join("ca.crt"))?;
        fs::write(dir.join("namespace"), &ctx.namespace)?;
        for f in ["token", "ca.crt", "namespace"] {
            fs::set_permissions(dir.join(f), fs::Permissions::from_mode(0o644))?;
        }
        mounts.push(Mount {
            source: dir,
            target: SERVICE_ACCOUNT_DIR.into(),
            read_only: true,
            file: false,
        });
    }
    Ok(mounts)
}

/// The container's environment: the image's, the kubelet's service variables, then the
/// manifest's `env` with the Downward API filled in.
async fn environment(
    ctx: &PodCtx,
    pod: &Pod,
    container: &Container,
    shared: &Shared,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>)> {
    // What the kubelet defines: the service variables, then the manifest's `env` in order.
    // `$(NAME)` expands only against these (never the image's ENV), as in Kubernetes.
    // Through the gate a test can hold (`api_gate`), to the API server.
    let host = GATEWAY.to_string();
    let port = super::api_gate::GATE_PORT.to_string();
    let mut defined: Vec<(String, String)> = vec![
        ("KUBERNETES_SERVICE_HOST".into(), host.clone()),
        ("KUBERNETES_SERVICE_PORT".into(), port.clone()),
        ("KUBERNETES_SERVICE_PORT_HTTPS".into(), port.clone()),
        ("KUBERNETES_PORT".into(), format!("tcp://{host}:{port}")),
    ];
    // `envFrom` first (every key of a ConfigMap or Secret, with its prefix), so that `env`
    // overrides it, as in Kubernetes.
    for source in container.env_from.iter().flatten() {
        let prefix = source.prefix.clone().unwrap_or_default();
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(cm) = &source.config_map_ref {
            let api: Api<ConfigMap> = Api::namespaced(shared.client.clone(), &ctx.namespace);
            match api.get_opt(&cm.name).await? {
                Some(c) => pairs.extend(c.data.unwrap_or_default()),
                None if cm.optional == Some(true) => {}
                None => bail!("envFrom: configMap {} not found", cm.name),
            }
        }
        if let Some(sr) = &source.secret_ref {
            let api: Api<Secret> = Api::namespaced(shared.client.clone(), &ctx.namespace);
            match api.get_opt(&sr.name).await? {
                Some(s) => pairs.extend(
                    s.data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned())),
                ),
                None if sr.optional == Some(true) => {}
                None => bail!("envFrom: secret {} not found", sr.name),
            }
        }
        for (key, value) in pairs {
            let name = format!("{prefix}{key}");
            defined.retain(|(k, _)| k != &name);
            defined.push((name, value));
        }
    }
    for var in container.env.iter().flatten() {
        let value = value_of(ctx, pod, container, var, shared).await?;
        let value = if var.value.is_some() {
            expand(&value, &defined)
        } else {
            value
        };
        defined.retain(|(k, _)| k != &var.name);
        defined.push((var.name.clone(), value));
    }
    // The container's environment: the image's ENV, HOSTNAME, then what is defined.
    let mut env: Vec<(String, String)> = super::image::ENV
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.push(("HOSTNAME".into(), ctx.name.clone()));
    for (k, v) in &defined {
        env.retain(|(name, _)| name != k);
        env.push((k.clone(), v.clone()));
    }
    Ok((env, defined))
}

/// Kubernetes' `$(NAME)` expansion: a defined name is replaced by its value, `$$` is a
/// literal `$`, anything else is left as written.
pub fn expand(text: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
            && let Some((_, value)) = env.iter().rev().find(|(k, _)| k == &inner[..end])
        {
            out.push_str(value);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

async fn value_of(
    ctx: &PodCtx,
    pod: &Pod,
    container: &Container,
    var: &EnvVar,
    shared: &Shared,
) -> Result<String> {
    if let Some(v) = &var.value {
        return Ok(v.clone());
    }
    let Some(from) = &var.value_from else {
        return Ok(String::new());
    };
    if let Some(field) = &from.field_ref {
        let spec = pod.spec.as_ref();
        return Ok(match field.field_path.as_str() {
            "metadata.name" => ctx.name.clone(),
            "metadata.namespace" => ctx.namespace.clone(),
            "metadata.uid" => ctx.uid.clone(),
            "status.podIP" => ctx.ip.clone(),
            "status.hostIP" => GATEWAY.to_string(),
            "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
            "spec.serviceAccountName" => spec
                .and_then(|s| s.service_account_name.clone())
                .unwrap_or_default(),
            other => bail!(
                "env {}: fieldRef {other} is not run by the pod runner",
                var.name
            ),
        });
    }
    if let Some(res) = &from.resource_field_ref {
        let target = res
            .container_name
            .as_deref()
            .map(|n| {
                pod.spec
                    .iter()
                    .flat_map(|s| s.containers.iter())
                    .find(|c| c.name == n)
                    .cloned()
                    .with_context(|| format!("env {}: no container {n}", var.name))
            })
            .transpose()?
            .unwrap_or_else(|| container.clone());
        let resources = target.resources.unwrap_or_default();
        let (map, key) = match res.resource.split_once('.') {
            Some(("limits", key)) => (resources.limits, key),
            Some(("requests", key)) => (resources.requests, key),
            _ => bail!("env {}: resource {} is not valid", var.name, res.resource),
        };
        let quantity = map
            .unwrap_or_default()
            .get(key)
            .map(|q| q.0.clone())
            .with_context(|| {
                format!(
                    "env {}: {} is not set (the kubelet would give the node's allocatable)",
                    var.name, res.resource
                )
            })?;
        let divisor = res.divisor.as_ref().map(|d| d.0.clone());
        return Ok(quantity::divide(&quantity, divisor.as_deref())?.to_string());
    }
    if let Some(key) = &from.secret_key_ref {
        let api: Api<Secret> = Api::namespaced(shared.client.clone(), &ctx.namespace);
        let s = api.get(&key.name).await?;
        let data = s.data.unwrap_or_default();
        let value = data.get(&key.key).with_context(|| {
            format!(
                "env {}: secret {} has no key {}",
                var.name, key.name, key.key
            )
        })?;
        return Ok(String::from_utf8_lossy(&value.0).into_owned());
    }
    if let Some(key) = &from.config_map_key_ref {
        let api: Api<ConfigMap> = Api::namespaced(shared.client.clone(), &ctx.namespace);
        let c = api.get(&key.name).await?;
        return c
            .data
            .unwrap_or_default()
            .get(&key.key)
            .cloned()
            .with_context(|| {
                format!(
                    "env {}: configMap {} has no key {}",
                    var.name, key.name, key.key
                )
            });
    }
    bail!(
        "env {}: valueFrom of a kind the pod runner does not run",
        var.name
    )
}

/// One exec probe's settings, with the kubelet's defaults.
#[derive(Clone)]
struct ProbeSpec {
    kind: &'static str,
    argv: Vec<String>,
    initial_delay: Duration,
    period: Duration,
    timeout: Duration,
    success_threshold: i32,
    failure_threshold: i32,
}

impl ProbeSpec {
    fn of(kind: &'static str, probe: &Option<Probe>) -> Result<Option<ProbeSpec>> {
        let Some(p) = probe else { return Ok(None) };
        let Some(exec) = &p.exec else {
            bail!("{kind} probe: only exec probes are run by the pod runner");
        };
        let secs = |v: Option<i32>, default: i32| {
            Duration::from_secs(u64::try_from(v.unwrap_or(default)).unwrap_or(0))
        };
        Ok(Some(ProbeSpec {
            kind,
            argv: exec.command.clone().unwrap_or_default(),
            initial_delay: secs(p.initial_delay_seconds, 0),
            period: secs(p.period_seconds, 10),
            timeout: secs(p.timeout_seconds, 1),
            success_threshold: p.success_threshold.unwrap_or(1),
            failure_threshold: p.failure_threshold.unwrap_or(3),
        }))
    }
}

enum ProbeEvent {
    Started,
    Ready(bool),
    Failed(String),
}

/// Runs one exec probe in the container; true when it exits 0 within its timeout.
async fn probe_once(
    ctx: &PodCtx,
    running_pid: i32,
    uid: u32,
    gid: u32,
    env: &[(String, String)],
    p: &ProbeSpec,
) -> bool {
    let mut cmd: tokio::process::Command =
        container::exec_command(running_pid, uid, gid, env, &p.argv).into();
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let Ok(child) = cmd.spawn() else { return false };
    match tokio::time::timeout(p.timeout, child.wait_with_output()).await {
        Ok(Ok(out)) if out.status.success() => true,
        Ok(Ok(out)) => {
            ctx.shared
                .log_probe(&ctx.name, p.kind, &String::from_utf8_lossy(&out.stderr));
            false
        }
        _ => {
            ctx.shared.log_probe(&ctx.name, p.kind, "timed out");
            false
        }
    }
}

/// Runs the container's probes until it ends; returns why it ended.
async fn supervise(ctx: &PodCtx, container: &Container, running: &mut Running) -> Result<Ended> {
    let startup = ProbeSpec::of("startup", &container.startup_probe)?;
    let liveness = ProbeSpec::of("liveness", &container.liveness_probe)?;
    let readiness = ProbeSpec::of("readiness", &container.readiness_probe)?;
    let (tx, mut rx) = mpsc::channel(16);
    let ctx_ptr: &PodCtx = ctx;
    let (pid, uid, gid, env) = (running.pid, running.uid, running.gid, running.env.clone());
    // Probes run as one future driven here, so they stop when the container does.
    let probes = async {
        if let Some(p) = &startup {
            tokio::time::sleep(p.initial_delay).await;
            let mut failures = 0;
            loop {
                if probe_once(ctx_ptr, pid, uid, gid, &env, p).await {
                    break;
                }
                failures += 1;
                if failures >= p.failure_threshold {
                    let _ = tx
                        .send(ProbeEvent::Failed(format!(
                            "startup probe failed {failures} times"
                        )))
                        .await;
                    return;
                }
                tokio::time::sleep(p.period).await;
            }
        }
        let _ = tx.send(ProbeEvent::Started).await;
        let live = async {
            let Some(p) = &liveness else {
                return std::future::pending::<()>().await;
            };
            tokio::time::sleep(p.initial_delay).await;
            let mut failures = 0;
            loop {
                if probe_once(ctx_ptr, pid, uid, gid, &env, p).await {
                    failures = 0;
                } else {
                    failures += 1;
                    if failures >= p.failure_threshold {
                        let _ = tx
                            .send(ProbeEvent::Failed(format!(
                                "liveness probe failed {failures} times"
                            )))
                            .await;
                        return;
                    }
                }
                tokio::time::sleep(p.period).await;
            }
        };
        let ready = async {
            let Some(p) = &readiness else {
                let _ = tx.send(ProbeEvent::Ready(true)).await;
                return std::future::pending::<()>().await;
            };
            tokio::time::sleep(p.initial_delay).await;
            let (mut successes, mut failures, mut state) = (0, 0, false);
            loop {
                if probe_once(ctx_ptr, pid, uid, gid, &env, p).await {
                    successes += 1;
                    failures = 0;
                    if !state && successes >= p.success_threshold {
                        state = true;
                        let _ = tx.send(ProbeEvent::Ready(true)).await;
                    }
                } else {
                    failures += 1;
                    successes = 0;
                    if state && failures >= p.failure_threshold {
                        state = false;
                        let _ = tx.send(ProbeEvent::Ready(false)).await;
                    }
                }
                tokio::time::sleep(p.period).await;
            }
        };
        tokio::join!(live, ready);
    };
    tokio::pin!(probes);
    let mut probes_done = false;
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            status = running.child.wait() => {
                let status = status?;
                use std::os::unix::process::ExitStatusExt;
                let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
                return Ok(Ended::Exited(code));
            }
            () = &mut probes, if !probes_done => {
                // All probes done (only after a failure was sent); the event follows.
                probes_done = true;
            }
            Some(event) = rx.recv() => match event {
                ProbeEvent::Started => ctx.log("started (startup probe passed)"),
                ProbeEvent::Ready(r) => {
                    ctx.log(if r { "Ready" } else { "not Ready" });
                    ctx.set_ready(r).await?;
                }
                ProbeEvent::Failed(why) => return Ok(Ended::Unhealthy(why)),
            },
            _ = poll.tick() => {
                if ctx.deleting().await {
                    return Ok(Ended::Deleting);
                }
            }
        }
    }
}

/// preStop, SIGTERM, SIGKILL at the end of `grace`; returns the exit code.
async fn terminate(
    ctx: &PodCtx,
    container: &Container,
    running: &mut Running,
    grace: Duration,
) -> Result<i32> {
    let start = Instant::now();
    let deadline = start + grace;
    ctx.log(&format!("terminating with a grace period of {grace:?}"));
    let _ = ctx.set_ready(false).await;
    let prestop = container
        .lifecycle
        .as_ref()
        .and_then(|l| l.pre_stop.as_ref())
        .and_then(|h| h.exec.as_ref())
        .and_then(|e| e.command.clone());
    if let Some(argv) = prestop {
        let log = fs::File::create(ctx.dir.join(format!("prestop-{}.log", running.pid)))?;
        let mut cmd: tokio::process::Command =
            container::exec_command(running.pid, running.uid, running.gid, &running.env, &argv)
                .into();
        cmd.stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        match cmd.spawn() {
            Ok(mut child) => {
                let result = tokio::time::timeout(grace, child.wait()).await;
                ctx.log(&format!(
                    "preStop {argv:?} ended after {:?}: {}",
                    start.elapsed(),
                    match &result {
                        Ok(Ok(s)) => s.to_string(),
                        Ok(Err(e)) => e.to_string(),
                        Err(_) => "cut off at the grace period".into(),
                    }
                ));
                ctx.shared.record_prestop(
                    &ctx.name,
                    start.elapsed(),
                    result.ok().and_then(Result::ok).and_then(|s| s.code()),
                );
            }
            Err(e) => ctx.log(&format!("preStop {argv:?} could not start: {e}")),
        }
    }
    let _ = kill(Pid::from_raw(running.pid), Signal::SIGTERM);
    // As the kubelet: at least 2 s after SIGTERM even when preStop used the whole grace.
    let kill_at = deadline.max(Instant::now() + Duration::from_secs(2));
    let status = match tokio::time::timeout_at(kill_at.into(), running.child.wait()).await {
        Ok(status) => status?,
        Err(_) => {
            ctx.log("grace period over: SIGKILL");
            ctx.shared.record_sigkill(&ctx.name);
            let _ = kill(Pid::from_raw(running.pid), Signal::SIGKILL);
            running.child.wait().await?
        }
    };
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    ctx.log(&format!(
        "container exited with {code} after {:?}",
        start.elapsed()
    ));
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn dependent_variables() {
        let env = vec![("NS".to_string(), "db".to_string())];
        for (text, want) in [
            ("cassandra.$(NS).svc", "cassandra.db.svc"),
            ("$(UNDEFINED)", "$(UNDEFINED)"),
            ("$$(NS)", "$(NS)"),
            ("a$b", "a$b"),
            ("$(NS", "$(NS"),
        ] {
            assert_eq!(expand(text, &env), want, "{text}");
        }
    }
}
