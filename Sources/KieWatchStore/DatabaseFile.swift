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
    /// callback URLs (with their secrets), so we create it ourselves. `open(2)`'s mode is masked
    /// by the umask too, hence the `fchmod`. SQLite gives a *new* `-wal` or `-shm` the mode of
    /// the database file (its unix VFS copies it), but opens an existing one as it is: a `-wal`
    /// left at 0644 by an older build or a copy would keep every recent page, secrets and all,
    /// readable to others. So those two are tightened here too, before SQLite opens them.
    package static func createPrivate(at path: String) throws {
        try makePrivate(path, create: true)
        for suffix in ["-wal", "-shm"] { try makePrivate(path + suffix, create: false) }
    }

    /// Opens `path` (creating it 0600 when `create`), checks it is a regular file and sets its
    /// mode to 0600. A missing file that is not to be created is left missing.
    private static func makePrivate(_ path: String, create: Bool) throws {
        let flags = create ? O_RDWR | O_CREAT | O_CLOEXEC : O_RDONLY | O_CLOEXEC
        let fd = retryingEINTR { open(path, flags, mode_t(0o600)) }
        guard fd >= 0 else {
            if !create && errno == ENOENT { return }
            throw fileError(create ? "cannot create database file \(path)" : "cannot open \(path)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fileError("cannot stat \(path)") }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw StoreError(kind: .fileSystem, code: EINVAL, message: "\(path) is not a regular file")
        }
        if info.st_mode & 0o777 != 0o600 {
            guard fchmod(fd, 0o600) == 0 else { throw fileError("cannot set mode 0600 on \(path)") }
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
