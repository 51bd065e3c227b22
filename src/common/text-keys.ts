/**
 * How the catalog compares free text, the same on SQLite and MariaDB: both store a folded copy
 * and compare it byte for byte (SQLite's BINARY, MariaDB's utf8mb4_bin), so neither database's own
 * idea of case and accents decides. SQLite's LOWER() and NOCASE fold ASCII only, and MariaDB's
 * utf8mb4_unicode_ci also ignores accents and orders punctuation its own way: left to them, a
 * search for "arzte" found "Ärzte" on one and not on the other, and the same list came back in two
 * orders.
 */

/** The longest folded display name kept for ordering; longer ones tie, and the name decides. */
export const DISPLAY_NAME_KEY_LENGTH = 400;

/**
 * Case-insensitive for all of Unicode and accent-insensitive: compatibility decomposition (ﬁ→fi,
 * full-width Ａ→a), combining marks dropped (Ä→a, İ→i), upper then lower case (so ß→ss and
 * ᲀ→в, as full case folding has them), final ς→σ, control characters and runs of white space as one
 * space, none at either end. Dotless ı stays a letter of its own, as in Unicode's case folding.
 *
 * No key ends in a space or holds a control character: MariaDB's binary collations pad with spaces
 * when they compare (`'zq' = 'zq '`, and `'zq\x01' < 'zq'`), SQLite does not.
 */
export function foldText(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^ı]+/gu, (run) => run.toUpperCase().toLowerCase())
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/ß/g, 'ss')
    .replace(/ς/g, 'σ')
    .replace(/[\p{Cc}\s]+/gu, ' ')
    .trim();
}

/** Which fields each table's `filter: { search }` looks in. */
export const SEARCHABLE = {
  images: ['name', 'displayName', 'description'],
  user_groups: ['name', 'displayName'],
  image_pull_secrets: ['name', 'displayName'],
} as const;

type SearchableField = 'name' | 'displayName' | 'description';

export interface TextKeys {
  /** What lists order by when they order by display name (then by name). */
  displayNameKey: string;
  /** What `filter: { search }` looks in: the folded searchable fields, one per line. */
  searchText: string;
}

/** The keys a record's text gives; written with the record on every create and update. */
export function textKeys(record: { name: string; displayName: string; description?: string | null }, searchable: readonly SearchableField[]): TextKeys {
  return {
    displayNameKey: Array.from(foldText(record.displayName)).slice(0, DISPLAY_NAME_KEY_LENGTH).join('').trimEnd(),
    // Folding turned every line break into a space, so a term (folded alike) never spans two fields.
    searchText: searchable.map((field) => foldText(record[field] ?? '')).join('\n'),
  };
}

/** A search term as the searchText column holds text; empty when there is nothing to search for. */
export function searchTerm(term: string | null | undefined): string {
  return foldText(term ?? '');
}
