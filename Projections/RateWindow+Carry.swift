public import Events

extension RateWindow {
    /// The windows for `new` limits when they replace `old` ones (API.md, "Owners, plans
    /// and quotas"): a limit whose name and window length did not change keeps its
    /// current window, so the requests already counted still count against its new
    /// `limit`; any other limit starts empty. Unnamed limits of one length pair up in
    /// order.
    public static func carried(from old: [RateLimit], _ windows: [RateWindow], to new: [RateLimit]) -> [RateWindow] {
        var taken = Array(repeating: false, count: old.count)
        return new.map { limit in
            for i in old.indices where !taken[i] && i < windows.count {
                if old[i].name == limit.name && old[i].windowSeconds == limit.windowSeconds {
                    taken[i] = true
                    return windows[i]
                }
            }
            return RateWindow()
        }
    }
}
