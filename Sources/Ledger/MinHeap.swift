/// A binary min-heap of (time, element), earliest time on top.
struct MinHeap<Element> {
    private var items: [(Int64, Element)] = []

    var capacity: Int { items.capacity }
    var top: (Int64, Element)? { items.first }

    mutating func push(_ time: Int64, _ element: Element) {
        items.append((time, element))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].0 < items[parent].0 else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var i = 0
        while true {
            let left = 2 * i + 1
            let right = left + 1
            var smallest = i
            if left < items.count, items[left].0 < items[smallest].0 { smallest = left }
            if right < items.count, items[right].0 < items[smallest].0 { smallest = right }
            if smallest == i { return }
            items.swapAt(i, smallest)
            i = smallest
        }
    }
}
