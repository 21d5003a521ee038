//! One node's raft directory on the hang filesystem: a `firedrill-hangfs` child mounted on the host, driven
//! through its stdin. When the harness goes, however it goes, the child sees the end of its stdin, releases every
//! held call and unmounts, so no hung mount outlives a run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Where to find the binary: `$FIREDRILL_HANGFS`, else beside the running executable (cargo puts every workspace
/// binary of a profile in one directory).
pub const HANGFS_ENV: &str = "FIREDRILL_HANGFS";
/// Mounting takes milliseconds; a command answers at once.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

pub fn hangfs_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(HANGFS_ENV) {
        return Ok(PathBuf::from(path));
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("firedrill-hangfs")));
    // Test binaries live one level down, in deps/.
    let above = std::env::current_exe().ok().and_then(|exe| {
        exe.parent()
            .and_then(Path::parent)
            .map(|dir| dir.join("firedrill-hangfs"))
    });
    [beside, above]
        .into_iter()
        .flatten()
        .find(|path| path.is_file())
        .ok_or_else(|| {
            format!(
                "the hang filesystem binary firedrill-hangfs was not found beside the executable; build it with \
                 `cargo build --release -p firedrill-hangfs` or set {HANGFS_ENV}"
            )
        })
}

pub fn fuse_available() -> Result<(), String> {
    if !Path::new("/dev/fuse").exists() {
        return Err("FUSE is missing: /dev/fuse does not exist on this machine".into());
    }
    let fusermount = [
        "/usr/bin/fusermount3",
        "/bin/fusermount3",
        "/usr/bin/fusermount",
    ]
    .iter()
    .any(|path| Path::new(path).exists());
    if !fusermount {
        return Err("FUSE is missing: no fusermount3 (apt-get install fuse3)".into());
    }
    Ok(())
}

/// A mounted hang filesystem.
pub struct HangMount {
    pub mountpoint: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// The kernel's FUSE connection number (the mount's device minor), for an abort, like `umount -f`.
    pub connection: Option<u32>,
}

impl HangMount {
    pub async fn mount(
        binary: &Path,
        backing: &Path,
        mountpoint: &Path,
    ) -> Result<HangMount, String> {
        let mut child = Command::new(binary)
            .arg(backing)
            .arg(mountpoint)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(false)
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut mount = HangMount {
            mountpoint: mountpoint.to_path_buf(),
            child,
            stdin,
            stdout,
            connection: None,
        };
        let answer = mount.read_answer().await?;
        if !answer.starts_with("mounted") {
            return Err(format!("firedrill-hangfs did not mount: {answer}"));
        }
        mount.connection = fuse_connection(mountpoint);
        Ok(mount)
    }

    async fn read_answer(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match tokio::time::timeout(ANSWER_TIMEOUT, self.stdout.read_line(&mut line)).await {
            Ok(Ok(0)) => Err("firedrill-hangfs exited".into()),
            Ok(Ok(_)) => Ok(line.trim().to_string()),
            Ok(Err(error)) => Err(format!("reading firedrill-hangfs: {error}")),
            Err(_) => Err("firedrill-hangfs did not answer within 10 s".into()),
        }
    }

    /// Sends one command (`block-mutating`, `block-all`, `release`, `urge`, `status`) and returns the answer.
    pub async fn command(&mut self, command: &str) -> Result<String, String> {
        let stdin = self.stdin.as_mut().ok_or("firedrill-hangfs is closed")?;
        stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .map_err(|error| format!("writing to firedrill-hangfs: {error}"))?;
        stdin.flush().await.map_err(|error| error.to_string())?;
        self.read_answer().await
    }

    /// Aborts the FUSE connection, as `umount -f` does to a hung NFS mount: every waiting call fails, at once.
    pub fn abort_connection(&self) -> Result<(), String> {
        let connection = self
            .connection
            .ok_or("the FUSE connection of this mount is unknown")?;
        std::fs::write(format!("/sys/fs/fuse/connections/{connection}/abort"), "1")
            .map_err(|error| format!("aborting FUSE connection {connection}: {error}"))
    }

    /// Releases every held call, closes stdin so the child unmounts, and waits for it (bounded).
    pub async fn close(mut self) -> Result<(), String> {
        let _ = self.command("release").await;
        self.stdin = None;
        match tokio::time::timeout(ANSWER_TIMEOUT, self.child.wait()).await {
            Ok(_) => {}
            Err(_) => {
                // The unmount is stuck (a task still holds the mount): abort the connection, then kill our child.
                let _ = self.abort_connection();
                let _ = self.child.start_kill();
                let _ = tokio::time::timeout(ANSWER_TIMEOUT, self.child.wait()).await;
            }
        }
        // A lazy unmount of whatever is left; never a stat of the mountpoint, which could hang.
        if mounted(&self.mountpoint) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.mountpoint)
                .status();
        }
        Ok(())
    }
}

/// Whether `/proc/self/mountinfo` lists a mount at this path (read from the table, never from the path itself).
pub fn mounted(mountpoint: &Path) -> bool {
    mount_line(mountpoint).is_some()
}

fn mount_line(mountpoint: &Path) -> Option<String> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let wanted = mountpoint.to_string_lossy().to_string();
    table
        .lines()
        .find(|line| line.split(' ').nth(4) == Some(wanted.as_str()))
        .map(str::to_string)
}

/// The FUSE connection number is the minor device number of the mount (`0:NN` in mountinfo).
fn fuse_connection(mountpoint: &Path) -> Option<u32> {
    let line = mount_line(mountpoint)?;
    line.split(' ').nth(2)?.split(':').nth(1)?.parse().ok()
}
