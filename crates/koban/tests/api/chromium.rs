//! A real headless Chromium driven through chromedriver, for the browser
//! tests: it starts one per test, speaks one language, and leaves a
//! screenshot of every step under `target/browser-screenshots/<test>/`.

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The administrator every browser test may read the outbox as.
pub const ADMIN: &str = "admin@example.com";
/// The password `TestApp::staff` gives every staff account.
pub const ADMIN_PASSWORD: &str = "staff password 1";

const CHROMIUM: &str = "/usr/bin/chromium";
/// Marks the document when a click on the element named by the argument
/// will replace it (a submit button of a form that passes its own checks,
/// a link to another document), and says whether it will.
const LEAVES_ON_CLICK: &str = "
    const e = document.querySelector(arguments[0]);
    if (!e) { return false; }
    const submit = e.closest('button, input[type=submit], input[type=image]');
    const form = submit && submit.form;
    const submits = !!form && (submit.tagName !== 'BUTTON' || (submit.getAttribute('type') || 'submit') === 'submit')
        && !form.target && (form.noValidate || submit.formNoValidate || form.checkValidity());
    const link = e.closest('a[href]');
    const href = link ? link.getAttribute('href') : '';
    const follows = !!link && !link.target && !link.hasAttribute('download')
        && !href.startsWith('#') && !href.toLowerCase().startsWith('javascript:');
    if (submits || follows) { window.__kobanLeaving = true; return true; }
    return false;
";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const WAIT: Duration = Duration::from_secs(20);
/// A laptop's window, as every browser starts.
pub const DESKTOP: (u32, u32) = (1280, 900);
/// A phone's (an iPhone 14's CSS pixels).
pub const PHONE: (u32, u32) = (390, 844);

/// A chromedriver child process with one Chromium session, and where its
/// screenshots go. Dropping it kills chromedriver and the browser it started.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
    base: String,
    shots: PathBuf,
    step: u32,
}

impl Browser {
    /// Starts a browser speaking `lang`, or None (skip) where Chromium is not
    /// installed; under CI=true a missing browser fails the test instead.
    pub async fn start(test: &str, lang: &str, base: &str) -> Option<Browser> {
        let installed =
            std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
        if !installed {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but {CHROMIUM} or {CHROMEDRIVER} is missing: browser tests must run in CI");
            }
            eprintln!("{CHROMIUM} or {CHROMEDRIVER} not found: skipping browser test {test} (scripts/test installs them)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so dropping the test kills Chromium with it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command.spawn().expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut browser = Browser {
            client: None,
            driver,
            base: base.to_string(),
            shots: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/browser-screenshots")
                .join(test),
            _profile: profile,
            step: 0,
        };
        let _ = std::fs::remove_dir_all(&browser.shots);
        std::fs::create_dir_all(&browser.shots).expect("screenshot dir");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", browser._profile.path().display()),
                    format!("--lang={lang}"),
                    "--window-size=1280,900",
                ],
                "prefs": { "intl.accept_languages": lang },
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        browser.client = Some(client);
        Some(browser)
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("session open")
    }

    pub async fn goto(&self, path: &str) {
        self.client()
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigate");
    }

    /// Waits for the page whose `<body data-page>` is `page`.
    pub async fn on_page(&self, page: &str) {
        let found = self
            .client()
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(&format!("body[data-page=\"{page}\"]")))
            .await;
        if found.is_err() {
            let url = self.client().current_url().await.map(|u| u.to_string());
            let source = self.client().source().await.unwrap_or_default();
            panic!("expected page {page}, at {url:?}:\n{source}");
        }
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client()
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    /// Runs `act` on the element at `css`. A page still being replaced (a
    /// redirect after a form, a script re-rendering) can swap the element out
    /// between finding and using it: find it again rather than fail on the
    /// stale one. ChromeDriver reports that as a stale element, or, when the
    /// swap lands inside its own DevTools call, as an unknown error saying
    /// the node "does not belong to the document".
    pub async fn on_element<T, F, Fut>(&self, css: &str, what: &str, act: F) -> T
    where
        F: Fn(fantoccini::elements::Element) -> Fut,
        Fut: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    {
        let mut last_error = None;
        for _ in 0..20 {
            match act(self.find(css).await).await {
                Ok(value) => return value,
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                        || e.message.contains("does not belong to the document") =>
                {
                    last_error = Some(e);
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("{what} {css}: {e}"),
            }
        }
        panic!("{what} {css}: still stale: {last_error:?}")
    }

    /// The element's text once it holds `needle` (or whatever it holds
    /// when the wait runs out): a form posted back to the same page shows
    /// the old page, with its own notice, until the new one arrives.
    pub async fn text_with(&self, css: &str, needle: &str) -> String {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let text = self.text(css).await;
            if text.contains(needle) || std::time::Instant::now() > deadline {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The element's text.
    pub async fn text(&self, css: &str) -> String {
        self.on_element(css, "text of", |el| async move { el.text().await })
            .await
    }

    pub async fn fill(&self, css: &str, value: &str) {
        self.on_element(css, "fill", |el| async move {
            el.clear().await?;
            el.send_keys(value).await
        })
        .await
    }

    /// Clicks the element at `css`. When the click submits a valid form or
    /// follows a link, waits (up to [`WAIT`]) for the next document to
    /// replace this one: a form posted back to its own address looks the
    /// same, notice and all, until the answer arrives, and whatever a test
    /// reads next must be the answer.
    pub async fn click(&self, css: &str) {
        self.find(css).await;
        let leaves = self
            .client()
            .execute(LEAVES_ON_CLICK, vec![serde_json::Value::String(css.into())])
            .await
            .is_ok_and(|v| v == serde_json::Value::Bool(true));
        self.on_element(css, "click", |el| async move { el.click().await })
            .await;
        if leaves {
            self.left_the_page().await;
        }
    }

    /// Waits until the document marked by [`LEAVES_ON_CLICK`] is gone.
    async fn left_the_page(&self) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            // Mid-navigation the driver may answer with an error: still leaving.
            let still_here = self
                .client()
                .execute("return window.__kobanLeaving === true;", vec![])
                .await
                .map_or(true, |v| v == serde_json::Value::Bool(true));
            if !still_here {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sets the window's size, e.g. [`DESKTOP`] or [`PHONE`].
    pub async fn window(&self, (width, height): (u32, u32)) {
        self.client()
            .set_window_size(width, height)
            .await
            .expect("resize the window");
    }

    /// Runs `js` in the page and returns what it returns.
    pub async fn script(&self, js: &str) -> serde_json::Value {
        self.client()
            .execute(js, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {js}: {e}"))
    }

    /// An attribute of the element at `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.on_element(css, "attribute of", |el| async move { el.attr(name).await })
            .await
    }

    /// Whether an element matches `css` now (no waiting).
    pub async fn has(&self, css: &str) -> bool {
        self.client().find(Locator::Css(css)).await.is_ok()
    }

    /// Switches the page language through the language menu and waits for it.
    pub async fn switch_language(&self, tag: &str) {
        self.click("details.lang-switch summary").await;
        self.click(&format!("#lang-{tag}")).await;
        self.find(&format!("html[lang=\"{tag}\"]")).await;
    }

    /// The whole visible text of the page.
    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    /// Saves a screenshot as `NN-step.png`.
    pub async fn shot(&mut self, step: &str) {
        self.step += 1;
        let png = self.client().screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{:02}-{step}.png", self.step));
        std::fs::write(&path, png).expect("write screenshot");
    }

    pub async fn sign_in(&self, identifier: &str, password: &str) {
        self.fill("#identifier", identifier).await;
        self.fill("#password", password).await;
        self.click("#signin-submit").await;
    }

    /// Signs in as the administrator, reads the newest code sent to
    /// `destination` off the outbox page, and signs out again.
    pub async fn code_from_outbox(&mut self, destination: &str, not: Option<&str>) -> String {
        self.goto("/signin?next=/admin/outbox").await;
        self.on_page("signin").await;
        self.sign_in(ADMIN, ADMIN_PASSWORD).await;
        self.on_page("outbox").await;
        let row = format!("tr.msg[data-to=\"{destination}\"] pre.body");
        let deadline = Instant::now() + WAIT;
        let code = loop {
            // Newest first: the first row for this destination is the latest message.
            // A reload in progress can swap the row out under us: try again.
            if let Ok(body) = self.client().find(Locator::Css(&row)).await {
                if let Some(code) = body.text().await.ok().and_then(|text| six_digits(&text)) {
                    if Some(code.as_str()) != not {
                        break code;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no code for {destination} in the outbox"
            );
            // The message is written with the request that asked for it; a reload finds it.
            self.client().refresh().await.expect("reload");
            self.on_page("outbox").await;
        };
        self.shot("outbox").await;
        self.click("#nav-sign-out").await;
        self.on_page("signin").await;
        code
    }

    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leads its own process group (see `start`), whose id is
        // its pid: end that group, the Chromium it started included, and
        // nothing else. (Not the `kill` program: its parsing of a negative
        // id differs between versions.)
        if let Ok(group) = i32::try_from(self.driver.id()) {
            if group > 1 {
                // SAFETY: killpg only sends a signal; the group is ours.
                unsafe {
                    libc::killpg(group, libc::SIGKILL);
                }
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

pub fn six_digits(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|s| s.len() == 6)
        .map(str::to_string)
}

pub fn totp_at(secret_base32: &str, step: i64) -> String {
    let secret = koban::security::totp::base32_decode(secret_base32).expect("base32");
    koban::security::totp::code_at(&secret, step)
}

pub fn totp_step_now() -> i64 {
    koban::security::totp::step_of(koban::store::now_ms())
}
