extension ConsoleAsset {
    /// `GET /console`: the page; it loads the style and the four scripts below.
    static let indexHTML = ##"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>KeyLedger console</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/console/app.css">
        <script defer src="/console/app.js"></script>
        <script defer src="/console/keys.js"></script>
        <script defer src="/console/usage.js"></script>
        <script defer src="/console/audit.js"></script>
        </head>
        <body>
        <a class="skip" href="#view">Skip to content</a>
        <header class="top">
          <div class="brand"><span class="logo" aria-hidden="true">KL</span> KeyLedger <span class="muted">console</span></div>
          <nav id="nav" aria-label="Sections" hidden>
            <a href="#/keys" data-section="keys">Keys</a>
            <a href="#/usage" data-section="usage">Usage</a>
            <a href="#/audit" data-section="audit">Audit</a>
            <a href="#/ledger" data-section="ledger">Ledger</a>
          </nav>
          <div id="session" class="session" hidden>
            <span id="whoami" class="muted"></span>
            <button type="button" id="signout" class="secondary">Sign out</button>
          </div>
        </header>
        <div id="notice" class="notice" role="alert" hidden></div>
        <main id="view" tabindex="-1">
          <section id="signin" class="card narrow" aria-labelledby="signin-title">
            <h1 id="signin-title">Sign in</h1>
            <p>Paste the root token, or the secret of a ledger key with <code>ledger:keys</code> or
            <code>ledger:audit</code>. It stays in this page's memory only: it is not stored, and
            reloading or closing the page forgets it.</p>
            <form id="signin-form" autocomplete="off">
              <label for="credential">Credential</label>
              <input id="credential" name="credential" type="password" spellcheck="false" autocomplete="off" required>
              <div class="actions"><button type="submit" id="signin-button">Sign in</button></div>
            </form>
            <noscript><p class="error">The console needs JavaScript.</p></noscript>
          </section>
        </main>
        <dialog id="dialog" aria-labelledby="dialog-title">
          <form id="dialog-form">
            <h2 id="dialog-title"></h2>
            <div id="dialog-body"></div>
            <p id="dialog-error" class="error" role="alert" hidden></p>
            <div class="actions">
              <button type="button" id="dialog-cancel" class="secondary">Cancel</button>
              <button type="submit" id="dialog-confirm"></button>
            </div>
          </form>
        </dialog>
        </body>
        </html>
        """##
}
