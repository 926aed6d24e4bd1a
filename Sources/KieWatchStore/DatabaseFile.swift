#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system facts about the database file that SQLite does not handle for us.
package enum DatabaseFile {
    /// Creates the database file with mode 0600 before SQLite opens it, and tightens an
    /// existing file that is readable by group or others.
    ///
    /// SQLite creates files with 0644 masked by the umask; the database holds the apps'
    /// callback URLs (with their secrets), so we create it ourselves. `open(2)`'s mode is masked
    /// by the umask too, hence the `fchmod`. SQLite gives `-wal` and `-shm` the same mode as
    /// the database file (its unix VFS copies it and fchmods new files), so they follow.
    package static func createPrivate(at path: String) throws {
        let fd = retryingEINTR { open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode_t(0o600)) }
        guard fd >= 0 else { throw fileError("cannot create database file \(path)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fileError("cannot stat database file \(path)") }
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
