//! A PostgreSQL server of a test's own: its own data directory and port, so that the test
//! can stop and restart the database server under a running cloud without disturbing the
//! machine's shared server (other tests use it at the same moment). Made with Debian's
//! server binaries (`/usr/lib/postgresql/<version>/bin`), trust authentication on
//! 127.0.0.1 only. As root (CI) the server runs as the `postgres` user, because PostgreSQL
//! refuses to run as root.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// A running private server; stopped (immediately) when dropped.
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: TempDir,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

/// The newest installed server's binary directory.
fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A port nobody listens on now (the server binds it a moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

impl PrivatePostgres {
    /// Creates and starts a server, or `None` (after a loud skip) when PostgreSQL's server
    /// binaries are not installed and `JASIYO_REQUIRE_POSTGRES=1` does not demand them.
    pub fn start() -> Option<PrivatePostgres> {
        let Some(bin) = server_bin() else {
            assert!(
                std::env::var("JASIYO_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "PostgreSQL's server binaries are required here but not under /usr/lib/postgresql"
            );
            eprintln!("SKIPPED: no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)");
            return None;
        };
        let dir = TempDir::new().expect("temp dir");
        let server = PrivatePostgres { bin, dir, port: free_port() };
        if is_root() {
            // The server's user must own the directory and reach it through /tmp.
            let owned = Command::new("chown").args(["-R", "postgres:postgres"]).arg(server.dir.path()).status();
            assert!(owned.is_ok_and(|s| s.success()), "chown of the private server's directory");
        }
        let data = server.data();
        server.run("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
        server.ctl(&["start"]);
        Some(server)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Runs one of the server's programs (as `postgres` when we are root); panics with its
    /// output when it fails.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let output = self.command(program).args(args).current_dir(self.dir.path()).output().unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// One of the server's programs, as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    /// `pg_ctl <action>` on this server, waiting until it is done.
    fn ctl(&self, action: &[&str]) -> Output {
        let data = self.data();
        let options = format!("-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off", self.port, self.dir.path().display());
        let log = self.dir.path().join("server.log").display().to_string();
        let mut args = vec!["-D", &data, "-w", "-t", "60", "-l", &log, "-o", &options];
        args.extend_from_slice(action);
        self.run("pg_ctl", &args)
    }

    /// The server's own log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The admin URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        self.run("createdb", &["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", name]);
        self.url(name)
    }

    /// Stops the server as a crash would (`-m immediate`: no checkpoint, every connection
    /// cut); the next start recovers from the WAL.
    pub fn crash(&self) {
        self.ctl(&["-m", "immediate", "stop"]);
    }

    /// Starts the server again (after [`PrivatePostgres::crash`]) and waits until it takes
    /// connections.
    pub fn start_again(&self) {
        self.ctl(&["start"]);
    }

    /// The data directory's path, for messages.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.command("pg_ctl").args(["-D", &data, "-m", "immediate", "-w", "stop"]).output();
    }
}
