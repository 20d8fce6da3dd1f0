//! A real Kubernetes control plane for tests: etcd and kube-apiserver built from the Go
//! module proxy by `tests/kube/build` (cached by version), started in the cluster's node
//! network namespace with RBAC on, a static admin token, service-account token signing
//! (TokenRequest) and Pod Security admission. No controllers, scheduler or kubelet: the
//! pod runner plays those.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::netns::Netns;
use crate::pki;
use crate::ring::repo_root;

/// The port kube-apiserver serves on.
pub const API_PORT: u16 = 6443;

/// etcd + kube-apiserver, killed (by their recorded PIDs) on drop.
pub struct ControlPlane {
    /// State: certificates, etcd data, logs, kubeconfig.
    pub dir: PathBuf,
    /// Directory holding `kube-apiserver`, `etcd` and `kubectl`.
    pub bin: PathBuf,
    /// Where the API server is reached from pods and from the node namespace.
    pub address: IpAddr,
    /// The cluster CA (PEM): what pods get as `ca.crt`.
    pub ca: PathBuf,
    /// The admin's kubeconfig (token of a `system:masters` member).
    pub kubeconfig: PathBuf,
    /// How long etcd and kube-apiserver took from start to `/readyz` (certificates
    /// included).
    pub started_in: Duration,
    netns: String,
    processes: Vec<Child>,
}

/// Builds (or finds in the cache) the control plane's binaries; returns their directory.
pub fn binaries() -> Result<PathBuf> {
    let out = Command::new(repo_root().join("tests/kube/build"))
        .stderr(Stdio::inherit())
        .output()
        .context("running tests/kube/build")?;
    if !out.status.success() {
        bail!("tests/kube/build failed");
    }
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

/// Writes a kubeconfig that reaches `server` with `token`, trusting `ca`.
pub fn write_kubeconfig(
    path: &Path,
    server: &str,
    ca: &Path,
    token: &str,
    namespace: &str,
) -> Result<()> {
    fs::write(
        path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: user\n  user:\n    token: {token}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: user\n    namespace: {namespace}\ncurrent-context: test\n",
            ca = ca.display()
        ),
    )?;
    Ok(())
}

impl ControlPlane {
    /// Starts etcd and kube-apiserver inside `netns`, serving on `address:6443`, and
    /// waits until `/readyz` answers (and `kube-system` exists).
    pub fn start(dir: &Path, netns: &Netns, address: IpAddr) -> Result<ControlPlane> {
        let bin = binaries()?;
        let start = Instant::now();
        fs::create_dir_all(dir)?;
        let pki_dir = dir.join("pki");
        let san = [
            format!("IP:{address}"),
            "IP:127.0.0.1".into(),
            "DNS:localhost".into(),
            "DNS:kubernetes.default.svc".into(),
            "DNS:kubernetes.default.svc.cluster.local".into(),
        ];
        let pki = pki::make(
            &pki_dir,
            &san.iter().map(String::as_str).collect::<Vec<_>>(),
        )?;
        let sa_key = pki_dir.join("sa.key");
        run_ok(
            Command::new("openssl")
                .args([
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                    "-out",
                ])
                .arg(&sa_key),
        )?;
        let sa_pub = pki_dir.join("sa.pub");
        run_ok(
            Command::new("openssl")
                .args(["pkey", "-pubout", "-in"])
                .arg(&sa_key)
                .arg("-out")
                .arg(&sa_pub),
        )?;
        let admin_token = random_token()?;
        fs::write(
            dir.join("tokens.csv"),
            format!("{admin_token},admin,admin,\"system:masters\"\n"),
        )?;
        // Every request a service account makes is recorded: tests compare what the agent
        // asked for with what its Role grants.
        let audit_policy = dir.join("audit-policy.yaml");
        fs::write(
            &audit_policy,
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n  userGroups: [\"system:serviceaccounts\"]\n- level: None\n",
        )?;
        let kubeconfig = dir.join("admin.kubeconfig");
        let server = format!("https://{address}:{API_PORT}");
        write_kubeconfig(&kubeconfig, &server, &pki.ca, &admin_token, "default")?;

        let mut plane = ControlPlane {
            dir: dir.to_owned(),
            bin: bin.clone(),
            address,
            ca: pki.ca.clone(),
            kubeconfig,
            started_in: Duration::ZERO,
            netns: netns.name.clone(),
            processes: Vec::new(),
        };
        let etcd_log = fs::File::create(dir.join("etcd.log"))?;
        let etcd = netns
            .command(bin.join("etcd"))
            .arg("--data-dir")
            .arg(dir.join("etcd"))
            .args([
                "--listen-client-urls=http://127.0.0.1:2379",
                "--advertise-client-urls=http://127.0.0.1:2379",
                "--listen-peer-urls=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                "--initial-cluster=default=http://127.0.0.1:2380",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ])
            .stdin(Stdio::null())
            .stdout(etcd_log.try_clone()?)
            .stderr(etcd_log)
            .spawn()
            .context("starting etcd")?;
        fs::write(dir.join("etcd.pid"), etcd.id().to_string())?;
        plane.processes.push(etcd);
        let api_log = fs::File::create(dir.join("kube-apiserver.log"))?;
        let node_crt = pki_dir.join("node.crt");
        let node_key = pki_dir.join("node.key");
        let apiserver = netns
            .command(bin.join("kube-apiserver"))
            .args([
                "--etcd-servers=http://127.0.0.1:2379",
                "--bind-address=0.0.0.0",
                &format!("--advertise-address={address}"),
                &format!("--secure-port={API_PORT}"),
            ])
            .arg(format!("--tls-cert-file={}", node_crt.display()))
            .arg(format!("--tls-private-key-file={}", node_key.display()))
            .arg(format!("--client-ca-file={}", pki.ca.display()))
            .arg(format!(
                "--token-auth-file={}",
                dir.join("tokens.csv").display()
            ))
            .arg(format!("--audit-policy-file={}", audit_policy.display()))
            .arg(format!(
                "--audit-log-path={}",
                dir.join("audit.log").display()
            ))
            .args([
                "--authorization-mode=RBAC",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--endpoint-reconciler-type=none",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            ])
            .arg(format!("--service-account-key-file={}", sa_pub.display()))
            .arg(format!(
                "--service-account-signing-key-file={}",
                sa_key.display()
            ))
            // No controller-manager creates `default` ServiceAccounts; the pod runner
            // mounts tokens itself (TokenRequest), as the kubelet does.
            .args([
                "--disable-admission-plugins=ServiceAccount",
                "--allow-privileged=false",
            ])
            .stdin(Stdio::null())
            .stdout(api_log.try_clone()?)
            .stderr(api_log)
            .spawn()
            .context("starting kube-apiserver")?;
        fs::write(dir.join("kube-apiserver.pid"), apiserver.id().to_string())?;
        plane.processes.push(apiserver);
        plane.wait_ready(Duration::from_secs(60))?;
        plane.started_in = start.elapsed();
        // Older API servers log errors until kube-system exists; newer ones create it.
        if plane
            .kubectl_ok(&["get", "namespace", "kube-system"])
            .is_err()
        {
            plane.kubectl_ok(&["create", "namespace", "kube-system"])?;
        }
        Ok(plane)
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            for child in &mut self.processes {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "the control plane exited ({status}) before it was ready; logs in {}",
                        self.dir.display()
                    );
                }
            }
            let out = self.kubectl(&["get", "--raw", "/readyz"]).output()?;
            if out.status.success() {
                return Ok(());
            }
            if start.elapsed() > timeout {
                bail!(
                    "kube-apiserver not ready after {timeout:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The API server's URL.
    pub fn server(&self) -> String {
        format!("https://{}:{API_PORT}", self.address)
    }

    /// `kubectl` as the admin, run in the node namespace.
    pub fn kubectl(&self, args: &[&str]) -> Command {
        self.kubectl_with(&self.kubeconfig, args)
    }

    /// `kubectl` with another kubeconfig (another identity), in the node namespace.
    pub fn kubectl_with(&self, kubeconfig: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns])
            .arg(self.bin.join("kubectl"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs admin `kubectl`, failing with its stderr unless it succeeds; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> Result<String> {
        let out = self.kubectl(args).output()?;
        check(args, &out)
    }
}

/// One request as the API server's audit log recorded it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Request {
    /// Who asked (`system:serviceaccount:<ns>:<name>`).
    pub user: String,
    /// get, list, create, patch, ...
    pub verb: String,
    /// API group ("" for core).
    pub group: String,
    /// Resource, with `/subresource` when there is one.
    pub resource: String,
    /// Object name, if any.
    pub name: String,
    /// HTTP status of the answer.
    pub code: u16,
}

impl ControlPlane {
    /// Every request service accounts made so far, in order.
    pub fn audit(&self) -> Result<Vec<Request>> {
        let text = fs::read_to_string(self.dir.join("audit.log")).unwrap_or_default();
        let mut out = Vec::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line)?;
            if v["stage"] != "ResponseComplete" {
                continue;
            }
            let obj = &v["objectRef"];
            let s = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_owned();
            let mut resource = s(&obj["resource"]);
            if let Some(sub) = obj["subresource"].as_str() {
                resource = format!("{resource}/{sub}");
            }
            out.push(Request {
                user: s(&v["user"]["username"]),
                verb: s(&v["verb"]),
                group: s(&obj["apiGroup"]),
                resource,
                name: s(&obj["name"]),
                code: u16::try_from(v["responseStatus"]["code"].as_u64().unwrap_or(0))?,
            });
        }
        Ok(out)
    }
}

/// Fails with the command's stderr unless it succeeded; returns its stdout.
pub fn check(args: &[&str], out: &Output) -> Result<String> {
    if !out.status.success() {
        bail!(
            "kubectl {} failed ({}): {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run_ok(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

fn random_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    use std::io::Read;
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // kube-apiserver first, so it does not log etcd's absence at length.
        for child in self.processes.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
