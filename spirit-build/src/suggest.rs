//! "Did you mean …?": the help line of an error that names something
//! unknown (a key, a template, a package, a host function), with the
//! closest accepted spelling and the full list.

/// "did you mean `x`?" when one of `accepted` is close, then the full list.
pub(crate) fn did_you_mean(given: &str, accepted: &[&str]) -> String {
    let closest = accepted
        .iter()
        .map(|a| (edit_distance(given, a), a))
        .filter(|(d, a)| *d <= 3.max(a.len() / 3))
        .min();
    let list = accepted
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match closest {
        Some((_, a)) => format!("did you mean `{a}`? accepted: {list}"),
        None => format!("accepted: {list}"),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
