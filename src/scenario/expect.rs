//! Comparing a [`Simulation`] with a scenario's [`Expect`]: the text of each
//! difference is what `kflowc test` prints under `FAIL`, so an embedder's
//! test failure reads the same as the command line's.

use super::model::{Expect, ExpectedAction, offset_label};
use super::simulation::{Action, Simulation};

impl Simulation {
    /// Every expectation that does not hold, each as an indented block of
    /// lines ending in a newline (lists as a diff: `-` expected, `+`
    /// actual); empty when all hold. Joined, they are the report `kflowc
    /// test` prints under `FAIL`. An engine that refused the workflow is
    /// always a difference.
    pub fn check(&self, expect: &Expect) -> Vec<String> {
        compare(expect, self)
    }
}

fn compare(expect: &Expect, simulation: &Simulation) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(error) = simulation.load_error() {
        problems.push(format!("  the engine refused the workflow: {error}\n"));
    }
    if let Some(expected) = &expect.actions {
        let actual = simulation.actions();
        if let Some(diff) = diff(
            expected,
            &actual,
            |e: &ExpectedAction, a: &Action| e.action == a.action && e.at.is_none_or(|t| t == a.at),
            |e| match e.at {
                Some(at) => format!("{} {}", offset_label(at), e.action),
                None => e.action.clone(),
            },
            |a| format!("{} {}", offset_label(a.at), a.action),
        ) {
            problems.push(format!("  actions differ (- expected, + actual):\n{diff}"));
        }
    }
    if let Some(expected) = &expect.path {
        let actual = simulation.path();
        if let Some(diff) = diff(expected, &actual, |e, a| e == a, Clone::clone, Clone::clone) {
            problems.push(format!("  path differs (- expected, + actual):\n{diff}"));
        }
    }
    if let Some(expected) = &expect.urls {
        let actual = simulation.urls();
        if let Some(diff) = diff(expected, &actual, |e, a| e == a, Clone::clone, Clone::clone) {
            problems.push(format!("  urls differ (- expected, + actual):\n{diff}"));
        }
    }
    if !expect.contains.is_empty() {
        let texts = simulation.texts();
        for wanted in &expect.contains {
            if !texts.iter().any(|t| t.contains(wanted.as_str())) {
                problems.push(format!("  contains: no message sent contains {wanted:?}\n"));
            }
        }
    }
    if let Some(expected) = &expect.missing {
        let actual = simulation.missing();
        if let Some(diff) = diff(expected, &actual, |e, a| e == a, Clone::clone, Clone::clone) {
            problems.push(format!(
                "  missing values differ (- expected, + actual):\n{diff}"
            ));
        }
    }
    if let Some(expected) = expect.waiting {
        let actual = simulation.waiting() as u64;
        if expected != actual {
            problems.push(format!(
                "  waiting: expected {expected} {} still waiting at the end, found {actual}\n",
                if expected == 1 { "run" } else { "runs" }
            ));
        }
    }
    problems
}

/// A line diff of two lists (longest common subsequence), or `None` when
/// they match: kept lines are indented, expected-only lines marked `-`,
/// actual-only lines `+`. An empty list shows as `(none)`.
fn diff<E, A>(
    expected: &[E],
    actual: &[A],
    same: impl Fn(&E, &A) -> bool,
    show_expected: impl Fn(&E) -> String,
    show_actual: impl Fn(&A) -> String,
) -> Option<String> {
    let (n, m) = (expected.len(), actual.len());
    // lcs[i][j]: the longest common subsequence of expected[i..] and actual[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if same(&expected[i], &actual[j]) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    if lcs[0][0] == n && n == m {
        return None;
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && same(&expected[i], &actual[j]) {
            out.push_str(&format!("      {}\n", show_actual(&actual[j])));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("    - {}\n", show_expected(&expected[i])));
            i += 1;
        } else {
            out.push_str(&format!("    + {}\n", show_actual(&actual[j])));
            j += 1;
        }
    }
    if n == 0 {
        out.insert_str(0, "    - (none)\n");
    }
    if m == 0 {
        out.push_str("    + (none)\n");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::diff;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn show(expected: &[&str], actual: &[&str]) -> Option<String> {
        diff(
            &strings(expected),
            &strings(actual),
            |e, a| e == a,
            Clone::clone,
            Clone::clone,
        )
    }

    #[test]
    fn equal_lists_have_no_diff() {
        assert_eq!(show(&["a", "b"], &["a", "b"]), None);
        assert_eq!(show(&[], &[]), None);
    }

    #[test]
    fn diffs_mark_each_side() {
        assert_eq!(
            show(&["cta", "tag x"], &["cta", "tag y", "sms"]).as_deref(),
            Some("      cta\n    - tag x\n    + tag y\n    + sms\n")
        );
        assert_eq!(
            show(&["cta"], &[]).as_deref(),
            Some("    - cta\n    + (none)\n")
        );
        assert_eq!(
            show(&[], &["cta"]).as_deref(),
            Some("    - (none)\n    + cta\n")
        );
    }
}
