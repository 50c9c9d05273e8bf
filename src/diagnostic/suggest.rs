//! "Did you mean": the closest known name to a misspelt one.

/// The known name closest to `name`, when it is close enough to be a likely typo:
/// the "did you mean" of unknown keys, references, hosts and VMs.
pub fn closest<'a, S: AsRef<str> + ?Sized>(
    name: &str,
    known: impl IntoIterator<Item = &'a S>,
) -> Option<&'a S> {
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(name, k.as_ref()), k))
        .filter(|(distance, k)| *distance <= (k.as_ref().len().max(name.len()) / 3).max(1))
        .min_by(|(a, x), (b, y)| (a, x.as_ref()).cmp(&(b, y.as_ref())))
        .map(|(_, k)| k)
}
