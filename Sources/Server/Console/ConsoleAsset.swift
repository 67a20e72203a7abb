import Events
import HTTP

/// The web console's files (`GET /console`, `/console/<file>`), embedded in the binary:
/// no build step, nothing fetched at run time. The page talks to the public API only,
/// with a credential the user pastes and that lives in the page's memory.
///
/// The raw value is the file name under `/console/`; `""` (the path `/console/`) is the page.
enum ConsoleAsset: String, CaseIterable, Sendable {
    case index = ""
    case style = "app.css"
    case app = "app.js"
    case keys = "keys.js"
    case usage = "usage.js"
    case audit = "audit.js"

    /// The path it is served at.
    var path: String { self == .index ? "/console" : "/console/\(rawValue)" }

    var contentType: String {
        switch self {
        case .index: "text/html; charset=utf-8"
        case .style: "text/css; charset=utf-8"
        case .app, .keys, .usage, .audit: "application/javascript; charset=utf-8"
        }
    }

    var text: String {
        switch self {
        case .index: Self.indexHTML
        case .style: Self.styleCSS
        case .app: Self.appJS
        case .keys: Self.keysJS
        case .usage: Self.usageJS
        case .audit: Self.auditJS
        }
    }

    /// The page may load only its own scripts and styles and talk only to its own
    /// origin; nothing may frame it, and no form or base element can send it elsewhere.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    /// The answer to `GET` (or `HEAD`) of this asset: 304 when `ifNoneMatch` names its
    /// current entity tag, else the file. Browsers revalidate every time (`no-cache`), so
    /// a new binary's console is seen at once.
    func response(ifNoneMatch: String?) -> HTTPResponse {
        let served = Self.served[self] ?? (body: [], etag: "\"\"")
        var headers: [(name: String, value: String)] = [
            ("ETag", served.etag),
            ("Cache-Control", "no-cache"),
            ("Content-Security-Policy", Self.contentSecurityPolicy),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
        ]
        if let ifNoneMatch, Self.matches(ifNoneMatch, served.etag) {
            return HTTPResponse(status: 304, headers: headers)
        }
        headers.insert(("Content-Type", contentType), at: 0)
        return HTTPResponse(status: 200, headers: headers, body: served.body)
    }

    /// Each asset's bytes and entity tag (the first 16 hex digits of its SHA-256), made once.
    private static let served: [ConsoleAsset: (body: [UInt8], etag: String)] = Dictionary(
        uniqueKeysWithValues: allCases.map { asset in
            let body = Array(asset.text.utf8)
            let digest = body.withUnsafeBytes { Digest.sha256($0) }
            return (asset, (body, "\"\(digest.hex.prefix(16))\""))
        })

    /// `If-None-Match` holds `*` or the tag among its comma-separated list (weak or strong).
    private static func matches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            let tag = candidate.trimmingSpaces
            return tag == "*" || tag == etag || tag == "W/" + etag
        }
    }
}
