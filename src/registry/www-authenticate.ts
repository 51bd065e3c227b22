/** One challenge of a `WWW-Authenticate` header (RFC 7235): a scheme and its parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

// A parameter is token=token or token="quoted string"; the quoted form may hold commas
// (`scope="repository:a:pull,push"`), which is why the header cannot just be split on them.
const PARAM = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/;
// One character class for the separators: `\s*,*\s*` backtracked quadratically on a long run of
// spaces, and the header comes from whoever the registry is.
const SCHEME = /^[\s,]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s+|$)/;

/** Every challenge in the header; schemes in lower case. Unparseable rest is ignored. */
export function parseChallenges(header: string | undefined | null): Challenge[] {
  const challenges: Challenge[] = [];
  let rest = header ?? '';
  while (rest.trim()) {
    const scheme = SCHEME.exec(rest);
    if (!scheme) break;
    rest = rest.slice(scheme[0].length);
    const params: Record<string, string> = {};
    for (;;) {
      const param = PARAM.exec(rest);
      // A token followed by a space (not `=`) starts the next challenge.
      if (!param) break;
      params[param[1].toLowerCase()] = param[2] !== undefined ? param[2].replace(/\\(.)/g, '$1') : param[3];
      rest = rest.slice(param[0].length);
    }
    challenges.push({ scheme: scheme[1].toLowerCase(), params });
  }
  return challenges;
}
