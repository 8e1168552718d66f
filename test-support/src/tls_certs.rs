//! A throwaway certificate authority and a server certificate for `127.0.0.1`/`localhost`,
//! made with the `openssl` command at test time (nothing secret is ever checked in).

use std::path::Path;
use std::process::Command;

/// The CA certificate (PEM), in the directory given to [`generate`].
pub const CA_FILE: &str = "ca.crt";
/// The server certificate (PEM), signed by the CA.
pub const CERT_FILE: &str = "server.crt";
/// The server's private key (PEM).
pub const KEY_FILE: &str = "server.key";

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}): install it (Debian: apt-get install openssl)"));
    assert!(status.success(), "openssl {args:?} failed");
}

/// Writes [`CA_FILE`], [`CERT_FILE`] and [`KEY_FILE`] (P-256 keys, valid one day) to `dir`.
pub fn generate(dir: &Path) {
    std::fs::create_dir_all(dir).expect("certificate dir");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", CA_FILE, "-days", "1", "-subj", "/CN=clamator test CA"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend(["-keyout", KEY_FILE, "-out", "server.csr", "-subj", "/CN=localhost"]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .expect("extensions file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            CA_FILE,
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            CERT_FILE,
            "-days",
            "1",
            "-extfile",
            "server.ext",
        ],
    );
}
