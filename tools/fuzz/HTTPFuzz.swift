/// The request-head parser and the chunked body decoder on arbitrary bytes. The first
/// byte picks where the bytes split, as if they arrived in two reads.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let split = Int(data[0]) % size
    // The second parse writes into the storage the first one's head left, as a connection's next request does.
    var storage = HTTPHeaders()
    for part in [bytes, UnsafeRawBufferPointer(rebasing: bytes[split...])] {
        switch RequestHeadParser.next(
            in: part, resumingAt: 0, maxHeaderBytes: 16384, maxBodyBytes: 65536, reusing: &storage)
        {
        case .complete(let head, let length):
            precondition(length <= part.count, "a head longer than its bytes")
            storage = head.headers
        case .incomplete(let resume): precondition(resume <= part.count, "resuming past the bytes")
        case .refused: break
        }
    }
    var decoder = ChunkedDecoder()
    var body: [UInt8] = []
    do {
        let first = try decoder.decode(bytes[0..<split], into: &body, maxBodyBytes: 65536, maxTrailerBytes: 16384)
        precondition(first <= split, "used more bytes than given")
        if first == split, !decoder.isComplete {
            _ = try decoder.decode(bytes[split...], into: &body, maxBodyBytes: 65536, maxTrailerBytes: 16384)
        }
        precondition(body.count <= 65536, "a body over its limit")
    } catch {}
    return 0
}
