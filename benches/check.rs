//! Throughput and peak memory of parse + check over ~10 MB of realistic
//! workflows.
//!
//! The file is generated deterministically: the examples from the language
//! description, repeated, between many workflows built from the same
//! statements with varied text (names, message bodies with variables, URLs,
//! conditions, nested ifs, handlers, comments). Targets from the issue: at
//! least 30 MB/s for parse + check on one core in a release build, and a peak
//! heap under 10x the file's size.
//!
//! `cargo bench --bench check` prints to stderr the file's size, its
//! diagnostics by code, the peak heap of one parse + check (counted by a
//! global allocator; it counts a `realloc` as a new block plus the old one,
//! so the peak is an upper bound), and throughput over 5 runs by wall time
//! and by this thread's CPU time (which, unlike wall time, does not count
//! waiting for a core on a busy machine); then criterion's numbers for
//! `parse_and_check` and `parse`. With `KFLOW_BENCH_DUMP=PATH` it also
//! writes the generated file there, for profiling `kflowc` on it.
//!
//! `human/1MiB` and `human/10MiB` draw the human report (as `kflowc check`
//! does into a pipe) of every diagnostic of a file with an error every ten
//! lines, about 1 500 and 15 000 of them; criterion gives the rate in
//! diagnostics per second, which should not depend on the file's size
//! (issue 9: it fell with it). `cargo bench --bench check -- human` runs only
//! those.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kflow::SourceFile;
use peak_alloc::PeakAlloc;

/// Counts every heap byte allocated and freed, and the peak in between.
#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// The size of the generated file.
const TARGET_BYTES: usize = 10 * 1024 * 1024;

// ---------------------------------------------------------------------------
// A small deterministic random source (xorshift64*), so every run measures
// the same text.
// ---------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

// ---------------------------------------------------------------------------
// The examples from the language description.
// ---------------------------------------------------------------------------

const ONE_LINE: &str = r#"on reply whatsapp < if window.open < cta < header text "Hi" body "Pick a slot" url "https://www.example.com/book" button "Book now" > > on timeout 30m < sms "Still want a slot?" > >"#;

const BOOKING_CTA: &str = r#"on reply whatsapp <
  if window.open <
    cta "Booking link" <
      from "+15550100001"
      header image "https://cdn.example.com/booking.png"
      body "Hi {{contact.first_name}}, pick a time that suits you."
      footer "Kyrios Dental"
      url "https://www.example.com/?name={{contact.name}}&calendar={{custom_values.agent_calendar}}"
      button "Book now"
    >
    on link opened < tag "clicked-booking" >
    on not delivered < email < subject "Your booking link" body "..." > >
    on timeout 30m < sms "Still want a slot? Reply YES." >
  > else <
    template "booking_reopen" < language "en_US" category utility >
  >
>
"#;

const FOLLOW_UPS: &str = r#"# Follow-ups after an SMS reply.
on reply sms <
  sms < body "Thanks, {{contact.first_name}}!" >
  wait 1h30m
  await reply sms
  on timeout 2h < untag "hot" stop >
  if contact.tags has "vip" and not (contact.city == "Lisbon" or contact.city != "Porto") <
    tag "vip-follow-up"
  > else if contact.first_name contains "An" < tag "an" > else < tag "other" >
>
"#;

// ---------------------------------------------------------------------------
// Varied workflows.
// ---------------------------------------------------------------------------

const WORDS: &[&str] = &[
    "booking",
    "slot",
    "appointment",
    "today",
    "tomorrow",
    "dental",
    "clinic",
    "check-up",
    "reminder",
    "offer",
    "discount",
    "please",
    "reply",
    "YES",
    "to",
    "confirm",
    "your",
    "visit",
    "we",
    "have",
    "a",
    "new",
    "time",
    "for",
    "you",
    "the",
    "team",
    "is",
    "ready",
    "when",
    "you",
    "are",
    "thanks",
    "see",
    "soon",
    "café",
    "olá",
    "obrigado",
    "à",
    "demain",
    "😀",
    "—",
    "20%",
    "off",
    "this",
    "week",
];

const CONTACT_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "name",
    "city",
    "company_name",
    "email",
    "phone",
    "country",
    "timezone",
];

const CUSTOM_VALUES: &[&str] = &[
    "agent_calendar",
    "agent_name",
    "clinic_address",
    "promo_code",
    "booking_page",
];

const CITIES: &[&str] = &[
    "Lisbon",
    "Porto",
    "Madrid",
    "São Paulo",
    "Berlin",
    "Austin",
    "Nairobi",
];

const TAGS: &[&str] = &[
    "vip",
    "hot",
    "cold",
    "clicked-booking",
    "no-show",
    "new-lead",
    "follow-up",
    "do-not-disturb",
];

const DOMAINS: &[&str] = &[
    "www.example.com",
    "book.example.org",
    "cal.example.net",
    "kyrios.example",
];

const LANGUAGES: &[&str] = &["en_US", "pt_BR", "es", "de", "fr"];

const DURATIONS: &[&str] = &["5m", "30m", "1h", "1h30m", "2h", "12h", "1d", "1d12h", "2d"];

struct Gen {
    rng: Rng,
    out: String,
    workflows: usize,
}

impl Gen {
    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn line(&mut self, depth: usize, text: &str) {
        self.indent(depth);
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn var(&mut self) -> String {
        if self.rng.chance(70) {
            format!("{{{{contact.{}}}}}", self.rng.pick(CONTACT_FIELDS))
        } else {
            format!("{{{{custom_values.{}}}}}", self.rng.pick(CUSTOM_VALUES))
        }
    }

    /// Words with the odd variable and escape, at most `max_chars` long.
    fn sentence(&mut self, min_words: usize, max_words: usize, max_chars: usize) -> String {
        let words = min_words + self.rng.below(max_words - min_words + 1);
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(' ');
            }
            let piece = match self.rng.below(20) {
                0 => self.var(),
                1 => "\\\"quoted\\\"".to_owned(),
                2 => "\\n".to_owned(),
                _ => (*self.rng.pick(WORDS)).to_owned(),
            };
            if s.chars().count() + piece.chars().count() > max_chars {
                break;
            }
            s.push_str(&piece);
        }
        if s.is_empty() {
            s.push_str("Hi");
        }
        s
    }

    fn url(&mut self) -> String {
        let domain = *self.rng.pick(DOMAINS);
        let path = *self.rng.pick(&["book", "slots", "offer", "visit", "c"]);
        let v1 = self.var();
        let v2 = self.var();
        format!(
            "https://{domain}/{path}?who={v1}&ref={v2}&n={}",
            self.rng.below(100_000)
        )
    }

    fn cond(&mut self, depth: usize) -> String {
        let test = |g: &mut Gen| match g.rng.below(6) {
            0 => "window.open".to_owned(),
            1 => "window.closed".to_owned(),
            2 => format!("contact.tags has \"{}\"", g.rng.pick(TAGS)),
            3 => format!("contact.city == \"{}\"", g.rng.pick(CITIES)),
            4 => format!("contact.city != \"{}\"", g.rng.pick(CITIES)),
            _ => format!(
                "contact.first_name contains \"{}\"",
                g.rng.pick(&["An", "Jo", "Ma"])
            ),
        };
        match if depth > 1 { 0 } else { self.rng.below(5) } {
            0 | 1 => test(self),
            2 => format!("{} and {}", test(self), test(self)),
            3 => format!("not ({} or {})", test(self), test(self)),
            _ => format!(
                "({} or {}) and not {}",
                test(self),
                self.cond(depth + 1),
                test(self)
            ),
        }
    }

    /// Plain ASCII words, no variables or escapes, at most `max_chars` long.
    fn plain(&mut self, min_words: usize, max_words: usize, max_chars: usize) -> String {
        let words = min_words + self.rng.below(max_words - min_words + 1);
        let mut s = String::new();
        for _ in 0..words {
            let word = *self.rng.pick(WORDS);
            if !word.is_ascii() || s.len() + word.len() + 1 > max_chars {
                continue;
            }
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(word);
        }
        if s.is_empty() {
            s.push_str("Hi");
        }
        s
    }

    fn cta(&mut self, depth: usize) {
        let name = self.plain(1, 3, 30);
        self.line(depth, &format!("cta \"{name}\" <"));
        // A CTA needs a timeout: a field, or an `on timeout` handler.
        let timeout_handler = self.rng.chance(70);
        if !timeout_handler {
            let d = *self.rng.pick(DURATIONS);
            self.line(depth + 1, &format!("timeout {d}"));
        }
        if self.rng.chance(50) {
            let number = self.rng.below(10_000_000);
            self.line(depth + 1, &format!("from \"+1555{number:07}\""));
        }
        if self.rng.chance(50) {
            let header = self.sentence(1, 5, 50);
            self.line(depth + 1, &format!("header text \"{header}\""));
        } else {
            let n = self.rng.below(1000);
            self.line(
                depth + 1,
                &format!("header image \"https://cdn.example.com/img/{n}.png\""),
            );
        }
        let body = self.sentence(8, 60, 900);
        self.line(depth + 1, &format!("body \"{body}\""));
        if self.rng.chance(60) {
            let footer = self.sentence(1, 4, 40);
            self.line(depth + 1, &format!("footer \"{footer}\""));
        }
        let url = self.url();
        self.line(depth + 1, &format!("url \"{url}\""));
        let button = *self
            .rng
            .pick(&["Book now", "Pick a slot", "See offer", "Open", "Confirm"]);
        self.line(depth + 1, &format!("button \"{button}\""));
        self.line(depth, ">");
        if self.rng.chance(60) {
            let tag = *self.rng.pick(TAGS);
            self.line(depth, &format!("on link opened < tag \"{tag}\" >"));
        }
        if self.rng.chance(40) {
            let subject = self.sentence(2, 6, 60);
            let body = self.sentence(5, 30, 400);
            self.line(
                depth,
                &format!("on not delivered < email < subject \"{subject}\" body \"{body}\" > >"),
            );
        }
        if timeout_handler {
            let d = *self.rng.pick(DURATIONS);
            let text = self.plain(3, 12, 150);
            self.line(depth, &format!("on timeout {d} < sms \"{text}\" >"));
        }
    }

    fn template(&mut self, depth: usize) {
        let name = format!(
            "{}_{}",
            self.rng
                .pick(&["booking_reopen", "reminder", "offer", "follow_up"]),
            self.rng.below(50)
        );
        let lang = *self.rng.pick(LANGUAGES);
        let category = *self.rng.pick(&["utility", "marketing"]);
        self.line(
            depth,
            &format!("template \"{name}\" < language \"{lang}\" category {category} >"),
        );
    }

    /// A statement; `window_open` says whether session messages may be sent.
    /// Returns whether they still may after it: not once time may pass.
    fn stmt(&mut self, depth: usize, window_open: bool) -> bool {
        match self.rng.below(12) {
            0..=2 if depth < 4 => {
                self.line(depth, "if window.open <");
                let n = 1 + self.rng.below(2);
                let mut open = true;
                for _ in 0..n {
                    open = self.stmt(depth + 1, open);
                }
                self.indent(depth);
                self.out.push_str("> else <\n");
                self.template(depth + 1);
                self.line(depth, ">");
                false
            }
            3 | 4 if depth < 4 => {
                let cond = self.cond(0);
                // Only `if window.open` keeps session messages allowed.
                let window_open = window_open && !cond.contains("window");
                self.line(depth, &format!("if {cond} <"));
                self.stmt(depth + 1, window_open);
                let elifs = self.rng.below(3);
                for _ in 0..elifs {
                    let cond = self.cond(1);
                    let window_open = window_open && !cond.contains("window");
                    self.indent(depth);
                    self.out.push_str(&format!("> else if {cond} <\n"));
                    self.stmt(depth + 1, window_open);
                }
                if self.rng.chance(50) {
                    self.line(depth, "> else <");
                    self.stmt(depth + 1, window_open);
                }
                self.line(depth, ">");
                false
            }
            5 | 6 if window_open => {
                self.cta(depth);
                false
            }
            7 if window_open => {
                let text = self.sentence(4, 40, 600);
                self.line(depth, &format!("whatsapp \"{text}\""));
                true
            }
            7 | 8 => {
                // Mostly one GSM-7 segment; now and then a longer one.
                let text = if self.rng.chance(85) {
                    self.plain(4, 25, 150)
                } else {
                    self.sentence(4, 25, 300)
                };
                if self.rng.chance(50) {
                    self.line(depth, &format!("sms \"{text}\""));
                } else {
                    self.line(depth, &format!("sms < body \"{text}\" >"));
                }
                window_open
            }
            9 => {
                let subject = self.sentence(2, 6, 60);
                let body = self.sentence(10, 80, 900);
                self.line(depth, "email <");
                self.line(depth + 1, &format!("subject \"{subject}\""));
                self.line(depth + 1, &format!("body \"{body}\""));
                self.line(depth, ">");
                window_open
            }
            10 => {
                let d = *self.rng.pick(DURATIONS);
                self.line(depth, &format!("wait {d}"));
                let channel = *self.rng.pick(&["whatsapp", "sms", "email"]);
                self.line(depth, &format!("await reply {channel}"));
                let d = *self.rng.pick(DURATIONS);
                let tag = *self.rng.pick(TAGS);
                self.line(depth, &format!("on timeout {d} < untag \"{tag}\" >"));
                false
            }
            _ => {
                let tag = *self.rng.pick(TAGS);
                let kw = if self.rng.chance(70) { "tag" } else { "untag" };
                self.line(depth, &format!("{kw} \"{tag}\""));
                window_open
            }
        }
    }

    fn workflow(&mut self) {
        self.workflows += 1;
        let n = self.workflows;
        if self.rng.chance(50) {
            let topic = self.sentence(2, 6, 60);
            self.out.push_str(&format!("# Workflow {n}: {topic}\n"));
        }
        let channel = match self.rng.below(10) {
            0..=6 => "whatsapp",
            7 | 8 => "sms",
            _ => "email",
        };
        self.out.push_str(&format!("on reply {channel} <\n"));
        let stmts = 1 + self.rng.below(4);
        for _ in 0..stmts {
            self.stmt(1, false);
        }
        if self.rng.chance(20) {
            self.line(1, "stop");
        }
        self.out.push_str(">\n\n");
    }
}

/// About `target` bytes of workflows, the same every run.
fn generate(target: usize) -> String {
    let mut g = Gen {
        rng: Rng(0x6b66_6c6f_7721_2026),
        out: String::with_capacity(target + 64 * 1024),
        workflows: 0,
    };
    g.out.push_str(
        "# Generated for benches/check.rs.\nworkflow \"Benchmark\"\nfield contact.shoe_size\n\n",
    );
    while g.out.len() < target {
        match g.workflows % 20 {
            0 => g.out.push_str(ONE_LINE),
            7 => g.out.push_str(BOOKING_CTA),
            13 => g.out.push_str(FOLLOW_UPS),
            _ => {}
        }
        g.out.push('\n');
        g.workflow();
    }
    g.out
}

/// CPU time this thread has run, in nanoseconds (Linux); `None` elsewhere.
/// Unlike wall time it does not count waiting for a core, so it shows what
/// one core does on a busy machine.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// MiB/s of `f` over `len` bytes, by wall time and (where known) CPU time.
fn throughput(len: usize, runs: u32, mut f: impl FnMut()) -> (f64, Option<f64>) {
    let cpu = thread_cpu_ns();
    let wall = std::time::Instant::now();
    for _ in 0..runs {
        f();
    }
    let wall = wall.elapsed().as_secs_f64() / f64::from(runs);
    let cpu = cpu
        .zip(thread_cpu_ns())
        .map(|(a, b)| (b - a) as f64 / 1e9 / f64::from(runs));
    (mb(len) / wall, cpu.map(|c| mb(len) / c))
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Prints what the file holds and the peak heap of one parse + check.
fn report(source: &SourceFile) {
    let len = source.text().len();
    let before = ALLOC.current_usage();
    ALLOC.reset_peak_usage();
    let checked = kflow::check_source(source);
    let peak = ALLOC.peak_usage().saturating_sub(before);
    let retained = ALLOC.current_usage().saturating_sub(before);

    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &checked.diagnostics {
        *by_code.entry(d.code.as_str()).or_default() += 1;
    }
    eprintln!(
        "bench file: {len} bytes ({:.2} MiB), {} items, {} diagnostics",
        mb(len),
        checked.file.items.len(),
        checked.diagnostics.len()
    );
    for (code, count) in &by_code {
        eprintln!("  {count:>7} {code}");
    }
    eprintln!(
        "peak heap of one parse + check: {peak} bytes ({:.2} MiB) = {:.2}x the file's size; \
         the result holds {retained} bytes ({:.2}x)",
        mb(peak),
        peak as f64 / len as f64,
        retained as f64 / len as f64
    );
    drop(checked);

    for (what, parse_only) in [("parse + check", false), ("parse only", true)] {
        let (wall, cpu) = throughput(len, 5, || {
            if parse_only {
                black_box(kflow::syntax::parse(black_box(source)));
            } else {
                black_box(kflow::check_source(black_box(source)));
            }
        });
        let cpu = cpu.map_or_else(|| "unknown".to_owned(), |c| format!("{c:.1} MiB/s"));
        eprintln!("{what}: {wall:.1} MiB/s by wall time, {cpu} by CPU time (mean of 5 runs)");
    }
}

fn bench(c: &mut Criterion) {
    let text = generate(TARGET_BYTES);
    // For profiling `kflowc check` on the same text.
    if let Some(path) = std::env::var_os("KFLOW_BENCH_DUMP") {
        std::fs::write(&path, &text).expect("KFLOW_BENCH_DUMP names a writable file");
    }
    let source = SourceFile::new("bench.kflow", text).expect("the bench file is far below 4 GiB");
    report(&source);

    let mut group = c.benchmark_group("kflow");
    group.throughput(Throughput::Bytes(source.text().len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("parse_and_check", |b| {
        b.iter(|| kflow::check_source(black_box(&source)))
    });
    group.bench_function("parse", |b| {
        b.iter(|| kflow::syntax::parse(black_box(&source)))
    });
    group.bench_function("format", |b| {
        b.iter(|| kflow::format::format(black_box(&source)))
    });
    group.finish();
}

/// What a user meets: the whole `kflowc` process, reading the file and
/// writing every byte of its report into a pipe, for each output format, on
/// the generated workflow and on a file of the same size with thousands of
/// diagnostics; and `kflowc fmt` on the generated workflow.
#[cfg(feature = "cli")]
fn bench_process(c: &mut Criterion) {
    use std::process::{Command, Stdio};

    let dir = std::env::temp_dir().join(format!("kflow-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let clean = dir.join("clean.kflow");
    std::fs::write(&clean, generate(TARGET_BYTES)).expect("written");
    // Every copy of the card has a body over 1024 characters and repeats the
    // trigger: two errors per 1.2 kB.
    let card = r#"on reply whatsapp <
  if window.open <
    cta <
      body "BODY"
      url "https://www.example.com/book"
      button "Book now"
    >
    on timeout 30m < sms "Still want a slot?" >
  >
>
"#
    .replace("BODY", &"x".repeat(1100));
    let noisy = dir.join("noisy.kflow");
    std::fs::write(&noisy, card.repeat(TARGET_BYTES / card.len())).expect("written");

    let run = |args: &[&std::ffi::OsStr]| {
        let status = Command::new(env!("CARGO_BIN_EXE_kflowc"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("kflowc runs");
        black_box(status);
    };
    let mut group = c.benchmark_group("process");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (name, path) in [("clean", &clean), ("noisy", &noisy)] {
        let len = std::fs::metadata(path).expect("written").len();
        group.throughput(Throughput::Bytes(len));
        for format in ["human", "json", "github"] {
            group.bench_function(format!("check_{name}/{format}"), |b| {
                b.iter(|| {
                    run(&[
                        "check".as_ref(),
                        "--format".as_ref(),
                        format.as_ref(),
                        path.as_os_str(),
                    ])
                })
            });
        }
    }
    let len = std::fs::metadata(&clean).expect("written").len();
    group.throughput(Throughput::Bytes(len));
    group.bench_function("fmt_check_clean", |b| {
        b.iter(|| run(&["fmt".as_ref(), "--check".as_ref(), clean.as_os_str()]))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(not(feature = "cli"))]
fn bench_process(_: &mut Criterion) {}

/// About `target` bytes of a workflow with one syntax error every ten
/// lines; the other lines are comments, so each error is reported alone.
#[cfg(feature = "cli")]
fn generate_errors(target: usize) -> String {
    let mut out = String::with_capacity(target + 1024);
    out.push_str("workflow \"Many errors\"\n\n");
    let mut i = 0usize;
    while out.len() < target {
        out.push_str(&format!(
            "on reply sms < sms \"Thanks, we got message {i}\" bogus{i} >\n"
        ));
        for k in 0..9 {
            out.push_str(&format!(
                "# filler line {k}, so the file is large without more diagnostics\n"
            ));
        }
        i += 1;
    }
    out
}

/// Human reports of every diagnostic of a 1 MiB and a 10 MiB file.
#[cfg(feature = "cli")]
fn bench_human(c: &mut Criterion) {
    use kflow::report::human::{HumanOptions, render};
    let options = HumanOptions {
        color: false,
        width: 100,
        unicode: true,
    };
    let mut group = c.benchmark_group("human");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (name, size) in [("1MiB", 1024 * 1024), ("10MiB", TARGET_BYTES)] {
        let source = SourceFile::new("errors.kflow", generate_errors(size))
            .expect("the bench file is far below 4 GiB");
        let diagnostics = kflow::check_source(&source).diagnostics;
        eprintln!(
            "human/{name}: {} bytes, {} diagnostics",
            source.text().len(),
            diagnostics.len()
        );
        group.throughput(Throughput::Elements(diagnostics.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| render(black_box(&diagnostics), black_box(&source), options))
        });
    }
    group.finish();
}

/// Issue 9's inputs: every trigger after the first is a
/// `kflow::trigger::duplicate`, so each makes one diagnostic per item. One
/// trigger per line (100,000 lines), and 50,000 triggers on one 1.5 MB line;
/// parse + check, and each machine-readable renderer on the result (the
/// human renderer is miette's, measured elsewhere). All of it must stay
/// linear: before the fix the one-line input took seconds in the renderers
/// alone, as columns were counted from the line's start.
fn bench_many_diagnostics(c: &mut Criterion) {
    use kflow::report::docs::DocsLink;
    use kflow::report::{FileReport, github, json, sarif};

    let inputs = [
        ("lines", "on reply whatsapp < >\n", 100_000),
        ("one_line", "on reply whatsapp < tag \"a\" > ", 50_000),
    ];
    let mut group = c.benchmark_group("many_diagnostics");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (name, item, count) in inputs {
        let text = format!("workflow \"x\"\n{}", item.repeat(count));
        let source = SourceFile::new("big.kflow", text).expect("far below 4 GiB");
        let diagnostics = kflow::check_source(&source).diagnostics;
        assert_eq!(diagnostics.len(), count - 1, "one duplicate per trigger");
        group.throughput(Throughput::Elements(diagnostics.len() as u64));
        group.bench_function(format!("{name}/check"), |b| {
            b.iter(|| kflow::check_source(black_box(&source)))
        });
        let report = FileReport::new(&source, &diagnostics);
        group.bench_function(format!("{name}/json"), |b| {
            b.iter(|| {
                json::Document::new(black_box(&[report]))
                    .write_to(std::io::sink())
                    .expect("a sink takes anything")
            })
        });
        group.bench_function(format!("{name}/github"), |b| {
            b.iter(|| github::render_file(black_box(&report)))
        });
        group.bench_function(format!("{name}/sarif"), |b| {
            b.iter(|| {
                sarif::write(black_box(&[report]), &DocsLink::none(), std::io::sink())
                    .expect("a sink takes anything")
            })
        });
    }
    group.finish();
}

#[cfg(not(feature = "cli"))]
fn bench_human(_: &mut Criterion) {}

criterion_group!(
    benches,
    bench,
    bench_human,
    bench_many_diagnostics,
    bench_process
);
criterion_main!(benches);
