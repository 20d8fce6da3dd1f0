//! Who this pod is: its StatefulSet name and ordinal, namespace, IP, Service, cluster
//! domain and data volume.

use super::*;

/// The cluster domain when nothing else says.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";

/// This pod, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// StatefulSet name and ordinal.
    pub pod: PodName,
    /// Namespace.
    pub namespace: String,
    /// Pod IP.
    pub pod_ip: IpAddr,
    /// Headless Service name.
    pub service: String,
    /// Cluster DNS domain.
    pub cluster_domain: String,
    /// The data volume.
    pub data_dir: PathBuf,
}

impl Identity {
    /// Validates the identity flags, filling defaults from `inputs`.
    pub fn from_args(args: IdentityArgs, inputs: &Inputs) -> Result<Self, ConfigError> {
        let IdentityArgs {
            pod_name,
            namespace,
            pod_ip,
            service,
            cluster_domain,
            data_dir,
        } = args;

        let pod_name = pod_name
            .or_else(|| inputs.hostname.clone())
            .ok_or_else(|| missing("--pod-name", env::POD_NAME, " (or HOSTNAME)"))?;
        let pod: PodName = pod_name
            .parse()
            .map_err(|e| invalid("--pod-name", env::POD_NAME, &pod_name, e))?;

        let namespace = match namespace {
            Some(ns) => ns,
            None => inputs
                .sa_namespace
                .as_deref()
                .map(|s| s.trim().to_owned())
                .ok_or_else(|| {
                    missing(
                        "--namespace",
                        env::POD_NAMESPACE,
                        &format!(
                            " (or mount the service-account file {})",
                            env::SERVICE_ACCOUNT_NAMESPACE_FILE
                        ),
                    )
                })?,
        };
        check_label(&namespace).map_err(|e| {
            invalid(
                "--namespace",
                env::POD_NAMESPACE,
                &namespace,
                format!("not a Kubernetes namespace name: {e}"),
            )
        })?;

        let pod_ip_text = pod_ip
            .ok_or_else(|| missing("--pod-ip", env::POD_IP, " (Downward API status.podIP)"))?;
        let pod_ip: IpAddr = pod_ip_text.trim().parse().map_err(|_| {
            invalid(
                "--pod-ip",
                env::POD_IP,
                &pod_ip_text,
                "expected an IPv4 or IPv6 address",
            )
        })?;
        if pod_ip.is_unspecified() || pod_ip.is_multicast() {
            return Err(invalid(
                "--pod-ip",
                env::POD_IP,
                &pod_ip_text,
                "expected the pod's own unicast address",
            ));
        }

        let service = service.unwrap_or_else(|| pod.set.clone());
        check_label(&service).map_err(|e| {
            invalid(
                "--service",
                env::SERVICE,
                &service,
                format!("not a Service name: {e}"),
            )
        })?;

        let cluster_domain = match cluster_domain {
            Some(domain) => {
                let trimmed = domain.trim_end_matches('.');
                check_domain(trimmed).map_err(|e| {
                    invalid(
                        "--cluster-domain",
                        env::CLUSTER_DOMAIN,
                        &domain,
                        format!("expected a DNS domain like cluster.local: {e}"),
                    )
                })?;
                trimmed.to_owned()
            }
            None => inputs
                .resolv_conf
                .as_deref()
                .and_then(|conf| names::cluster_domain_from_resolv_conf(conf, &namespace))
                .unwrap_or_else(|| DEFAULT_CLUSTER_DOMAIN.to_owned()),
        };

        let data_dir = absolute_data_dir(data_dir)?;

        Ok(Identity {
            pod,
            namespace,
            pod_ip,
            service,
            cluster_domain,
            data_dir,
        })
    }
}
