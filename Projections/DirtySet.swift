/// Positions (of key states, of posting lists) marked since the last ``removeAll()``, each
/// once, in marking order: what a rebuilder has changed since it last wrote.
struct DirtySet {
    private(set) var positions: [Int] = []
    private var isMarked: [Bool] = []

    /// Makes room for one more position.
    mutating func grow() { isMarked.append(false) }

    mutating func insert(_ position: Int) {
        guard !isMarked[position] else { return }
        isMarked[position] = true
        positions.append(position)
    }

    mutating func removeAll() {
        for position in positions { isMarked[position] = false }
        positions.removeAll(keepingCapacity: true)
    }
}
