extension ConsoleAsset {
    /// `/console/app.css`: plain, readable down to 360 px (tables turn into cards).
    static let styleCSS = ##"""
        :root {
          --fg: #1d2330; --muted: #5f6b7a; --bg: #f5f6f8; --card: #fff; --line: #d9dde3;
          --accent: #1f5fbf; --accent-fg: #fff; --danger: #b3261e; --ok: #1b7f3b; --warn: #8a5a00;
          --requests: #4a7fd4; --errors: #d0473c; --p50: #2f8f5b; --p99: #8e44ad;
          font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
          font-size: 15px; line-height: 1.45; color: var(--fg); background: var(--bg);
        }
        * { box-sizing: border-box; }
        body { margin: 0; min-width: 0; }
        code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
        code, .mono { overflow-wrap: anywhere; }
        pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f0f2f5; padding: 0.75rem; border-radius: 4px; margin: 0; }
        h1, h2, h3 { overflow-wrap: anywhere; }
        h1 { font-size: 1.4rem; margin: 0 0 0.75rem; }
        h2 { font-size: 1.15rem; margin: 1.25rem 0 0.5rem; }
        h3 { font-size: 1rem; margin: 1rem 0 0.4rem; }
        a { color: var(--accent); }
        .muted { color: var(--muted); }
        .skip { position: absolute; left: -999px; top: 0; background: var(--card); padding: 0.5rem; }
        .skip:focus { left: 0.5rem; z-index: 10; }
        :focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
        [tabindex="-1"]:focus { outline: none; }

        .top { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.25rem; padding: 0.6rem 1rem;
          background: #17202e; color: #fff; }
        .brand { font-weight: 600; display: flex; align-items: center; gap: 0.4rem; }
        .brand .muted { color: #aab4c3; font-weight: 400; }
        .logo { display: inline-grid; place-items: center; width: 1.8rem; height: 1.8rem; border-radius: 4px;
          background: var(--accent); font-size: 0.8rem; }
        nav { display: flex; flex-wrap: wrap; gap: 0.25rem; }
        nav a { color: #d6dde8; text-decoration: none; padding: 0.35rem 0.6rem; border-radius: 4px; }
        nav a:hover { background: #26324a; }
        nav a[aria-current="page"] { background: #2e3d59; color: #fff; }
        .session { margin-left: auto; display: flex; align-items: center; gap: 0.6rem; flex-wrap: wrap; }
        .session .muted { color: #aab4c3; }

        main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
        main:focus { outline: none; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin-bottom: 1rem; }
        .card > h2:first-child, .card > .title-row:first-child h2 { margin-top: 0; }
        #chain-result { margin-top: 0.75rem; }
        .narrow { max-width: 34rem; margin: 2rem auto; }
        .notice { max-width: 72rem; margin: 0.75rem auto 0; padding: 0.6rem 1rem; border-radius: 4px;
          background: #fdecea; color: var(--danger); border: 1px solid #f3c1bc; }
        .notice.info { background: #e8f0fc; color: #163d7a; border-color: #c3d5f3; }
        .error { color: var(--danger); }
        .forbidden { background: #fff6e5; border: 1px solid #f1d49b; color: var(--warn); padding: 0.6rem 0.8rem; border-radius: 4px; }

        label { display: block; font-weight: 600; font-size: 0.85rem; margin-bottom: 0.2rem; }
        input, select, textarea { font: inherit; width: 100%; padding: 0.4rem 0.5rem; border: 1px solid #b9c1cc;
          border-radius: 4px; background: #fff; color: var(--fg); min-width: 0; }
        button { font: inherit; padding: 0.42rem 0.9rem; border-radius: 4px; border: 1px solid var(--accent);
          background: var(--accent); color: var(--accent-fg); cursor: pointer; }
        button.secondary { background: #fff; color: var(--accent); }
        .top button.secondary { background: transparent; color: #fff; border-color: #6f7d93; }
        button.danger { background: var(--danger); border-color: var(--danger); }
        button.link { background: none; border: none; color: var(--accent); padding: 0; text-decoration: underline; }
        button:disabled { opacity: 0.55; cursor: default; }
        .actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin-top: 0.75rem; }
        #key-actions { margin-bottom: 0.75rem; }
        .filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 0.6rem 0.8rem; align-items: end; }
        .filters .actions { margin: 0; }
        .hint { font-size: 0.85rem; color: var(--muted); margin: 0.5rem 0 0; }

        .table-wrap { overflow-x: auto; }
        table { width: 100%; border-collapse: collapse; background: var(--card); }
        @media (min-width: 641px) {
          td .mono, td .key-link, td .event-type { white-space: nowrap; overflow-wrap: normal; }
        }
        th, td { text-align: left; padding: 0.45rem 0.55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted); }
        tr.selected td { background: #eef4fd; }
        .pager { display: flex; gap: 0.5rem; align-items: center; margin-top: 0.75rem; flex-wrap: wrap; }
        .badge { display: inline-block; padding: 0.05rem 0.45rem; border-radius: 999px; font-size: 0.8rem; font-weight: 600;
          background: #e7eaee; color: #394150; }
        .badge.active, .badge.ok { background: #e3f4e8; color: var(--ok); }
        .badge.suspended { background: #fff2d6; color: var(--warn); }
        .badge.revoked, .badge.expired, .badge.bad { background: #fbe3e1; color: var(--danger); }
        .chips { display: flex; flex-wrap: wrap; gap: 0.25rem; }
        .chip { background: #eef1f5; border-radius: 3px; padding: 0 0.35rem; font-size: 0.85rem; }

        dl.fields { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: 0.35rem 1rem; margin: 0; }
        dl.fields dt { color: var(--muted); font-size: 0.9rem; }
        dl.fields dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
        .title-row { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.5rem 1rem; }
        .title-row h1 { margin: 0; }
        .secret { border: 2px solid var(--ok); background: #f1faf3; }
        .secret code { display: block; font-size: 1rem; padding: 0.5rem; background: #fff; border: 1px dashed var(--ok);
          border-radius: 4px; margin: 0.5rem 0; user-select: all; }

        .chart { width: 100%; height: auto; display: block; }
        .chart .axis { stroke: #9aa4b1; stroke-width: 1; }
        .chart .grid { stroke: #e6e9ee; stroke-width: 1; }
        .chart text { font-size: 11px; fill: var(--muted); }
        .chart .bar-requests { fill: var(--requests); }
        .chart .bar-errors { fill: var(--errors); }
        .chart .line-p50 { fill: none; stroke: var(--p50); stroke-width: 2; }
        .chart .line-p99 { fill: none; stroke: var(--p99); stroke-width: 2; stroke-dasharray: 5 3; }
        .chart .dots-p50 { fill: var(--p50); }
        .chart .dots-p99 { fill: var(--p99); }
        .legend { display: flex; flex-wrap: wrap; gap: 0.4rem 1rem; font-size: 0.85rem; margin: 0.5rem 0; padding: 0; list-style: none; }
        .legend span { display: inline-block; width: 0.8rem; height: 0.8rem; margin-right: 0.3rem; vertical-align: -0.1rem; border-radius: 2px; }
        .legend .requests { background: var(--requests); }
        .legend .errors { background: var(--errors); }
        .legend .p50 { background: var(--p50); }
        .legend .p99 { background: var(--p99); }
        .totals { display: grid; grid-template-columns: repeat(auto-fill, minmax(8rem, 1fr)); gap: 0.5rem; margin: 0.75rem 0; }
        .totals div { background: #f5f7fa; border-radius: 4px; padding: 0.4rem 0.6rem; }
        .totals b { display: block; font-size: 1.15rem; }
        details summary { cursor: pointer; margin: 0.5rem 0; }

        dialog { border: 1px solid var(--line); border-radius: 8px; padding: 1.25rem; width: min(32rem, calc(100vw - 2rem)); }
        dialog::backdrop { background: rgba(20, 28, 40, 0.45); }
        dialog h2 { margin-top: 0; }
        dialog .field { margin-top: 0.75rem; }

        @media (max-width: 640px) {
          main { padding: 0.6rem; }
          .top { padding: 0.5rem 0.6rem; }
          .session { margin-left: 0; }
          table.responsive thead { display: none; }
          table.responsive, table.responsive tbody, table.responsive tr, table.responsive td { display: block; width: 100%; }
          table.responsive tr { border-bottom: 1px solid var(--line); padding: 0.35rem 0; }
          table.responsive td { border: none; padding: 0.15rem 0.4rem; display: grid; grid-template-columns: 6.5rem minmax(0, 1fr);
            gap: 0.5rem; overflow-wrap: anywhere; }
          table.responsive td > * { justify-self: start; }
          table.responsive td::before { content: attr(data-label); color: var(--muted); font-size: 0.8rem; }
          dl.fields { grid-template-columns: 1fr; gap: 0.1rem; }
          dl.fields dd { margin-bottom: 0.4rem; }
        }
        a.button-link { display: inline-block; padding: 0.42rem 0.9rem; border-radius: 4px; border: 1px solid var(--line);
          text-decoration: none; background: #fff; }
        """##
}
