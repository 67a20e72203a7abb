import JSON

extension RequestBody {
    /// A Boolean field, or nil when absent or null.
    mutating func boolean(_ field: String) throws(APIError) -> Bool? {
        guard let v = value(field), !v.isNull else { return nil }
        guard let b = v.boolValue else { throw .invalid(field, "must be true or false") }
        return b
    }
}
