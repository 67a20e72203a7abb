/// A JSON object that keeps its members in document order.
///
/// ``JSONParser`` never produces two members whose keys compare equal; an object built
/// by hand may, and then the subscript finds the first. Lookup is a linear scan, which
/// beats hashing for the handful of members an API payload carries.
public struct JSONObject: Sendable, Equatable {
    /// The members in order. Keys compare as Swift `String`s (canonical equivalence).
    public var members: [(key: String, value: JSONValue)]

    /// Creates an object with the given members, kept in the order given.
    public init(_ members: [(key: String, value: JSONValue)] = []) {
        self.members = members
    }

    /// The value of the first member named `key`, or `nil` when there is none.
    ///
    /// A member whose value is `null` gives `.null`, not `nil`, so a caller can tell
    /// "present and null" from "absent".
    public subscript(key: String) -> JSONValue? {
        for member in members where member.key == key {
            return member.value
        }
        return nil
    }

    /// Two objects are equal when they hold equal members in the same order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.elementsEqual(rhs.members) { $0.key == $1.key && $0.value == $1.value }
    }
}
