//! The passthrough filesystem: every call is carried out on the backing directory, through the gate.

use crate::gate::Gate;
use crate::inodes::Inodes;
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The kernel may cache attributes and entries this long. Short, because the backing tree is only ours.
const TTL: Duration = Duration::from_secs(1);

pub struct Passthrough {
    pub gate: Arc<Gate>,
    inodes: Arc<Mutex<Inodes>>,
    handles: Arc<Mutex<BTreeMap<u64, Arc<File>>>>,
    next_handle: Mutex<u64>,
}

fn errno(error: std::io::Error) -> Errno {
    Errno::from_i32(error.raw_os_error().unwrap_or(libc::EIO))
}

fn time(seconds: i64, nanoseconds: i64) -> SystemTime {
    if seconds >= 0 {
        UNIX_EPOCH + Duration::new(seconds as u64, nanoseconds as u32)
    } else {
        UNIX_EPOCH
    }
}

fn attr(ino: u64, metadata: &std::fs::Metadata) -> FileAttr {
    let file_type = metadata.file_type();
    let kind = if file_type.is_dir() {
        FileType::Directory
    } else if file_type.is_symlink() {
        FileType::Symlink
    } else {
        FileType::RegularFile
    };
    FileAttr {
        ino: INodeNo(ino),
        size: metadata.size(),
        blocks: metadata.blocks(),
        atime: time(metadata.atime(), metadata.atime_nsec()),
        mtime: time(metadata.mtime(), metadata.mtime_nsec()),
        ctime: time(metadata.ctime(), metadata.ctime_nsec()),
        crtime: UNIX_EPOCH,
        kind,
        perm: (metadata.mode() & 0o7777) as u16,
        nlink: metadata.nlink() as u32,
        uid: metadata.uid(),
        gid: metadata.gid(),
        rdev: metadata.rdev() as u32,
        blksize: 4096,
        flags: 0,
    }
}

impl Passthrough {
    pub fn new(backing: &Path, gate: Arc<Gate>) -> Passthrough {
        Passthrough {
            gate,
            inodes: Arc::new(Mutex::new(Inodes::new(backing))),
            handles: Arc::new(Mutex::new(BTreeMap::new())),
            next_handle: Mutex::new(1),
        }
    }

    fn path(&self, ino: INodeNo) -> Result<PathBuf, Errno> {
        self.inodes
            .lock()
            .expect("never poisoned")
            .path(ino.0)
            .ok_or(Errno::ENOENT)
    }

    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<PathBuf, Errno> {
        Ok(self.path(parent)?.join(name))
    }

    fn handle(&self, fh: FileHandle) -> Result<Arc<File>, Errno> {
        self.handles
            .lock()
            .expect("never poisoned")
            .get(&fh.0)
            .cloned()
            .ok_or(Errno::EBADF)
    }

    fn next_handle(&self) -> u64 {
        let mut next = self.next_handle.lock().expect("never poisoned");
        let fh = *next;
        *next += 1;
        fh
    }

    /// The entry for a path that exists, numbered.
    fn entry(inodes: &Mutex<Inodes>, path: &Path) -> Result<FileAttr, Errno> {
        let metadata = std::fs::symlink_metadata(path).map_err(errno)?;
        let ino = inodes.lock().expect("never poisoned").number(path);
        Ok(attr(ino, &metadata))
    }
}

impl Filesystem for Passthrough {
    fn lookup(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let path = match self.child(parent, name) {
            Ok(path) => path,
            Err(error) => return reply.error(error),
        };
        let inodes = self.inodes.clone();
        self.gate.pass(false, req.pid(), move || {
            match Self::entry(&inodes, &path) {
                Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
                Err(error) => reply.error(error),
            }
        });
    }

    fn getattr(&self, req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let path = match self.path(ino) {
            Ok(path) => path,
            Err(error) => return reply.error(error),
        };
        self.gate.pass(false, req.pid(), move || {
            match std::fs::symlink_metadata(&path) {
                Ok(metadata) => reply.attr(&TTL, &attr(ino.0, &metadata)),
                Err(error) => reply.error(errno(error)),
            }
        });
    }

    fn setattr(
        &self,
        req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let path = match self.path(ino) {
            Ok(path) => path,
            Err(error) => return reply.error(error),
        };
        let file = fh.and_then(|fh| self.handle(fh).ok());
        // A truncate or chmod changes the file; a bare time update is let through like a read.
        let mutating = size.is_some() || mode.is_some();
        self.gate.pass(mutating, req.pid(), move || {
            let result = (|| -> std::io::Result<std::fs::Metadata> {
                if let Some(size) = size {
                    match &file {
                        Some(file) => file.set_len(size)?,
                        None => OpenOptions::new().write(true).open(&path)?.set_len(size)?,
                    }
                }
                if let Some(mode) = mode {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
                }
                std::fs::symlink_metadata(&path)
            })();
            match result {
                Ok(metadata) => reply.attr(&TTL, &attr(ino.0, &metadata)),
                Err(error) => reply.error(errno(error)),
            }
        });
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let path = match self.child(parent, name) {
            Ok(path) => path,
            Err(error) => return reply.error(error),
        };
        let inodes = self.inodes.clone();
        self.gate.pass(true, req.pid(), move || {
            let result = std::fs::create_dir(&path).and_then(|()| {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o7777))
            });
            match result
                .map_err(errno)
                .and_then(|()| Self::entry(&inodes, &path))
            {
                Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
                Err(error) => reply.error(error),
            }
        });
    }

    fn unlink(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let path = match self.child(parent, name) {
            Ok(path) => path,
            Err(error) => return reply.error(error),
        };
        let inodes = self.inodes.clone();
        self.gate
            .pass(true, req.pid(), move || match std::fs::remove_file(&path) {
                Ok(()) => {
                    inodes.lock().expect("never poisoned").forget_path(&path);
                    reply.ok()
                }
                Err(error) => reply.error(errno(error)),
            });
    }

    fn rmdir(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let path = match self.child(parent, name) {
            Ok(path) => path,
            Err(error) => return reply.error(error),
        };
        let inodes = self.inodes.clone();
        self.gate
            .pass(true, req.pid(), move || match std::fs::remove_dir(&path) {
                Ok(()) => {
                    inodes.lock().expect("never poisoned").forget_path(&path);
                    reply.ok()
                }
                Err(error) => reply.error(errno(error)),
            });
    }

    fn rename(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        _flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let (from, to) = match (self.child(parent, name), self.child(newparent, newname)) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(error), _) | (_, Err(error)) => return reply.error(error),
        };
        let inodes = self.inodes.clone();
        self.gate
            .pass(true, req.pid(), move || match std::fs::rename(&from, &to) {
                Ok(()) => {
                    inodes.lock().expect("never poisoned").rename(&from, &to);
                    reply.ok()
                }
                Err(error) => reply.error(errno(error)),
            });
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let path = match self.path(ino) {
            Ok(path) => path,
            Err(error) => return reply.error(error),
        };
        let access = flags.0 & libc::O_ACCMODE;
        // Opening to write, or to truncate, is the first step of a write; opening to read is a read.
        let mutating = access != libc::O_RDONLY || flags.0 & libc::O_TRUNC != 0;
        let handles = self.handles.clone();
        let fh = self.next_handle();
        self.gate.pass(mutating, req.pid(), move || {
            let result = OpenOptions::new()
                .read(access == libc::O_RDONLY || access == libc::O_RDWR)
                .write(access == libc::O_WRONLY || access == libc::O_RDWR)
                .custom_flags(
                    flags.0 & (libc::O_APPEND | libc::O_TRUNC | libc::O_SYNC | libc::O_DSYNC),
                )
                .open(&path);
            match result {
                Ok(file) => {
                    handles
                        .lock()
                        .expect("never poisoned")
                        .insert(fh, Arc::new(file));
                    reply.opened(FileHandle(fh), FopenFlags::empty())
                }
                Err(error) => reply.error(errno(error)),
            }
        });
    }

    fn read(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let file = match self.handle(fh) {
            Ok(file) => file,
            Err(error) => return reply.error(error),
        };
        self.gate.pass(false, req.pid(), move || {
            let mut buffer = vec![0u8; size as usize];
            let mut filled = 0;
            // Read to the size asked or to the end of the file, as FUSE expects outside direct I/O.
            while filled < buffer.len() {
                match file.read_at(&mut buffer[filled..], offset + filled as u64) {
                    Ok(0) => break,
                    Ok(count) => filled += count,
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(error) => return reply.error(errno(error)),
                }
            }
            reply.data(&buffer[..filled])
        });
    }

    fn write(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let file = match self.handle(fh) {
            Ok(file) => file,
            Err(error) => return reply.error(error),
        };
        let data = data.to_vec();
        self.gate.pass(true, req.pid(), move || {
            match file.write_all_at(&data, offset) {
                Ok(()) => reply.written(data.len() as u32),
                Err(error) => reply.error(errno(error)),
            }
        });
    }

    fn flush(
        &self,
        req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // Every write already reached the backing file; flush only has to wait at the gate.
        self.gate.pass(true, req.pid(), move || reply.ok());
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        // Release comes after the last close, which the process no longer waits on: never held.
        self.handles.lock().expect("never poisoned").remove(&fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        let file = match self.handle(fh) {
            Ok(file) => file,
            Err(error) => return reply.error(error),
        };
        self.gate.pass(true, req.pid(), move || {
            let result = if datasync {
                file.sync_data()
            } else {
                file.sync_all()
            };
            match result {
                Ok(()) => reply.ok(),
                Err(error) => reply.error(errno(error)),
            }
        });
    }

    fn readdir(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let path = match self.path(ino) {
            Ok(path) => path,
            Err(error) => return reply.error(error),
        };
        let inodes = self.inodes.clone();
        self.gate.pass(false, req.pid(), move || {
            let entries = match std::fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(error) => return reply.error(errno(error)),
            };
            let mut listing: Vec<(u64, FileType, std::ffi::OsString)> = vec![
                (ino.0, FileType::Directory, ".".into()),
                (ino.0, FileType::Directory, "..".into()),
            ];
            let mut named: Vec<(std::ffi::OsString, FileType)> = entries
                .filter_map(Result::ok)
                .map(|entry| {
                    let kind = match entry.file_type() {
                        Ok(kind) if kind.is_dir() => FileType::Directory,
                        Ok(kind) if kind.is_symlink() => FileType::Symlink,
                        _ => FileType::RegularFile,
                    };
                    (entry.file_name(), kind)
                })
                .collect();
            named.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            {
                let mut inodes = inodes.lock().expect("never poisoned");
                for (name, kind) in named {
                    let child = inodes.number(&path.join(&name));
                    listing.push((child, kind, name));
                }
            }
            for (index, (child, kind, name)) in
                listing.into_iter().enumerate().skip(offset as usize)
            {
                if reply.add(INodeNo(child), (index + 1) as u64, kind, &name) {
                    break;
                }
            }
            reply.ok()
        });
    }

    fn fsyncdir(
        &self,
        req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.gate.pass(true, req.pid(), move || reply.ok());
    }

    fn statfs(&self, req: &Request, ino: INodeNo, reply: ReplyStatfs) {
        let path = match self.path(ino) {
            Ok(path) => path,
            Err(error) => return reply.error(error),
        };
        self.gate.pass(false, req.pid(), move || {
            let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
            let c_path =
                std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in paths");
            // SAFETY: a valid NUL-terminated path and a zeroed statvfs the call fills in.
            if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
                return reply.error(errno(std::io::Error::last_os_error()));
            }
            reply.statfs(
                stat.f_blocks,
                stat.f_bfree,
                stat.f_bavail,
                stat.f_files,
                stat.f_ffree,
                stat.f_bsize as u32,
                stat.f_namemax as u32,
                stat.f_frsize as u32,
            )
        });
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let path = match self.child(parent, name) {
            Ok(path) => path,
            Err(error) => return reply.error(error),
        };
        let inodes = self.inodes.clone();
        let handles = self.handles.clone();
        let fh = self.next_handle();
        self.gate.pass(true, req.pid(), move || {
            let result = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(flags & libc::O_TRUNC != 0)
                .mode(mode & 0o7777)
                .open(&path);
            match result
                .map_err(errno)
                .and_then(|file| Ok((file, Self::entry(&inodes, &path)?)))
            {
                Ok((file, attr)) => {
                    handles
                        .lock()
                        .expect("never poisoned")
                        .insert(fh, Arc::new(file));
                    reply.created(
                        &TTL,
                        &attr,
                        Generation(0),
                        FileHandle(fh),
                        FopenFlags::empty(),
                    )
                }
                Err(error) => reply.error(error),
            }
        });
    }

    fn fallocate(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let file = match self.handle(fh) {
            Ok(file) => file,
            Err(error) => return reply.error(error),
        };
        self.gate.pass(true, req.pid(), move || {
            use std::os::fd::AsRawFd;
            // SAFETY: an open descriptor this filesystem owns, and plain integers.
            let result = unsafe {
                libc::fallocate(
                    file.as_raw_fd(),
                    mode,
                    offset as libc::off_t,
                    length as libc::off_t,
                )
            };
            if result == 0 {
                reply.ok()
            } else {
                reply.error(errno(std::io::Error::last_os_error()))
            }
        });
    }
}
