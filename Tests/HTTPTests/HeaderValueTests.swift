import HTTP
import Testing

@Test func aHeaderValueIsLookedAtOnItsBytesWithoutRegardToTheNamesCase() {
    let headers = HTTPHeaders([("Host", "h"), ("content-TYPE", "application/json"), ("Content-Type", "text/plain")])
    #expect(headers.withValue("Content-Type") { String(decoding: $0, as: UTF8.self) } == "application/json")
    #expect(headers.withValue("HOST") { $0.count } == 1)
    #expect(headers.withValue("Missing") { _ in true } == nil)
    #expect(HTTPHeaders().withValue("Host") { _ in true } == nil)
}
