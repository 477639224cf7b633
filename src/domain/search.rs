//! Catalog search: what `q` means (contract: Catalog depth). Every word must match, in a
//! title, a SKU, a category name or a description; each word also matches as the start of
//! a longer one (type-ahead), and a word of four letters or more also matches the
//! catalog's words one edit away (a letter wrong, missing, extra, or two swapped).
//!
//! The index is kept current by [`reindex_product`], called in the transaction of every
//! change to a product, its variants or its categories.

use super::DomainResult;
use super::events::{self, Notice};
use crate::store::search::{self as store, SearchDocument, SearchWord};
use crate::store::{Conn, Store, StoreResult};

/// Words of a query beyond these are ignored: nobody types more, and each costs a lookup.
const MAX_QUERY_WORDS: usize = 8;
/// A word must be this long to be forgiven a typo: shorter ones have too many neighbours
/// ("cap" is one edit from "cup", "cat", "map"...).
const MIN_TYPO_WORD_CHARS: usize = 4;
/// Longer words are not looked up for typos: the vocabulary keeps them without their
/// deletions (it keeps them at all so that a search knows every word a prefix starts).
const MAX_TYPO_WORD_CHARS: usize = 40;
/// The vocabulary keeps words a typo may mean: one letter shorter than the shortest word
/// forgiven ("muug" means "mug").
const MIN_TERM_CHARS: usize = MIN_TYPO_WORD_CHARS - 1;

/// The words of `text` as the indexes see them: lower case, split at anything that is
/// not a letter or a digit (as SQLite's unicode61 tokenizer and PostgreSQL's `simple`
/// configuration split).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// `word` with each of its letters left out in turn.
pub fn deletions(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    (0..chars.len())
        .map(|skip| {
            chars
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != skip)
                .map(|(_, c)| *c)
                .collect()
        })
        .collect()
}

/// True when `a` becomes `b` by at most one edit: a letter changed, added or removed, or
/// two neighbouring letters swapped.
pub fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let start = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if start == a.len() && start == b.len() {
        return true;
    }
    let (rest_a, rest_b) = (&a[start..], &b[start..]);
    match rest_a.len() as i64 - rest_b.len() as i64 {
        0 => {
            rest_a[1..] == rest_b[1..]
                || (rest_a.len() >= 2 && rest_a[0] == rest_b[1] && rest_a[1] == rest_b[0] && rest_a[2..] == rest_b[2..])
        }
        1 => rest_a[1..] == *rest_b,
        -1 => *rest_a == rest_b[1..],
        _ => false,
    }
}

/// The words of query `q`, each with the catalog's words it may be a misspelling of.
pub async fn query_words(conn: &mut Conn, q: &str) -> StoreResult<Vec<SearchWord>> {
    let mut found = Vec::new();
    for word in words(q).into_iter().take(MAX_QUERY_WORDS) {
        let length = word.chars().count();
        // Numbers and SKUs are exact: "12346" is another item, not a typo of "12345".
        let forgivable =
            (MIN_TYPO_WORD_CHARS..=MAX_TYPO_WORD_CHARS).contains(&length) && !word.chars().any(|c| c.is_numeric());
        let alternatives = if forgivable {
            let mut keys = deletions(&word);
            keys.push(word.clone());
            let near = store::terms_sharing_a_deletion(conn, &keys).await?;
            if near.contains(&word) {
                // A word of the catalog is meant as typed ("shirt" is not a typo of
                // "short"), and its matches are not mixed with others ranked alike.
                Vec::new()
            } else {
                near.into_iter().filter(|term| within_one_edit(term, &word)).collect()
            }
        } else {
            Vec::new()
        };
        // One letter would match half the catalog as a prefix.
        let prefix = length >= 2;
        let completions = match prefix {
            true => store::completions(conn, &word).await?,
            false => None,
        };
        found.push(SearchWord {
            prefix,
            word,
            completions,
            alternatives,
        });
    }
    Ok(found)
}

/// Brings product `product_id`'s entry in the search index up to date with its rows, in
/// the caller's transaction (after its changes).
/// Rebuilds the whole text index from the catalog's rows (`backroom reindex`, after a
/// bulk load in SQL), and tells every process's catalog caches that searches changed.
pub async fn rebuild_index(db: &Store) -> DomainResult<()> {
    store::rebuild(db).await?;
    let mut tx = db.write().await?;
    events::announce(&mut tx, &Notice::Catalog).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn reindex_product(conn: &mut Conn, product_id: &str) -> StoreResult<()> {
    let Some(document) = store::read_document(conn, product_id).await? else {
        return Ok(());
    };
    // The databases index the words as split here, as queries are: PostgreSQL's parser
    // alone would read the "-1" of "PLATE-1" as a negative number.
    let split = |text: &str| words(text).join(" ");
    let document = SearchDocument {
        title: split(&document.title),
        skus: split(&document.skus),
        categories: split(&document.categories),
        description: split(&document.description),
        ..document
    };
    store::index_document(conn, &document).await?;
    let mut terms: Vec<String> = vocabulary_of(&document);
    terms.sort();
    terms.dedup();
    store::add_terms(conn, &terms, typo_keys).await
}

/// The deletions a word is found by when misspelt: none for a word too long to be
/// looked up for typos.
fn typo_keys(term: &str) -> Vec<String> {
    match term.chars().count() <= MAX_TYPO_WORD_CHARS {
        true => deletions(term),
        false => Vec::new(),
    }
}

fn vocabulary_of(document: &SearchDocument) -> Vec<String> {
    [
        &document.title,
        &document.skus,
        &document.categories,
        &document.description,
    ]
    .into_iter()
    .flat_map(|text| words(text))
    .filter(|word| word.chars().count() >= MIN_TERM_CHARS)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_the_indexes() {
        assert_eq!(words("Mug, white (MUG-WHT-01)"), ["mug", "white", "mug", "wht", "01"]);
        assert_eq!(words("  Café  "), ["café"]);
        assert!(words("--").is_empty());
    }

    #[test]
    fn one_edit_is_a_change_an_addition_a_removal_or_a_swap() {
        for (a, b) in [
            ("shirt", "shirt"),
            ("shirt", "shirk"),
            ("shirt", "shirts"),
            ("shirt", "shrt"),
            ("shirt", "shrit"),
            ("shirt", "hsirt"),
            ("lamp", "lamb"),
        ] {
            assert!(within_one_edit(a, b), "{a} ~ {b}");
            assert!(within_one_edit(b, a), "{b} ~ {a}");
        }
        for (a, b) in [
            ("shirt", "shorts"),
            ("shirt", "sirht"),
            ("lamp", "lump s"),
            ("mug", "cup"),
        ] {
            assert!(!within_one_edit(a, b), "{a} !~ {b}");
        }
    }

    #[test]
    fn a_word_and_its_misspelling_share_a_deletion_or_the_word() {
        for (word, typo) in [
            ("shirt", "shrit"),
            ("shirt", "shirk"),
            ("shirt", "shirts"),
            ("shirt", "shrt"),
        ] {
            let mut keys = deletions(typo);
            keys.push(typo.to_owned());
            let mut entries = deletions(word);
            entries.push(word.to_owned());
            assert!(keys.iter().any(|key| entries.contains(key)), "{word} / {typo}");
        }
    }
}
