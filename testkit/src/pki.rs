//! A throwaway PKI for TLS tests, made with the openssl command line: a CA, one node
//! certificate shared by every node (Cassandra's PEM keystore: key then certificate), as
//! one Secret mounted into every pod would be, and a client certificate.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The files made.
pub struct Pki {
    /// CA certificate (PEM): Cassandra's truststore and the client's `--cql-ca-file`.
    pub ca: PathBuf,
    /// Node key and certificate in one PEM file: Cassandra's PEM keystore.
    pub node_keystore: PathBuf,
    /// Client certificate (PEM).
    pub client_cert: PathBuf,
    /// Client key (PEM, PKCS#8).
    pub client_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .context("running openssl")?;
    if !out.status.success() {
        bail!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Makes the PKI in `dir`; the node certificate's subjectAltName entries are `san`, in
/// openssl's syntax (`DNS:name`, `IP:address`).
pub fn make(dir: &Path, san: &[&str]) -> Result<Pki> {
    std::fs::create_dir_all(dir)?;
    let days = "30";
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            days,
            "-subj",
            "/CN=ringkeeper-test-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    )?;
    std::fs::write(
        dir.join("node.ext"),
        format!(
            "subjectAltName={}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
            san.join(",")
        ),
    )?;
    std::fs::write(
        dir.join("client.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
    )?;
    for who in ["node", "client"] {
        let key = format!("{who}.key");
        let csr = format!("{who}.csr");
        let crt = format!("{who}.crt");
        let ext = format!("{who}.ext");
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={who}"),
            ],
        )?;
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                days,
                "-extfile",
                &ext,
                "-out",
                &crt,
            ],
        )?;
    }
    let keystore = [
        std::fs::read(dir.join("node.key"))?,
        std::fs::read(dir.join("node.crt"))?,
    ]
    .concat();
    std::fs::write(dir.join("node.pem"), keystore)?;
    Ok(Pki {
        ca: dir.join("ca.pem"),
        node_keystore: dir.join("node.pem"),
        client_cert: dir.join("client.crt"),
        client_key: dir.join("client.key"),
    })
}
