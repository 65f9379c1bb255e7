//! A Dovecot of the test's own: `dovecot -F` with a configuration in a
//! temporary folder (listening on 127.0.0.1 and a free port, one user in a
//! passwd file, maildirs in the folder), never the system's service. As
//! root, Dovecot's login processes run as `dovenull` and the mail as
//! `dovecot`, which Debian's package creates.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const USER: &str = "desk";
pub const PASSWORD: &str = "imap password 1";
const CLIENT_PY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/api/email_imap/client.py"
);

/// Whether Dovecot is installed; without it the test is skipped, or fails under CI.
pub fn have_dovecot() -> bool {
    let found = Command::new("dovecot")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true but `dovecot` is missing (Debian's dovecot-imapd): the IMAP tests must run in CI"
        );
        eprintln!("`dovecot` is not installed: skipping");
    }
    found
}

/// A running Dovecot; stopped when dropped.
pub struct Dovecot {
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// A PEM certificate for `localhost` when it speaks TLS.
    pub cert: Option<PathBuf>,
    /// TLS after STARTTLS on the IMAP port rather than from the first byte.
    starttls: bool,
    child: Option<Child>,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn id(flag: &str, user: &str) -> u32 {
    let out = Command::new("id")
        .args([flag, user])
        .output()
        .expect("id runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no user {user}: install dovecot-core"))
}

impl Dovecot {
    /// Starts a plain-text Dovecot (`email_imap_security = none`).
    pub async fn start() -> Dovecot {
        Dovecot::start_with(false, false).await
    }

    /// Starts a Dovecot speaking implicit TLS with a self-signed certificate.
    pub async fn start_tls() -> Dovecot {
        Dovecot::start_with(true, false).await
    }

    /// Starts a Dovecot that signs in only after STARTTLS, with a
    /// self-signed certificate.
    pub async fn start_starttls() -> Dovecot {
        Dovecot::start_with(true, true).await
    }

    async fn start_with(tls: bool, starttls: bool) -> Dovecot {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let cert = tls.then(|| self_signed(root));
        let mut dovecot = Dovecot {
            port: free_port(),
            dir,
            cert,
            starttls,
            child: None,
        };
        dovecot.write_config();
        dovecot.run().await;
        dovecot
    }

    fn write_config(&self) {
        use std::os::unix::fs::PermissionsExt;
        let root = self.dir.path();
        for sub in ["run", "state", "mail", "home"] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        std::fs::write(root.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n"))
            .expect("passwd");
        let is_root = unsafe { libc::geteuid() } == 0;
        let (internal, login, mail_uid, mail_gid) = if is_root {
            // Dovecot refuses to run its logins or mail as root.
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            let (uid, gid) = (id("-u", "dovecot"), id("-g", "dovecot"));
            for sub in ["mail", "home"] {
                std::os::unix::fs::chown(root.join(sub), Some(uid), Some(gid)).expect("chown");
            }
            ("dovecot".to_string(), "dovenull".to_string(), uid, gid)
        } else {
            let me = String::from_utf8_lossy(
                &Command::new("id").arg("-un").output().expect("id").stdout,
            )
            .trim()
            .to_string();
            let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
            (me.clone(), me, uid, gid)
        };
        let r = root.display();
        let (ssl, listeners) = match &self.cert {
            Some(cert) if self.starttls => (
                format!(
                    "ssl = required\nssl_cert = <{}\nssl_key = <{}\n",
                    cert.display(),
                    root.join("key.pem").display()
                ),
                format!(
                    "inet_listener imap {{\n    address = 127.0.0.1\n    port = {}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}",
                    self.port
                ),
            ),
            Some(cert) => (
                format!(
                    "ssl = required\nssl_cert = <{}\nssl_key = <{}\n",
                    cert.display(),
                    root.join("key.pem").display()
                ),
                format!(
                    "inet_listener imap {{\n    port = 0\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {}\n    ssl = yes\n  }}",
                    self.port
                ),
            ),
            None => (
                "ssl = no\n".to_string(),
                format!(
                    "inet_listener imap {{\n    address = 127.0.0.1\n    port = {}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}",
                    self.port
                ),
            ),
        };
        let config = format!(
            "base_dir = {r}/run\nstate_dir = {r}/state\ninstance_name = koban-test-{port}\n\
             listen = 127.0.0.1\nprotocols = imap\n{ssl}disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\nlogin_trusted_networks = 127.0.0.0/8\n\
             default_internal_user = {internal}\ndefault_internal_group = {internal}\n\
             default_login_user = {login}\nfirst_valid_uid = 0\n\
             log_path = {r}/dovecot.log\nmail_location = maildir:{r}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={mail_uid} gid={mail_gid} home={r}/home/%u\n}}\n\
             service imap-login {{\n  chroot =\n  {listeners}\n}}\n\
             service anvil {{\n  chroot =\n}}\nservice stats {{\n  chroot =\n}}\n",
            port = self.port,
        );
        std::fs::write(root.join("dovecot.conf"), config).expect("dovecot.conf");
    }

    /// Starts (again) on the same port and folders.
    pub async fn run(&mut self) {
        let child = Command::new("dovecot")
            .args(["-F", "-c"])
            .arg(self.dir.path().join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot starts");
        self.child = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("dovecot did not listen on {}: {}", self.port, self.log());
    }

    /// Stops the server (its master ends every process it started).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        }
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Dovecot's log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Runs imaplib operations (`append` with a mail's bytes, `create`, `delete`).
    pub async fn client(&self, ops: Vec<serde_json::Value>) -> serde_json::Value {
        let args = serde_json::json!({
            "port": self.port, "user": USER, "password": PASSWORD, "ops": ops,
            "tls": self.cert.is_some() && !self.starttls,
            "starttls": self.starttls,
        });
        let output = tokio::task::spawn_blocking(move || {
            Command::new("python3")
                .arg(CLIENT_PY)
                .arg(args.to_string())
                .output()
                .expect("python3 runs")
        })
        .await
        .expect("join");
        assert!(
            output.status.success(),
            "client.py failed: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
        serde_json::from_slice(&output.stdout).expect("client.py prints JSON")
    }

    /// Appends `raw` to `mailbox` through imaplib.
    pub async fn append(&self, mailbox: &str, raw: &[u8]) {
        let file = self
            .dir
            .path()
            .join(format!("append-{}.eml", koban::crypto::random_token(6)));
        std::fs::write(&file, raw).expect("write mail");
        self.client(vec![serde_json::json!([
            "append",
            mailbox,
            file.display().to_string()
        ])])
        .await;
        let _ = std::fs::remove_file(file);
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }
}

/// A self-signed certificate for `localhost` (not a CA, as TLS clients
/// want of a server's own certificate), made with the `openssl` CLI.
fn self_signed(root: &Path) -> PathBuf {
    let cert = root.join("cert.pem");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
        ])
        .arg(root.join("key.pem"))
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    cert
}
