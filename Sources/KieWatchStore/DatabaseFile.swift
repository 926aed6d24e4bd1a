#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system facts about the database file that SQLite does not handle for us.
package enum DatabaseFile {
    /// Creates the database file with mode 0600 before SQLite opens it, and tightens an
    /// existing database file, `-wal` or `-shm` that is readable by group or others.
    ///
    /// SQLite creates files with 0644 masked by the umask; the database holds the apps'
    /// callback URLs (with their secrets), so we create it ourselves. SQLite gives a *new* `-wal` or `-shm` the mode of
    /// the database file (its unix VFS copies it), but opens an existing one as it is: a `-wal`
    /// left at 0644 by an older build or a copy would keep every recent page, secrets and all,
    /// readable to others. So those two are tightened here too, before SQLite opens them.
    ///
    /// An existing file is checked and tightened by path (`stat`, `chmod`), never through a
    /// descriptor of our own: closing any descriptor of a file drops every POSIX lock this
    /// process holds on it, and this runs again for each read-write connection (the
    /// checkpointer's) while the writer's connection holds its locks. Dropping the writer's
    /// lock on `-shm` let another process opening the database (a `console --db`) take it as
    /// the first connection and truncate the shared-memory file under our mapping: SIGBUS.
    package static func createPrivate(at path: String) throws {
        try makePrivate(path, create: true)
        for suffix in ["-wal", "-shm"] { try makePrivate(path + suffix, create: false) }
    }

    /// Checks `path` is a regular file and sets its mode to 0600, creating it (0600, empty)
    /// when it is missing and `create`. A missing file that is not to be created is left missing.
    private static func makePrivate(_ path: String, create: Bool) throws {
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { throw fileError("cannot stat \(path)") }
            guard create else { return }
            // New, so no connection of ours has it open: a descriptor of our own is safe here.
            let fd = retryingEINTR { open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(0o600)) }
            if fd < 0 {
                // Created meanwhile by someone else: check it like any existing file.
                guard errno == EEXIST else { throw fileError("cannot create database file \(path)") }
                return try makePrivate(path, create: false)
            }
            defer { close(fd) }
            // open(2)'s mode is masked by the umask.
            guard fchmod(fd, 0o600) == 0 else { throw fileError("cannot set mode 0600 on \(path)") }
            return
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw StoreError(kind: .fileSystem, code: EINVAL, message: "\(path) is not a regular file")
        }
        if info.st_mode & 0o777 != 0o600 {
            guard chmod(path, 0o600) == 0 else { throw fileError("cannot set mode 0600 on \(path)") }
        }
    }

    /// Permission bits (`0o600`, ...) of a file, or nil when it does not exist.
    package static func mode(of path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o777
    }

    /// Size in bytes of a file, 0 when it does not exist.
    package static func size(of path: String) -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { return 0 }
        return Int64(info.st_size)
    }

    private static func retryingEINTR(_ call: () -> Int32) -> Int32 {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }

    private static func fileError(_ what: String) -> StoreError {
        let code = errno
        return StoreError(kind: .fileSystem, code: code, message: "\(what): \(String(cString: strerror(code)))")
    }
}
