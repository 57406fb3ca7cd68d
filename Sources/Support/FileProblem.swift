import Foundation

/// Why a file could not be read or written, in gtr's words: never Foundation's error domains or its English
/// sentences ("You don't have permission", "NSCocoaErrorDomain Code=256"), whatever the error's origin.
public func fileProblem(_ url: URL, _ error: Error) -> String {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    let exists = fm.fileExists(atPath: url.path, isDirectory: &isDir)
    if isDir.boolValue { return "it is a directory" }
    if exists, let t = try? fm.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType, t != .typeRegular, t != .typeSymbolicLink {
        return "not a regular file"
    }
    let parent = url.deletingLastPathComponent()
    if !exists, !fm.fileExists(atPath: parent.path) { return "no such directory \(parent.path)" }
    let ns = error as NSError
    // gtr's own typed errors already speak in gtr's words.
    if ns.domain != NSCocoaErrorDomain, ns.domain != NSPOSIXErrorDomain { return "\(error)" }
    let posix = (ns.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap { $0.domain == NSPOSIXErrorDomain ? $0.code : nil }
        ?? (ns.domain == NSPOSIXErrorDomain ? ns.code : nil)
    if let code = posix, let msg = strerror(Int32(code)) { return String(cString: msg).lowercased() }
    switch ns.code {
    case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file"
    case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
    case NSFileWriteOutOfSpaceError: return "no space left on the device"
    case NSFileReadInapplicableStringEncodingError, NSFileReadCorruptFileError: return "not UTF-8 text"
    case NSFileWriteVolumeReadOnlyError: return "read-only file system"
    default: return exists ? "not readable or writable here" : "cannot be created here"
    }
}

/// True when `url` exists (after symlinks) and is not a regular file: a directory, FIFO, socket or device, whose
/// read would fail obscurely or block forever.
public func isNonRegularFile(_ url: URL) -> Bool {
    let path = url.resolvingSymlinksInPath().path
    guard let t = try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType else { return false }
    return t != .typeRegular
}
