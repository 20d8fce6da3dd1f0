//! How commands reach nodes over CQL: port, timeouts, credential and TLS file paths.

use super::*;

/// How to authenticate to nodes and verify them, from the command line: credential and
/// TLS file paths (read by `edge::cql::load_settings`), and the name node certificates must carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CqlAccess {
    /// Username file.
    pub username: Option<PathBuf>,
    /// Password file.
    pub password: Option<PathBuf>,
    /// CA certificate(s), PEM.
    pub ca: Option<PathBuf>,
    /// Client certificate chain, PEM.
    pub cert: Option<PathBuf>,
    /// Client private key, PEM.
    pub key: Option<PathBuf>,
    /// The name to verify in every node's certificate instead of the node's IP address.
    pub tls_server_name: Option<rustls::pki_types::ServerName<'static>>,
}

impl CqlConfig {
    /// The flags that reproduce this configuration.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--cql-port".into(), self.port.to_string().into()];
        let a = &self.access;
        for (flag, path) in [
            ("--cql-username-file", &a.username),
            ("--cql-password-file", &a.password),
            ("--cql-ca-file", &a.ca),
            ("--cql-cert-file", &a.cert),
            ("--cql-key-file", &a.key),
        ] {
            if let Some(path) = path {
                args.extend([flag.into(), path.clone().into()]);
            }
        }
        if let Some(name) = &a.tls_server_name {
            let text = match name {
                rustls::pki_types::ServerName::DnsName(d) => d.as_ref().to_owned(),
                rustls::pki_types::ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
                other => format!("{other:?}"),
            };
            args.extend(["--cql-tls-server-name".into(), text.into()]);
        }
        args
    }
}

/// How to reach CQL, validated (files are read later, by the CQL edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CqlConfig {
    /// Native transport port.
    pub port: u16,
    /// Credential and TLS files, and the TLS server name.
    pub access: CqlAccess,
}

impl CqlConfig {
    /// Validates the CQL flags.
    pub fn from_args(args: CqlArgs) -> Result<Self, ConfigError> {
        let CqlArgs {
            cql_port,
            cql_username_file,
            cql_password_file,
            cql_ca_file,
            cql_cert_file,
            cql_key_file,
            cql_tls_server_name,
        } = args;
        let port = parse_count(&cql_port, 1, 65535).ok_or_else(|| {
            invalid(
                "--cql-port",
                env::CQL_PORT,
                &cql_port,
                "expected a port number from 1 to 65535",
            )
        })?;
        if cql_username_file.is_some() != cql_password_file.is_some() {
            return Err(ConfigError(format!(
                "--cql-username-file (env {}) and --cql-password-file (env {}) go together: give both or neither",
                env::CQL_USERNAME_FILE,
                env::CQL_PASSWORD_FILE
            )));
        }
        if cql_cert_file.is_some() != cql_key_file.is_some() {
            return Err(ConfigError(format!(
                "--cql-cert-file (env {}) and --cql-key-file (env {}) go together: give both or neither",
                env::CQL_CERT_FILE,
                env::CQL_KEY_FILE
            )));
        }
        let tls_server_name = match cql_tls_server_name {
            None => None,
            Some(text) => {
                let trimmed = text.trim().trim_end_matches('.').to_owned();
                let Ok(name) = rustls::pki_types::ServerName::try_from(trimmed) else {
                    return Err(invalid(
                        "--cql-tls-server-name",
                        env::CQL_TLS_SERVER_NAME,
                        &text,
                        "expected a DNS name (e.g. cassandra.default.svc.cluster.local) or an IP address",
                    ));
                };
                if cql_ca_file.is_none() {
                    return Err(ConfigError(format!(
                        "--cql-tls-server-name needs --cql-ca-file (env {}): it names what node certificates are verified against",
                        env::CQL_CA_FILE
                    )));
                }
                Some(name)
            }
        };
        if cql_cert_file.is_some() && cql_ca_file.is_none() {
            return Err(ConfigError(format!(
                "--cql-cert-file needs --cql-ca-file (env {}): client certificates are only sent over TLS",
                env::CQL_CA_FILE
            )));
        }
        Ok(CqlConfig {
            port: port as u16,
            access: CqlAccess {
                username: cql_username_file,
                password: cql_password_file,
                ca: cql_ca_file,
                cert: cql_cert_file,
                key: cql_key_file,
                tls_server_name,
            },
        })
    }
}
