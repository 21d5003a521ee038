//! `firedrill-hangfs BACKING MOUNTPOINT`: a passthrough FUSE filesystem over BACKING, mounted at MOUNTPOINT,
//! that holds calls on command. The harness drives it through stdin, one command a line:
//!
//! - `normal`: let every call through (calls already held stay held until `release`);
//! - `block-mutating`: hold write, fsync, flush, create, rename, truncate and the like; reads go through;
//! - `block-all`: hold every call, reads included;
//! - `release`: run every held call, oldest first, and go back to `normal`;
//! - `urge`: send SIGURG to every thread waiting on a held call (see below);
//! - `status`: print the mode and the waiting threads.
//!
//! Each command is answered with one line on stdout. At the end of stdin (the harness exited, however it
//! exited) the held calls are released and the filesystem is unmounted, so a drill never leaves a hung mount.
//!
//! Why `urge`: a thread waiting on a FUSE reply sleeps interruptibly (`S` in `ps`) until a signal reaches it;
//! then the kernel sends FUSE an interrupt and waits uninterruptibly (`D`), as a task on a hung NFS hard mount
//! does. The Go runtime uses SIGURG for preemption and otherwise ignores it, so signalling the waiting thread with
//! it changes nothing in OpenBao but the state `ps` shows.

mod gate;
mod inodes;
mod passthrough;

use fuser::{Config, MountOption, SessionACL};
use gate::{Gate, Mode};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(backing), Some(mountpoint), None) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: firedrill-hangfs BACKING MOUNTPOINT (commands on stdin)");
        std::process::exit(2);
    };
    let backing = PathBuf::from(backing);
    let mountpoint = PathBuf::from(mountpoint);
    let gate = Arc::new(Gate::new());
    let filesystem = passthrough::Passthrough::new(&backing, gate.clone());
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("firedrill-hangfs".into()),
        MountOption::Subtype("hangfs".into()),
        // The containers' processes run as root, the owner here, but other users in a container may need it.
        MountOption::CUSTOM("allow_other".into()),
        MountOption::RW,
    ];
    config.acl = SessionACL::All;
    let session = match fuser::spawn_mount(filesystem, &mountpoint, &config) {
        Ok(session) => session,
        Err(error) => {
            eprintln!(
                "firedrill-hangfs: cannot mount {}: {error}",
                mountpoint.display()
            );
            std::process::exit(1);
        }
    };
    let stdout = std::io::stdout();
    let say = |line: String| {
        let mut out = stdout.lock();
        // The harness may be gone; the filesystem then only has to clean up.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    say(format!("mounted {}", mountpoint.display()));
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let command = line.trim();
        match command {
            "release" => {
                let count = gate.release();
                say(format!("released {count}"));
            }
            "urge" => {
                let callers = gate.parked_callers();
                for tid in &callers {
                    // SAFETY: tkill with a thread id and a signal number has no memory effects.
                    unsafe { libc::syscall(libc::SYS_tkill, *tid as libc::c_long, libc::SIGURG) };
                }
                say(format!("urged {}", join(&callers)));
            }
            "status" => say(format!(
                "mode {} waiting {}",
                gate.mode().as_str(),
                join(&gate.parked_callers())
            )),
            "" => {}
            other => match Mode::parse(other) {
                Some(mode) => {
                    gate.set_mode(mode);
                    say(format!("mode {}", mode.as_str()));
                }
                None => say(format!("error unknown command {other:?}")),
            },
        }
    }
    // Held calls are answered before the unmount, or the kernel would keep their tasks waiting on a dead mount.
    gate.release();
    match session.umount_and_join() {
        Ok(()) => {}
        // Already detached by a drill's `umount -l` or `umount -f`: nothing is left to unmount.
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {}
        Err(error) => {
            eprintln!(
                "firedrill-hangfs: unmounting {}: {error}",
                mountpoint.display()
            );
            std::process::exit(1);
        }
    }
}

fn join(tids: &[u32]) -> String {
    if tids.is_empty() {
        return "-".into();
    }
    tids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
